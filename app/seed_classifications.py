"""Seeds of the classification area: the SMDS master, the demo hospitals' own
classifications (real hospitals' three-level lists, assigned to the fictional demo
hospitals) and a starting list of makers with their usual spellings. Idempotent."""
from __future__ import annotations

import csv
from pathlib import Path

from .classifications import ensure_hospital_classifications
from .extensions import db
from .models import Classification, Maker, MakerAlias, Organization
from .normalize import maker_key, match_key, normalize_text

SEEDS_DIR = Path(__file__).resolve().parent.parent / "seeds"
MASTER_CSV = SEEDS_DIR / "smds_classification_master.csv"
HOSPITAL_CSV = SEEDS_DIR / "hospital_classifications_demo.csv"

# (canonical name, other spellings). maker_key already folds width, ㈱/(株)/株式会社 and
# middle dots, so only spellings that differ in words or script are listed.
MAKERS = [
    ("テルモ株式会社", ["TERUMO", "テルモ", "Terumo Corporation"]),
    ("日本光電工業株式会社", ["日本光電", "NIHON KOHDEN", "Nihon Kohden Corporation", "日本光電東京"]),
    ("フクダ電子株式会社", ["フクダ電子", "FUKUDA DENSHI", "フクダ電子東京中央販売"]),
    ("GEヘルスケア・ジャパン株式会社", ["GE Healthcare Japan", "GEヘルスケア", "GE横河メディカルシステム", "GE Healthcare"]),
    ("株式会社フィリップス・ジャパン", ["Philips Japan", "フィリップス", "フィリップスエレクトロニクスジャパン", "PHILIPS"]),
    ("ドレーゲルジャパン株式会社", ["Draeger Japan", "ドレーゲル", "Dräger", "ドレーゲル・メディカルジャパン"]),
    ("アトムメディカル株式会社", ["ATOM MEDICAL", "アトム"]),
    ("オリンパス株式会社", ["OLYMPUS", "オリンパスメディカルシステムズ", "オリンパスメディカルシステムズ株式会社"]),
    ("ニプロ株式会社", ["NIPRO", "ニプロ"]),
    ("大研医器株式会社", ["DAIKEN MEDICAL", "大研医器"]),
    ("コヴィディエンジャパン株式会社", ["Covidien Japan", "コヴィディエン", "コビディエン"]),
    ("日機装株式会社", ["NIKKISO", "日機装"]),
    ("東レ・メディカル株式会社", ["Toray Medical", "東レメディカル"]),
    ("キヤノンメディカルシステムズ株式会社", ["Canon Medical Systems", "東芝メディカルシステムズ", "キャノンメディカルシステムズ"]),
    ("シーメンスヘルスケア株式会社", ["Siemens Healthcare", "シーメンス・ジャパン", "シーメンスヘルシニアーズ"]),
    ("富士フイルムメディカル株式会社", ["FUJIFILM Medical", "富士フィルムメディカル", "富士フイルム"]),
    ("オムロンヘルスケア株式会社", ["OMRON HEALTHCARE", "オムロン"]),
    ("株式会社JMS", ["JMS", "ジェイ・エム・エス"]),
    ("エドワーズライフサイエンス株式会社", ["Edwards Lifesciences", "エドワーズ"]),
    ("メドトロニック株式会社", ["Medtronic", "日本メドトロニック", "日本メドトロニック株式会社"]),
    ("泉工医科工業株式会社", ["MERA", "泉工医科"]),
    ("パラマウントベッド株式会社", ["PARAMOUNT BED", "パラマウントベッド"]),
    ("小林メディカル株式会社", ["小林メディカル"]),
    ("スミスメディカル・ジャパン株式会社", ["Smiths Medical Japan", "スミスメディカル"]),
    ("カーディナルヘルス株式会社", ["Cardinal Health", "カーディナルヘルス"]),
]


def seed_common_classifications() -> int:
    created = 0
    existing = {
        c.normalized_name for c in db.session.query(Classification).filter(
            Classification.hospital_id.is_(None), Classification.level == 1,
            Classification.parent_id.is_(None),
        )
    }
    with MASTER_CSV.open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.reader(handle):
            if not row or not row[0].strip().isdigit():
                continue
            name = normalize_text(row[1])
            key = match_key(name)
            if key in existing:
                continue
            # The master's own spelling (full-width digits and letters) is kept for display.
            db.session.add(Classification(hospital_id=None, level=1, code=row[0].strip(),
                                          name=row[1].strip(), normalized_name=key, is_active=True))
            existing.add(key)
            created += 1
    db.session.flush()
    return created


def seed_hospital_classifications() -> int:
    """Each demo hospital's rows become paths (level-1 name, level-2 name, level-3 name)."""
    with HOSPITAL_CSV.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    by_id = {row["source_id"]: row for row in rows}
    paths: dict[str, list[tuple[str, ...]]] = {}
    for row in rows:
        chain, node, seen = [], row, set()
        while node is not None and node["source_id"] not in seen:
            seen.add(node["source_id"])
            chain.append(node["name"])
            node = by_id.get(node["parent_source_id"]) if node["parent_source_id"] else None
        if len(chain) != int(row["level"]):
            continue
        paths.setdefault(row["hospital_code"], []).append(tuple(reversed(chain)))
    total = 0
    for code, hospital_paths in paths.items():
        hospital = db.session.query(Organization).filter_by(code=code).one_or_none()
        if hospital is None:
            continue
        if db.session.query(Classification.id).filter_by(hospital_id=hospital.id).first():
            continue
        total += len(ensure_hospital_classifications(db.session, hospital.id, hospital_paths))
    return total


def seed_makers() -> int:
    created = 0
    for name, spellings in MAKERS:
        maker = db.session.query(Maker).filter_by(name=name).one_or_none()
        if maker is None:
            maker = Maker(name=name)
            db.session.add(maker)
            db.session.flush()
            created += 1
        for spelling in [name, *spellings]:
            key = maker_key(spelling)
            if db.session.query(MakerAlias.id).filter_by(normalized_alias=key).first() is None:
                db.session.add(MakerAlias(maker_id=maker.id, alias=spelling, normalized_alias=key))
                db.session.flush()
    return created


