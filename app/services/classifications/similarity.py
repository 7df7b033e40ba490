"""How alike a hospital's name and an SMDS master name are, and the keys a name is compared
under (rules of :func:`app.services.classifications.suggest.suggest`, kept apart so that
module stays readable): a bracketed qualifier put in front as the head (:func:`qualifier_heads`),
generic names rewritten to the master's word (:func:`synonym_key`), and the fuzzy blend of
character ratio, partial ratio, token-set ratio and bigram overlap (:func:`fuzzy_score`)."""
from __future__ import annotations

import re
from functools import lru_cache

from rapidfuzz import fuzz

from app.core.normalize import match_key, normalize_text

# A fuzzy guess is never auto-accepted: above FUZZY_KNEE its score is compressed to end at
# FUZZY_CEILING (order kept), so 新シリンジポンプ or 輸液／シリンジポンプ is confirmed by a person.
FUZZY_KNEE, FUZZY_CEILING = 85.0, 89.0

_QUALIFIER_RE = re.compile(r"[(\[{<【「『〔]([^)\]}>】」』〕]*)[)\]}>】」』〕]")


@lru_cache(maxsize=8192)
def qualifier_heads(name: str) -> tuple[tuple[str, str], ...]:
    """``(qualifier key, qualifier + name without brackets as a key)`` per bracketed
    qualifier of ``name``: ポンプ(輸液) → (("輸液", "輸液ポンプ"),). A Japanese compound's head
    is its last part, so a qualifier that names the kind of device goes in front."""
    text = normalize_text(name)
    stripped = _QUALIFIER_RE.sub("", text)
    heads = []
    for inner in _QUALIFIER_RE.findall(text):
        key = match_key(inner)
        if len(key) >= 2 and not key.isascii():
            heads.append((key, match_key(inner + stripped)))
            # 保育器(開放) → 開放型保育器: the qualifier as a kind (型, 式) of the name
            heads.extend((key, match_key(inner + kind + stripped)) for kind in ("型", "式"))
    return tuple(heads)


@lru_cache(maxsize=8192)
def _bigrams(key: str) -> frozenset[str]:
    if len(key) < 2:
        return frozenset({key}) if key else frozenset()
    return frozenset(key[i:i + 2] for i in range(len(key) - 1))


def _dice(a: str, b: str) -> float:
    ga, gb = _bigrams(a), _bigrams(b)
    if not ga or not gb:
        return 0.0
    return 200.0 * len(ga & gb) / (len(ga) + len(gb))


def fuzzy_score(name_key: str, name_base: str, name_tokens: str, cand_key: str, cand_tokens: str) -> float:
    if not name_key or not cand_key:
        return 0.0
    ratio = fuzz.ratio(name_key, cand_key)
    partial = fuzz.partial_ratio(name_key, cand_key)
    tokens = fuzz.token_set_ratio(name_tokens, cand_tokens)
    ngram = _dice(name_key, cand_key)
    score = 0.4 * ratio + 0.2 * partial + 0.1 * tokens + 0.3 * ngram
    shorter, longer = sorted((name_base, cand_key), key=len)
    if len(shorter) >= 2 and shorter in longer:
        # Containment: the more of the longer name the shorter covers, the surer the match.
        # A Japanese compound's head is its last part (成人用人工呼吸器 is a 人工呼吸器), so a
        # candidate that ends the name counts most; one at its start (血液 in 血液浄化装置)
        # least; the name inside a longer candidate in between.
        cover = len(shorter) / len(longer)
        if cand_key == shorter and name_base.endswith(cand_key):
            score = max(score, 75.0 + 20.0 * cover)
        elif cand_key == shorter:
            score = max(score, 60.0 + 30.0 * cover)
        else:
            score = max(score, 68.0 + 20.0 * cover)
    score = min(score, 95.0)
    if score > FUZZY_KNEE:
        score = FUZZY_KNEE + (score - FUZZY_KNEE) * (FUZZY_CEILING - FUZZY_KNEE) / (95.0 - FUZZY_KNEE)
    return score


# Generic names (JMDN and common usage) → the word the SMDS master uses. Applied to the
# normalized key of a hospital's name; the result is scored like a bracket-free match.
SYNONYMS = {
    "注射筒輸液ポンプ": "シリンジポンプ",
    "心電図モニタ": "生体情報モニタ",
    "多項目モニタ": "生体情報モニタ",
    "ベツドサイドモニタ": "生体情報モニタ",
    "患者モニタ": "生体情報モニタ",
    "心臓ペスメカ": "ペスメカ",
    "開放式保育器": "開放型保育器",
    "閉鎖式保育器": "保育器",
    "アネロイド式血圧計": "手動式血圧計",
    "水銀血圧計": "手動式血圧計",
    "高周波焼灼装置": "電気手術器",
    "血液浄化装置": "血液浄化関連",
    "aed": "除細動器",
    "汎用輸液ポンプ": "輸液ポンプ",
    "経腸栄養用輸液ポンプ": "輸液ポンプ",
    "体外型": "体外式",
    "オキシメタ": "パルスオキシメタ",
}
_SYNONYM_KEYS = sorted(SYNONYMS, key=len, reverse=True)


@lru_cache(maxsize=8192)
def synonym_key(key: str) -> str:
    for word in _SYNONYM_KEYS:
        replacement = SYNONYMS[word]
        if word in key and not (word in replacement and replacement in key):
            key = key.replace(word, replacement)
    return key


@lru_cache(maxsize=8192)
def token_text(s: str) -> str:
    return normalize_text(s).lower()
