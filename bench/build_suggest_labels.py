"""Builds bench/data/suggest_labels.csv, the labelled examples of bench/suggest_accuracy.py.

Sources (column ``source``):
- ``sample_exact``: real hospitals' classification names (seeds/hospital_classifications_demo.csv)
  that are spelled like a master name up to width/long-vowel/punctuation;
- ``sample_hand``: real hospitals' names with an obvious counterpart, labelled by hand below;
- ``variant_*``: each master name as people type it (half-width kana, long vowel added or
  dropped, a bracketed qualifier, a model number appended);
- ``negative``: real names with no counterpart in the master (expected id empty): a correct
  answer is a top score below the auto-accept threshold.

Run: python bench/build_suggest_labels.py
"""
from __future__ import annotations

import csv
import sys
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.core.normalize import match_key

MASTER = ROOT / "seeds" / "smds_classification_master.csv"
SAMPLE = ROOT / "seeds" / "hospital_classifications_demo.csv"
OUT = ROOT / "bench" / "data" / "suggest_labels.csv"

# Real hospital names (from the sample) → the master name a person would choose.
HAND = {
    "手術台": "手術台及び治療台",
    "その他の機器": "その他",
    "その他の医療機器": "その他",
    "血液浄化装置": "血液浄化関連",
    "体外式心臓ペースメーカー": "体外式ペースメーカ",
    "侵襲式体外型心臓ペースメーカー": "体外式ペースメーカ",
    "人工心肺装置": "人工心肺装置関係",
    "超音波画像診断装置（S3000）": "超音波画像診断装置",
    "高周波焼灼装置（電気手術器）": "電気手術器",
    "電気メス（アースロケアー）": "電気メス",
    "汎用人工呼吸器(Ｃａｒｉｎａ)": "人工呼吸器",
    "新生児黄疸光線治療器": "光線治療器",
    "注射筒輸液ポンプ（TE-351Q)": "シリンジポンプ",
    "注射筒輸液ポンプ（TE-SS835N）": "シリンジポンプ",
    "成人用人工呼吸器(V60ﾍﾞﾝﾁﾚｰﾀ)": "人工呼吸器",
    "カメラ（内視鏡ユニット）": "カメラ",
    "医療用ガス分配器": "医療用ガス器具",
    "その他の医薬品注入器（ＭＲ用）": "医薬品注入器",
    "オキシメーター": "パルスオキシメータ",
    "ソリッドステートグリーンレーザー": "レーザー",
    "滑走式ミクロトーム": "医療用ミクロトーム",
    "電磁血流計": "血流計",
    "小型輸液ポンプ（6300）": "輸液ポンプ",
    "可搬型人工呼吸器（monnal T60)": "人工呼吸器",
    "ＪＭＳ冷温水槽": "冷温水槽",
    "プロセッサー・光源装置": "光源装置",
    "無影灯（天吊型）": "無影灯",
    "中心静脈留置型経皮的体温調節装置システム": "体温調節装置",
    "録画装置（内視鏡ユニット）": "録画装置",
    "経腸栄養用輸液ポンプ": "輸液ポンプ",
    "汎用輸液ポンプ（JMS）": "輸液ポンプ",
    "ＭＲＩ輸液ポンプ": "輸液ポンプ",
    "医療用エックス線装置": "医療用エックス線装置関連",
    "医療用エックス線管装置": "医療用エックス線装置関連",
    "電気メス用　バイポーラセット": "電気メス",
    "ＰＤＴ半導体レーザ": "レーザー",
    "循環器用超音波画像診断装置": "超音波画像診断装置",
    "動脈圧心拍出量計": "心拍出量計",
    "自動電子血圧計": "自動血圧計",
    "アネロイド式血圧計": "手動式血圧計",
    "経皮ガスモニター": "ガスモニター",
    "常設電気メス（メラ）": "電気メス",
    "多相電動式造影剤注入装置": "造影剤注入装置",
    "半自動除細動器（AED）": "除細動器",
    "一時的使用ペーシング機能付除細動器": "除細動器",
    "ホルムアルデヒドガス滅菌器": "滅菌器",
    "小型液体用高圧蒸気滅菌器": "滅菌器",
    "ハイブリッド滅菌器": "滅菌器",
    "カセット式高圧蒸気滅菌器": "滅菌器",
    "自動身長計付体組成計": "体組成計",
    "陰圧人工呼吸器（ＲＴＸ）": "人工呼吸器",
    "婦人科用診療・処置台": "処置台",
    "汎用診療・処置台": "処置台",
    "開放式保育器": "開放型保育器",
    "耳鼻科カメラユニット": "カメラユニット",
    "ヒステロレゼクトスコープ": "硬性レゼクトスコープ",
    "炭酸ガスレーザー": "レーザー",
    "体外循環装置用遠心ポンプ駆動装置": "遠心ポンプ",
    "汎用人工呼吸器(Savina)": "人工呼吸器",
    "新生児・小児用人工呼吸器（SERVO-n)": "人工呼吸器",
    "白内障・硝子体手術装置": "白内障手術装置",
    "X線診断装置用電動式患者台": "汎用Ｘ線診断装置用電動式患者台",
    "心電図モニタ": "生体情報モニター",
    "多項目モニタ": "生体情報モニター",
    "加熱式加湿器": "加温加湿器",
    "その他の医薬品注入器": "医薬品注入器",
    "カメラヘッド": "カメラ",
}

NEGATIVE = [
    "透析用監視装置", "ACUSON_SC2000", "3085", "CE共有", "AMS GreenLight HPS", "BSM-2401",
    "Bair Hugger Warming Unit", "LOGIQ P5j", "Vivid E9", "アイソレーショントランス",
    "ウォーマーマット", "クライオ", "βＤグル", "コブレーター", "サンダービート／ソニックビート",
    "色覚検査装置", "尿沈渣分析装置", "酵素免疫測定装置", "線形加速器システム", "平衡機能検査",
]


def half_width(s: str) -> str:
    table = {}
    for code in range(0xFF61, 0xFFA0):
        ch = chr(code)
        table[unicodedata.normalize("NFKC", ch)] = ch
        for mark in "\uff9e\uff9f":
            table.setdefault(unicodedata.normalize("NFKC", ch + mark), ch + mark)
    table["ー"] = "ｰ"
    return "".join(table.get(c, c) for c in s)


def toggle_long_vowel(s: str) -> str | None:
    if s.endswith("ー"):
        return s[:-1]
    if s and "\u30a1" <= s[-1] <= "\u30fa":
        return s + "ー"
    return None


def main() -> None:
    with MASTER.open(encoding="utf-8-sig") as handle:
        master = [(int(r[0]), r[1]) for r in csv.reader(handle) if r and r[0].isdigit()]
    by_name = {name: cid for cid, name in master}
    by_key = {match_key(name): cid for cid, name in master}
    rows, seen = [], set()

    def add(name, cid, source):
        if name and name not in seen:
            seen.add(name)
            rows.append({"name": name, "expected_id": cid or "",
                         "expected_name": dict(master).get(cid, "") if cid else "", "source": source})

    with SAMPLE.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            cid = by_key.get(match_key(row["name"]))
            if cid:
                add(row["name"], cid, "sample_exact")
    for name, expected in HAND.items():
        add(name, by_name[expected], "sample_hand")
    for cid, name in master:
        plain = unicodedata.normalize("NFKC", name)
        hw = half_width(plain)
        if hw != plain:
            add(hw, cid, "variant_halfwidth")
        toggled = toggle_long_vowel(plain)
        if toggled:
            add(toggled, cid, "variant_long_vowel")
        add(f"{plain}（小児用）", cid, "variant_qualifier")
        add(f"{name} XR-200", cid, "variant_model")
    for name in NEGATIVE:
        add(name, None, "negative")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["name", "expected_id", "expected_name", "source"])
        writer.writeheader()
        writer.writerows(rows)
    print(f"{len(rows)} rows written to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
