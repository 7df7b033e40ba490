"""Names written in romaji (ローマ字) by older systems that took no Japanese: 「yueki pump」,
「KYUINKI」, 「denki mesu」. :func:`_word_reading` spells each word that is romaji through
and through in katakana (Hepburn and Kunrei-shiki, ン, ッ and 拗音) and keeps it when the kana
reader (:func:`app.services.classifications.readings.kana_alias`) reads it whole as a word, or
it is a katakana term or part of a master name (mesu: メス); other words (pump, Infusion, TE-171) stay as written.
:func:`romaji_alias` is the name so read: the suggester ranks it as an alias, confirmed by a
person (a romaji word may be an English one that happens to spell kana).
:func:`spelled_letters_alias` reads the opposite: an English abbreviation spelled out in
katakana (ｱｲｴｰﾋﾞｰﾋﾟｰ → IABP).
"""
from __future__ import annotations

import re
from functools import lru_cache

from app.core.normalize import match_key, normalize_text
from app.services.classifications.lexicon import lexicon
from app.services.classifications.readings import kana_alias

_ROWS = {
    "": "アイウエオ", "k": "カキクケコ", "s": "サシスセソ", "t": "タチツテト", "n": "ナニヌネノ",
    "h": "ハヒフヘホ", "m": "マミムメモ", "r": "ラリルレロ", "g": "ガギグゲゴ", "z": "ザジズゼゾ",
    "d": "ダヂヅデド", "b": "バビブベボ", "p": "パピプペポ",
}
_SYLLABLES: dict[str, str] = {c + v: kana for c, row in _ROWS.items() for v, kana in zip("aiueo", row, strict=True)}
_SYLLABLES.update({
    "ya": "ヤ", "yu": "ユ", "yo": "ヨ", "wa": "ワ", "wo": "ヲ",
    "shi": "シ", "chi": "チ", "tsu": "ツ", "fu": "フ", "ji": "ジ",
    "fa": "ファ", "fi": "フィ", "fe": "フェ", "fo": "フォ", "she": "シェ", "che": "チェ", "je": "ジェ",
    "ti": "ティ", "di": "ディ", "vi": "ヴィ", "va": "ヴァ", "ve": "ヴェ", "vo": "ヴォ", "vu": "ヴ",
})
for consonant, i_kana in (("k", "キ"), ("s", "シ"), ("t", "チ"), ("n", "ニ"), ("h", "ヒ"), ("m", "ミ"),
                          ("r", "リ"), ("g", "ギ"), ("z", "ジ"), ("b", "ビ"), ("p", "ピ")):
    for vowel, small in zip("auo", "ャュョ", strict=True):
        _SYLLABLES[consonant + "y" + vowel] = i_kana + small
for spelling, base in (("sh", "シ"), ("ch", "チ"), ("j", "ジ")):
    for vowel, small in zip("auo", "ャュョ", strict=True):
        _SYLLABLES[spelling + vowel] = base + small
_LONGEST = max(map(len, _SYLLABLES))
_WORD_RE = re.compile(r"[A-Za-z]+")
# A word this short is an abbreviation (CT, ME, SE), not romaji.
_MIN_WORD = 4


def _word_to_kana(word: str) -> str | None:
    """A romaji word in katakana; None when some part of it is no romaji (pump, monitor)."""
    out, i = [], 0
    while i < len(word):
        ch = word[i]
        if ch == "n" and (i + 1 == len(word) or word[i + 1] not in "aiueoy"):
            out.append("ン")  # ン before a consonant or at the end (nn: the next n starts over)
            i += 2 if word[i + 1:i + 2] == "n" and word[i + 2:i + 3] not in tuple("aiueoy") else 1
            continue
        if ch == word[i + 1:i + 2] and ch in "kstpcgbdfjmrz":
            out.append("ッ")  # a doubled consonant: kk, tt, pp (tch: ッチ below)
            i += 1
            continue
        if word.startswith("tch", i):
            out.append("ッ")
            i += 1
            continue
        for size in range(_LONGEST, 0, -1):
            kana = _SYLLABLES.get(word[i:i + size])
            if kana:
                out.append(kana)
                i += size
                break
        else:
            return None
    return "".join(out)


def _word_reading(word: str) -> str | None:
    """What a romaji word reads as: a word the kana reader reads whole (yueki → 輸液, kyuinki →
    吸引器) or a katakana term or part of a master name (ponpu → ポンプ, mesu → メス); None for
    any other word (infusion, sakura)."""
    kana = _word_to_kana(word.lower()) if len(word) >= _MIN_WORD else None
    if kana is None:
        return None
    alias = kana_alias(kana)
    if alias is not None and alias[1]:
        return alias[0]
    key = match_key(kana)
    return kana if key in lexicon().terms or key in _master_text() else None


@lru_cache(maxsize=1)
def _master_text() -> str:
    return "\n".join(term.key for term in lexicon().terms.values() if term.implicit)


@lru_cache(maxsize=8192)
def romaji_alias(name: str) -> str | None:
    """``name`` with each romaji word of it replaced by what it reads as (「yueki pump」 →
    「輸液 pump」, 「shirinji ponpu」 → 「シリンジ ポンプ」); None when no word reads as Japanese or
    the name is not written in ASCII alone."""
    if not name.isascii():
        return None
    changed = False

    def read(found: re.Match) -> str:
        nonlocal changed
        reading = _word_reading(found.group(0))
        changed |= reading is not None
        return reading or found.group(0)
    text = _WORD_RE.sub(read, name)
    return text if changed else None


# English letters as katakana spell them (ｱｲｴｰﾋﾞｰﾋﾟｰ: IABP), with the usual variants.
_LETTER_NAMES = {
    "エー": "A", "エイ": "A", "ビー": "B", "シー": "C", "ディー": "D", "デー": "D", "イー": "E",
    "エフ": "F", "ジー": "G", "エイチ": "H", "エッチ": "H", "アイ": "I", "ジェー": "J", "ジェイ": "J",
    "ケー": "K", "ケイ": "K", "エル": "L", "エム": "M", "エヌ": "N", "オー": "O", "ピー": "P",
    "キュー": "Q", "アール": "R", "エス": "S", "ティー": "T", "テー": "T", "ユー": "U", "ブイ": "V",
    "ヴィー": "V", "ダブリュー": "W", "エックス": "X", "ワイ": "Y", "ゼット": "Z", "ゼッド": "Z",
}
_LONGEST_LETTER = max(map(len, _LETTER_NAMES))


def _spell(kana: str) -> str | None:
    """``kana`` as the letters it spells through and through (longest letter names first,
    backtracking); None when some part of it is no letter's name."""
    if not kana:
        return ""
    for size in range(min(_LONGEST_LETTER, len(kana)), 1, -1):
        letter = _LETTER_NAMES.get(kana[:size])
        if letter and (rest := _spell(kana[size:])) is not None:
            return letter + rest
    return None


@lru_cache(maxsize=8192)
def spelled_letters_alias(name: str) -> str | None:
    """An abbreviation spelled out in katakana, read as its letters when they make a lexicon
    term (ｱｲｴｰﾋﾞｰﾋﾟｰ → IABP, シーエイチディーエフ → CHDF); None otherwise. Only a name of two
    letters or more that the letters cover entirely: アイス or エース spell nothing."""
    kana = re.sub(r"[\s・･]", "", normalize_text(name))
    if len(kana) < 4 or not all("゠" <= ch <= "ヿ" for ch in kana):
        return None
    letters = _spell(kana)
    if not letters or len(letters) < 2 or match_key(letters) not in lexicon().terms:
        return None
    return letters
