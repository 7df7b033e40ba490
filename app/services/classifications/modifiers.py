"""Names that say nothing of a device by themselves (rules of
:func:`app.services.classifications.suggest.suggest`, kept apart so that module stays readable).

- :func:`is_placeholder`: what an export writes where a hospital had no classification
  (該当なし, 不明, 未分類, ｶﾞｲﾄｳﾅｼ, N/A, 「-」, a cell of symbols only). Nothing is offered for it:
  a suggestion would be read from the word 「なし」, and one accepted by mistake maps every
  device behind the placeholder to a class no one chose.
- :func:`purpose_stem`: a level-2 name that is only a purpose modifier, 「X用」 ("for X":
  内視鏡用, 小児用, 検体用). Japanese puts the head last, so the device is the parent's
  (内視鏡用 under 吸引器 is a suction unit for endoscopy, not an endoscope); the suggester
  ranks the parent's class first, and X read with the parent (輸液用 under ポンプ → 輸液ポンプ)
  above it.
  So does a name that is only a form or mode word (:data:`FORM_WORDS`: ポータブル, 汎用,
  据置型, マニュアル): 「ポータブル」 under 吸引器 is a suction unit, under 放射線 an X-ray unit,
  so another hospital's choice for the bare word says nothing here; nor does a maker's name
  (:data:`MAKER_NAMES`: テルモ under シリンジポンプ is a syringe pump, elsewhere an infusion pump).
- :func:`needs_parent`: a name whose meaning its parent decides — a form word, a maker, 「X用」
  or a bare word whose kind the department decides (:data:`PARENT_WORDS`: 顕微鏡 is a surgical
  microscope under 手術部, a laboratory one under 検査部; モニター a patient monitor on a ward, a
  display elsewhere; 本体). Another hospital's choice for such a name under another parent
  says what it was there, not here (suggest: offered, not auto-accepted).
- :func:`parent_readings`: a child read together with its parent as one name (開放式 under
  保育器 → 開放型保育器).
- :func:`held_if_not_medical`: a name (or its parent) that says the thing serves staff, the
  office, a household or training (冷蔵庫（職員用）, カメラ（広報用）, AED（研修用）: a trainer) is
  likely no medical device although it names one; its suggestions are offered, never
  auto-accepted.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from app.core.normalize import match_key, normalize_text
from app.services.classifications.lexicon import GENERIC_MASTERS, lexicon
from app.services.classifications.name_rules import is_location

# Written forms of "none", "unknown", "unclassified", "blank" in hospital exports, in kanji,
# kana and English; compared on match keys (width, kana and case folded).
PLACEHOLDERS = frozenset(match_key(word) for word in (
    "該当なし", "該当無し", "該当無", "該当せず", "該当品なし", "ガイトウナシ",
    "不明", "フメイ", "不詳", "未分類", "ミブンルイ", "分類なし", "分類無し", "分類不明",
    "未設定", "未入力", "未登録", "未定", "なし", "無し", "無", "ナシ", "空欄", "空白", "ブランク",
    "n/a", "na", "none", "null", "nil", "unknown", "tbd", "undefined", "blank",
))
_BRACKETS_RE = re.compile(r"[()\[\]{}<>（）［］｛｝〈〉《》【】「」『』〔〕]")
# Purpose suffixes: 〜用 ("for"), 〜専用 ("only for").
_PURPOSE_RE = re.compile(r"^(.{2,}?)(?:専用|用)$")
# Words that say only a device's form or mode, not which device (purpose_child): the
# parent's device is the head of a child that is one of them.
FORM_WORDS = frozenset(match_key(word) for word in (
    "ポータブル", "ポータブル型", "携帯", "携帯型", "携帯式", "可搬型", "移動型", "移動式",
    "据置", "据置型", "据置式", "据え置き", "据え置き型", "卓上", "卓上型", "床置", "床置型",
    "壁掛", "壁掛け", "壁掛型", "汎用", "汎用型", "標準", "標準型", "小型", "中型", "大型",
    "手動", "手動式", "電動", "電動式", "マニュアル", "充電式", "新型", "旧型",
))
# Makers of several kinds of device, as children name them (テルモ under 輸液ポンプ): like a
# form word, the maker says which make, the parent which device (purpose_child).
MAKER_NAMES_WRITTEN = (
    "テルモ", "TERUMO", "ニプロ", "NIPRO", "JMS", "ジェイ・エム・エス", "日本光電", "NIHON KOHDEN",
    "フクダ電子", "フクダ", "FUKUDA", "フクダコーリン", "オムロン", "OMRON", "フィリップス", "PHILIPS",
    "GE", "GEヘルスケア", "ドレーゲル", "Drager", "メドトロニック", "Medtronic", "コヴィディエン",
    "Covidien", "オリンパス", "OLYMPUS", "富士フイルム", "FUJIFILM", "ペンタックス", "PENTAX", "HOYA",
    "カールストルツ", "KARL STORZ", "ストライカー", "Stryker", "エドワーズ", "Edwards", "ZOLL", "ゾール",
    "日機装", "東レ", "旭化成", "川澄化学", "泉工医科", "メラ", "MERA", "大研医器", "アトムメディカル", "アトム",
    "トーイツ", "キヤノン", "CANON", "シーメンス", "SIEMENS", "日立", "コニカミノルタ", "島津",
    "ビー・ブラウン", "B.BRAUN", "バクスター", "Baxter", "スミスメディカル", "アコマ", "村中医療器",
    "ケルン", "小林メディカル", "センチュリーメディカル", "日本ストライカー", "ジョンソン・エンド・ジョンソン",
    "エルベ", "ERBE", "マシモ", "Masimo", "アイ・エム・アイ", "IMI", "チェスト", "ミナト医科学",
)
MAKER_NAMES = frozenset(match_key(word) for word in MAKER_NAMES_WRITTEN)
_MAKER_SUFFIXES = ("社製", "製")
# Bare device words whose kind the department decides (needs_parent): an instrument of the
# operating room or of the laboratory, a monitor of patients or a display, a unit's main body.
# Not a device named by an abbreviation (US, PCPS, セントラル): that is one device anywhere.
PARENT_WORDS = frozenset(match_key(word) for word in (
    "顕微鏡", "モニター", "モニタ", "Monitor", "本体", "ユニット", "システム", "装置", "機器", "器械",
    "測定器", "測定装置", "計測器", "計測装置", "ライト", "照明", "スコープ", "ファイバー", "カメラ",
    "プローブ", "センサー", "センサ", "ヘッド", "洗浄機", "洗浄器", "冷蔵庫", "保冷庫", "恒温槽",
    "ベッド", "台", "架台", "台車", "カート", "ワゴン", "端末", "電源", "充電器", "ポンプ", "Pump",
))
# Words that make a parent a group of what it names (ポンプ類, 透析関連).
_GROUP_SUFFIXES = ("類", "関連", "等", "一式", "全般")
# ... dropped when a child is read with its parent (parent_readings).
_READ_GROUP_SUFFIXES = ("類", "関連", "等", "一式")
# A child read together with its parent (parent_readings): above what either says alone.
PARENT_READING = 88.5
# Words saying a thing serves staff, the office, a household, publicity or training
# (held_if_not_medical), and where its best suggestion is held: offered first, confirmed.
_NOT_MEDICAL_RE = re.compile("|".join(match_key(word) for word in (
    "職員用", "スタッフ用", "事務", "広報用", "家庭用", "私物", "休憩室", "来客用", "教育用",
    "研修用", "練習用", "実習用", "デモ機",
)))
NOT_MEDICAL_CEILING = 85.0


@lru_cache(maxsize=8192)
def is_placeholder(name: str | None) -> bool:
    """Whether ``name`` is a placeholder for "no classification" (module docstring): one of
    :data:`PLACEHOLDERS`, bracketed or not (（不明）), or a cell with no letter, digit, kana
    or kanji in it (「-」「＊」「？」)."""
    text = normalize_text(name)
    if not text.strip():
        return True
    if not any(unicodedata.category(ch)[0] in "LN" for ch in text):
        return True
    return match_key(_BRACKETS_RE.sub("", text)) in PLACEHOLDERS


def purpose_stem(name_key: str) -> str | None:
    """X of a name that is only 「X用」 (X two characters or more), as a match key; None for
    any other name (内視鏡用吸引器 names its device: it is no modifier)."""
    found = _PURPOSE_RE.match(name_key)
    return found.group(1) if found else None


def purpose_child(name_key: str, parent_key: str) -> bool:
    """Whether a child ``name_key`` is only a purpose modifier of its parent ``parent_key``
    (:func:`purpose_stem`), a form word (:data:`FORM_WORDS`) or a maker, so the parent's device is its
    head. Not under a generic parent (ポンプ, カメラ, ポンプ類): there 「IABP用」 or 「内視鏡用」
    says more than the parent; nor under a place (検査室, ICU), which is no device."""
    if not parent_key or is_location(parent_key) or (
            purpose_stem(name_key) is None and name_key not in FORM_WORDS and not is_maker_name(name_key)):
        return False
    return parent_head(parent_key) not in GENERIC_MASTERS


def needs_parent(name_key: str) -> bool:
    """Whether a (normalized, bracket-free) name means what its parent says it is (module
    docstring): a form word, a maker, 「X用」 or one of :data:`PARENT_WORDS`."""
    return (name_key in PARENT_WORDS or name_key in FORM_WORDS or is_maker_name(name_key)
            or purpose_stem(name_key) is not None)


def is_maker_name(name_key: str) -> bool:
    """Whether a (normalized) name is only a maker's (:data:`MAKER_NAMES`), 「製」 after it or not."""
    return name_key in MAKER_NAMES or any(
        name_key.endswith(suffix) and name_key[:-len(suffix)] in MAKER_NAMES for suffix in _MAKER_SUFFIXES)


def parent_head(parent_key: str) -> str:
    """The parent's key without a group suffix (ポンプ類 → ポンプ): what a class that is a
    kind of the parent's device ends with (低圧持続吸引器 under 吸引器)."""
    return next((parent_key[:-len(s)] for s in _GROUP_SUFFIXES
                 if parent_key.endswith(s) and len(parent_key) > len(s) + 1), parent_key)


@lru_cache(maxsize=8192)
def parent_readings(child: str, parent: str) -> tuple[tuple[str, float], ...]:
    """``(master key, score)`` for the classes that a child read together with its parent
    names exactly, as a lexicon term or master name: 開放式 under 保育器 (開放式保育器 →
    開放型保育器), 電動式 under 吸引器, 輸液用 under ポンプ類 (輸液ポンプ), 監視装置 under 透析
    (透析監視装置). The child is a qualifier of its parent (or the parent of it), as a bracketed
    qualifier is of a name; the reading rests on the parent, so it scores
    :data:`PARENT_READING` (< 90: confirmed), above an ambiguous term the child is alone.
    A child that is a class on its own (an exact master name, 100) keeps it."""
    if not child or not parent or child == parent:
        return ()
    childs = {child} | ({child[:-1]} if child.endswith("用") and len(child) > 2 else set())
    parents = {parent} | {parent[:-len(suffix)] for suffix in _READ_GROUP_SUFFIXES
                          if parent.endswith(suffix) and len(parent) > len(suffix) + 1}
    terms = lexicon().terms
    found: dict[str, float] = {}
    for c in childs:
        for p in parents:
            for key in (c + p, p + c, c + "式" + p, c + "型" + p):  # 観血 under 血圧計: 観血式血圧計
                term = terms.get(key)
                for rank, master in enumerate(term.masters if term else ()):
                    found[master] = max(found.get(master, 0.0), PARENT_READING - 0.5 * rank)
    return tuple(found.items())


def held_if_not_medical(name: str, parent_name: str | None,
                        ranked: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """``ranked`` lowered as a whole (order kept) so its best is at most
    :data:`NOT_MEDICAL_CEILING` when ``name`` or ``parent_name`` says the thing is not for
    patients (module docstring); unchanged otherwise."""
    best = max((score for _, score in ranked), default=0.0)
    if best <= NOT_MEDICAL_CEILING or not any(
            text and _NOT_MEDICAL_RE.search(match_key(text)) for text in (name, parent_name)):
        return ranked
    return [(cid, round(score - (best - NOT_MEDICAL_CEILING), 1)) for cid, score in ranked]
