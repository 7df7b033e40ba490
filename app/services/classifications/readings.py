"""Kana readings: a classification name written only in kana (ﾎｲｸｷ, ｼﾞﾄﾞｳｹﾂｱﾂｹｲ, ほいくき)
read as the master names and lexicon terms it sounds like (保育器, 自動血圧計).

The master names and most lexicon terms are kanji; many hospitals' lists (old systems, half-width
kana only) spell the same words in kana. Every master name and lexicon term gets a reading from
``readings.csv`` (next to this module: ``word,reading``, reviewed by people; a text is read word
by word, the longest entry that starts at each place, kana as it is). Readings are compared
*loosely* (:func:`loose`), so the variants people type for one word meet: voiced or not
(ﾕｴｷﾎﾟﾝﾌﾞ = ユエキポンプ, ベット = ベッド), long vowels written ー, ウ, オ, イ or not at all
(ﾑｴｲﾄｰ = ムエイトウ, ｼﾞｮｻｲﾄﾞｷ = ジョサイドウキ); small kana are kept (処置用 is not 小腸),
with a second reading for lists typed without them (ｷﾕｳｲﾝｷ).

:func:`kana_alias` rewrites a kana-only name into the words it reads as: the spans of its
loose reading that are the reading of a term, a master name or a kanji word, long words first
(ｹﾝﾀｲﾚｲｿﾞｳｺ → 検体冷蔵庫), loanwords left as they are (:data:`MIN_LOANWORD`); failing that, the
one term a typo away (:func:`_misspelt`). The suggester ranks that alias like a name
(:func:`app.services.classifications.name_rules.with_aliases`).
"""
from __future__ import annotations

import csv
import re
import unicodedata
from functools import lru_cache
from pathlib import Path

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from app.core.normalize import match_key, normalize_text

READINGS_CSV = Path(__file__).resolve().with_name("readings.csv")

_KANJI_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff々〆]")
_KANA_RE = re.compile(r"[\u3041-\u3096\u30a1-\u30fa]")
# Kana whose vowel is o or u: a ウ (or an オ after an o) only lengthens it (トウ = トー = トオ =
# ト in loose form); an イ after an e does the same (ケイ = ケー = ケ).
_O_ROW = frozenset("オコソトノホモヨロォョ")
_U_ROW = frozenset("ウクスツヌフムユルゥュ")
_E_ROW = frozenset("エケセテネヘメレェ")
# Kana keys keep small kana (ショチヨウ, 処置用, is not ショウチョウ, 小腸), but for ッ, the
# sokuon a kanji ending in ツ takes (血管: ケツ + カン = ケッカン).
_SMALL_FOLD = str.maketrans("ッヮヵヶ", "ツワカケ")
# ...and a second reading for lists typed without small kana at all (ｷﾕｳｲﾝｷ for ｷｭｳｲﾝｷ).
_ALL_SMALL = str.maketrans("ァィゥェォャュョ", "アイウエオヤユヨ")
# (ー is kept: it lengthens the kana before it, as ウ does: チョーオンパ = チョウオンパ.)
_NOISE_RE = re.compile(r"[\s\-\u30fb\u00b7・･.,，、。:;：；/／\\\"'`＿_!！?？*＊#＃&＆+＋~=|@]")
# Spans this short (loose) are too common to say which word they are.
MIN_SPAN = 2
# ...except the kana that ends so many device names: 器 (ﾃﾝｹﾝｷ → 点検器, ﾌﾗﾝｷ → 孵卵器), and
# the one that joins a use to a device inside a name: 用 (ｹﾝﾀｲﾖｳﾚｲｿﾞｳｺ → 検体用冷蔵庫).
_FINAL_KANA = {"キ": "器"}
_INNER_KANA = {"ヨ": "用"}
# A name may keep a loanword in kana (ﾊｲｴｷｼｽﾃﾑ: 廃液 + システム), but half of it must be read
# and a kana left unread must be a word of its own, this long: a name read in scraps is a
# loanword that sounds like kanji words by chance (ソリッドステート → ソ + 率 + …).
MIN_LOANWORD = 3
# A name read as a typo of a word (_misspelt) must be this long (loose): shorter ones are
# one letter away from too many words.
MIN_MISSPELT = 5
_QUALIFIER_RE = re.compile(r"[(\[{<【「『〔][^)\]}>】」』〕]*[)\]}>】」』〕]")


def _hira_to_kata(text: str) -> str:
    return "".join(chr(ord(c) + 0x60) if "\u3041" <= c <= "\u3096" else c for c in text)


@lru_cache(maxsize=16384)
def kana_key(text: str) -> str:
    """:func:`~app.core.normalize.match_key` that keeps small kana (but ッ) and ー."""
    text = _hira_to_kata(normalize_text(text).lower()).translate(_SMALL_FOLD)
    return _NOISE_RE.sub("", text)


@lru_cache(maxsize=1)
def _table() -> tuple[dict[str, str], int]:
    with READINGS_CSV.open(encoding="utf-8-sig", newline="") as handle:
        rows = [row for row in csv.reader(line for line in handle if not line.startswith("#"))]
    words = {kana_key(word): kana_key(reading) for word, reading in rows[1:] if word and reading}
    return words, max(map(len, words), default=1)


@lru_cache(maxsize=16384)
def reading(text: str) -> str | None:
    """The katakana reading of a master name or term (ASCII, digits and signs kept as they
    are); None when a kanji of it has no reading in ``readings.csv``."""
    words, longest = _table()
    text = kana_key(text)
    out: list[str] = []
    i = 0
    while i < len(text):
        for size in range(min(longest, len(text) - i), 0, -1):
            found = words.get(text[i:i + size])
            if found is not None:
                out.append(found)
                i += size
                break
        else:
            if _KANJI_RE.match(text[i]):
                return None
            out.append(_hira_to_kata(text[i]))
            i += 1
    return "".join(out)


@lru_cache(maxsize=1024)
def _loose_char(ch: str) -> str:
    ch = {"ヂ": "ジ", "ヅ": "ズ", "ヴ": "ウ", "ヲ": "オ", "ヰ": "イ", "ヱ": "エ"}.get(ch, ch)
    return unicodedata.normalize("NFD", ch)[0]  # without its voicing mark


@lru_cache(maxsize=16384)
def loose(text: str, folded: bool = False) -> str:
    """A comparison form of a reading: :func:`kana_key` (width, hiragana, long-vowel marks,
    punctuation) without voicing marks, and without a vowel that only
    lengthens the kana before it (ウ after o and u, オ after o, イ after e)."""
    key = kana_key(text)
    return "".join(small for small, _ in _loose_spans(key.translate(_ALL_SMALL) if folded else key))


def _loose_spans(key: str) -> list[tuple[str, str]]:
    """``(loose char, original chars)`` pairs of a key: a dropped ウ joins the kana before it."""
    spans: list[tuple[str, str]] = []
    for ch in key:
        small = _loose_char(ch)
        if spans and small == "ー":
            spans[-1] = (spans[-1][0], spans[-1][1] + ch)
            continue
        if spans and len(spans[-1][1]) == 1 and _lengthens(spans[-1][0], small):  # コウ|オン: once
            spans[-1] = (spans[-1][0], spans[-1][1] + ch)
            continue
        spans.append((small, ch))
    return spans


def _lengthens(before: str, vowel: str) -> bool:
    return ((vowel == "ウ" and (before in _O_ROW or before in _U_ROW))
            or (vowel == "オ" and before in _O_ROW) or (vowel == "イ" and before in _E_ROW))


@lru_cache(maxsize=2)
def reading_index(folded: bool = False) -> dict[str, str]:
    """Loose reading (``folded``: with small kana as large) → the term, master name or kanji
    word it is the reading of."""
    from app.services.classifications.lexicon import lexicon, master_names, read_rows

    terms = lexicon().terms
    alike: dict[str, list[str]] = {}
    for text in master_names() + [row["term"] for row in read_rows()]:
        read = reading(text)  # of the text as written: a key has lost its small kana
        key = match_key(text)
        if read and not read.isascii() and key in terms and key not in alike.get(loose(read, folded), ()):
            alike.setdefault(loose(read, folded), []).append(key)
    words, _ = _table()
    for word, read in words.items():
        if _KANJI_RE.search(word):
            alike.setdefault(loose(read, folded), []).append(match_key(word))
    # Words that sound alike (点検, 電顕): the one more master names use, then a term, then the
    # one more terms use.
    masters_text = "\n".join(key for key, term in terms.items() if term.implicit)
    terms_text = "\n".join(terms)
    index = {}
    for read, group in alike.items():
        index[read] = group[0] if len(group) == 1 else max(group, key=lambda w: (
            masters_text.count(w), w in terms, terms_text.count(w)))
    return {read: key for read, key in index.items() if len(read) >= MIN_SPAN}


def is_kana_name(name: str) -> bool:
    """Whether a name (without bracketed qualifiers) is written in kana with no kanji."""
    key = _QUALIFIER_RE.sub("", normalize_text(name)) or name
    return not _KANJI_RE.search(key) and len(_KANA_RE.findall(_hira_to_kata(key))) >= 2


@lru_cache(maxsize=8192)
def kana_alias(name: str) -> tuple[str, bool] | None:
    """``(alias, whole)`` for a kana-only name: the name with its kana rewritten as the words
    they read as (module docstring); ``whole``: one term or master name reads as all of it.
    None when the name has kanji or nothing in it reads as a word."""
    if not is_kana_name(name):
        return None
    written = normalize_text(name)
    key = kana_key(_QUALIFIER_RE.sub("", written)) or kana_key(written)
    alias = _read(key, False) or _read(key.translate(_ALL_SMALL), True) or _misspelt(key)
    if alias is None or match_key(alias[0]) == match_key(key):
        return None
    # Bracketed qualifiers stay as written (ﾊｲｴｷｼｽﾃﾑ(ﾈﾌﾟﾁｭｰﾝ): the brand in brackets is evidence).
    return alias[0] + "".join(_QUALIFIER_RE.findall(written)), alias[1]


def _misspelt(key: str) -> tuple[str, bool] | None:
    """The one term or master name whose loose reading is a typo away from the whole name's
    (ｹﾄｳｹｲ: a ッ left out of ケットウケイ; ｼﾞﾄﾞｳｹﾂｱﾂｹ), never ``whole``: a guess, confirmed."""
    text = loose(key)
    if len(text) < MIN_MISSPELT:
        return None
    limit = 1 if len(text) < 2 * MIN_MISSPELT else 2
    index = reading_index(False)
    found = process.extract(text, list(index), scorer=Levenshtein.distance, score_cutoff=limit, limit=2)
    if not found or (len(found) > 1 and found[1][1] == found[0][1]):
        return None  # nothing near, or two words as near: no guess
    return index[found[0][0]], False


def _read(key: str, folded: bool) -> tuple[str, bool] | None:
    """:func:`kana_alias` of a kana key, read with the index of small kana kept or folded."""
    spans = _loose_spans(key)
    text = "".join(small for small, _ in spans)
    index = reading_index(folded)
    size = len(text)
    # best[i]: (sum of the squared lengths of the words read, characters read) of the best
    # reading of text[i:], and its first step: long words first (血液浄化 + システム, not
    # 血 + 液晶 + 下肢 + ステム). What is not kana (a model number) counts as read; a final キ as 器.
    best: list[tuple[int, int]] = [(0, 0)] * (size + 1)
    step: list[int] = [1] * (size + 1)
    for i in range(size - 1, -1, -1):
        squares, covered = best[i + 1]
        alone = (not _KANA_RE.match(text[i]) or (i == size - 1 and i and text[i] in _FINAL_KANA)
                 or (0 < i < size - 1 and text[i] in _INNER_KANA))
        best[i], step[i] = (squares + alone, covered + alone), 1
        for j in range(i + MIN_SPAN, size + 1):
            if text[i:j] in index:
                squares, covered = best[j]
                if (squares + (j - i) ** 2, covered + j - i) > best[i]:
                    best[i], step[i] = (squares + (j - i) ** 2, covered + j - i), j - i
    out: list[str] = []
    unread = [0]  # lengths of the runs of kana no word reads
    i = 0
    while i < size:
        j = i + step[i]
        piece = text[i:j]
        if piece in index and step[i] >= MIN_SPAN:
            out.append(index[piece])
            unread.append(0)
        elif j == size and piece in _FINAL_KANA and i:
            out.append(_FINAL_KANA[piece])
        elif 0 < i < size - 1 and piece in _INNER_KANA:
            out.append(_INNER_KANA[piece])
        else:
            out.append("".join(o for _, o in spans[i:j]))
            unread[-1] += bool(_KANA_RE.match(piece))
        i = j
    if 2 * best[0][1] < size or any(0 < run < MIN_LOANWORD for run in unread):
        return None  # read in scraps (シュレッダー → 手+レツダ): a loanword, not a reading
    alias = "".join(out)
    return alias, step[0] == size and index.get(text) == alias


def warm_readings() -> None:
    """Build both reading indexes now (the app's start), not on the first kana name."""
    reading_index(False)  # called as _read calls it: lru_cache keys on how arguments are passed
    reading_index(True)
