"""Text normalization shared by the ingest pipeline, classification matching and makers.

Two strengths:
- :func:`normalize_text` cleans a cell without changing what it says (NFKC, so full-width
  ASCII and half-width kana become one form and ㈱ becomes (株); one kind of dash; single
  spaces). It runs on every cell of uploaded files, so it is cached and takes a fast path
  for plain ASCII.
- :func:`match_key` folds the variants people type for the same word (long vowels,
  small kana, hiragana/katakana, case, spaces and punctuation) into a key for comparison
  only; it is never shown.

:func:`maker_key` is ``match_key`` without company forms (株式会社, (株), Co., Ltd. …);
(Turning maker spellings into maker ids: :mod:`app.services.classifications.makers`.)
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Dashes and minus signs that NFKC leaves distinct; all written as ASCII "-" unless they
# follow a kana, where they are the long-vowel mark people meant (モニタ- = モニター).
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2500\u2501\u30fc\uff70\ufe63\ufe58\u02d7\u2043"
_DASH_RE = re.compile(f"[{_DASHES}-]")
_KANA_BEFORE_RE = re.compile(f"(?<=[\u3041-\u309f\u30a1-\u30fa\u30fc-\u30ff])[{_DASHES}-]")
_SPACE_RE = re.compile(r"\s+")
# Tilde/wave variants in ranges (10〜20, 10～20) read as one.
_EXTRA = str.maketrans({"〜": "~", "～": "~", "\u00a0": " ", "\u3000": " "})

_SMALL_KANA = str.maketrans("ァィゥェォッャュョヮヵヶ", "アイウエオツヤユヨワカケ")
# Characters that carry no meaning in a name: spaces, punctuation, middle dots, long vowels.
_NOISE_RE = re.compile(r"[\s\-\u30fb\u00b7・･.,，、。:;：；/／\\\"'`＿_!！?？*＊#＃&＆+＋~=|@ー]")
_PAREN_RE = re.compile(r"[(\[{<【「『〔][^)\]}>】」』〕]*[)\]}>】」』〕]")

_COMPANY_FORMS = [
    "株式会社", "有限会社", "合同会社", "合資会社", "合名会社", "(株)", "(有)", "(合)", "(同)",
    "(資)", "(名)", "(社)", "(財)", "corporation", "incorporated", "company", "limited",
    "co.,ltd.", "co., ltd.", "co.ltd.", "co.,ltd", "co., ltd", "co.ltd", "co.", "ltd.", "ltd",
    "inc.", "inc", "corp.", "corp", "k.k.", "kk", "gmbh", "l.l.c.", "llc",
]
_COMPANY_RE = re.compile(
    "|".join(
        rf"\b{re.escape(form)}\b" if form.isascii() and form.isalpha() else re.escape(form)
        for form in sorted(_COMPANY_FORMS, key=len, reverse=True)
    )
)


def _clean(s: str) -> str:
    s = unicodedata.normalize("NFKC", s).translate(_EXTRA)
    if _DASH_RE.search(s):
        s = _KANA_BEFORE_RE.sub("\ue000", s)
        s = _DASH_RE.sub("-", s).replace("\ue000", "ー")
    s = _SPACE_RE.sub(" ", s)
    return s.strip()


@lru_cache(maxsize=65536)
def _normalize_cached(s: str) -> str:
    return _clean(s)


def normalize_text(s: str | None) -> str:
    """The cleaned form of one cell ("" for None). Idempotent."""
    if s is None:
        return ""
    if not isinstance(s, str):
        s = str(s)
    if s.isascii():
        # NFKC changes nothing in ASCII; only spaces need work.
        if "  " in s or "\t" in s or "\n" in s or "\r" in s or s[:1] == " " or s[-1:] == " ":
            return _SPACE_RE.sub(" ", s).strip()
        return s
    if len(s) > 200:
        return _clean(s)
    return _normalize_cached(s)


DEVICE_KEY_MAX = 100


def device_key(number: str | None) -> str:
    """The key a device number is matched on, in the ledger and in lendings and failures
    alike: :func:`normalize_text` (NFKC, one dash, single spaces) then case-folded, so
    ``ｍｅ000513``, ``me000513`` and ``ME000513`` are one device. The ledger keeps the
    hospital's spelling for display (``Equipment.device_number``)."""
    return normalize_text(number).casefold()[:DEVICE_KEY_MAX]


MODEL_KEY_MAX = 100


def model_key(number: str | None) -> str | None:
    """The key a model number (型番) is compared on across hospitals: :func:`match_key`
    (width, case, spaces, dashes and punctuation folded), so ``TE-281A``, ``ＴＥ２８１Ａ`` and
    ``te 281a`` are one model. None when blank (nothing to compare). Which keys are
    distinctive enough to be evidence is decided where they are compared
    (app/services/classifications/evidence.py), not here: the stored key is the plain one."""
    key = match_key(number)[:MODEL_KEY_MAX]
    return key or None


def _hira_to_kata(s: str) -> str:
    return "".join(chr(ord(c) + 0x60) if "\u3041" <= c <= "\u3096" else c for c in s)


@lru_cache(maxsize=65536)
def match_key(s: str | None) -> str:
    """A comparison key: the same for spellings of one name (width, long vowel, small kana,
    hiragana/katakana, case, spaces, punctuation). Brackets are kept (they matter to
    :func:`base_key`)."""
    s = normalize_text(s).lower()
    s = _hira_to_kata(s).translate(_SMALL_KANA)
    return _NOISE_RE.sub("", s)


def base_key(s: str | None) -> str:
    """``match_key`` without bracketed qualifiers: 輸液ポンプ（大型） → 輸液ポンプ."""
    stripped = _PAREN_RE.sub("", normalize_text(s))
    return match_key(stripped) or match_key(s)


@lru_cache(maxsize=16384)
def maker_key(raw: str | None) -> str:
    """The key of a maker spelling, without company forms: ＧＥヘルスケア・ジャパン㈱,
    GEヘルスケア・ジャパン(株) and "GE ヘルスケア ジャパン 株式会社" give one key."""
    s = normalize_text(raw).lower()
    s = _COMPANY_RE.sub(" ", s)
    key = match_key(s)
    return key or match_key(raw)


@lru_cache(maxsize=16384)
def base_key_breaks(s: str | None) -> frozenset[int]:
    """Positions in :func:`base_key` ``(s)`` where the written name had a space or punctuation
    between two kept characters (the key drops them): ``EVIS X1`` → ``{4}`` (``evis|x1``),
    ``CADD-Solis`` → ``{4}``. Lets a short ASCII word be told from a longer one it is glued to."""
    text = normalize_text(s)
    stripped = _PAREN_RE.sub("", text)
    if not match_key(stripped):
        stripped = text
    breaks: set[int] = set()
    length = 0
    pending = False
    for ch in stripped:
        if match_key(ch):
            if pending and length:
                breaks.add(length)
            length += 1
            pending = False
        else:
            pending = True
    if length != len(base_key(s)):
        return frozenset()  # a character whose key is not one character: no breaks known
    return frozenset(breaks)


# A cell starting with one of these is read as a formula by spreadsheet programs.
FORMULA_START = ("=", "+", "@", "\t", "\r")


# A negative number, which a spreadsheet reads as the number it is (-5, -1,234.5, -12%).
NEGATIVE_NUMBER = re.compile(r"-\d[\d,]*(?:\.\d+)?%?")


def looks_like_formula(text: str) -> bool:
    """Whether a spreadsheet would take ``text`` for a formula. ``-`` starts one unless the
    whole text is a negative number: ``-2+3+cmd|' /C calc'!A0`` starts with a digit too and is
    still a formula (a DDE call in Excel)."""
    if text.startswith(FORMULA_START):
        return True
    return text.startswith("-") and len(text) > 1 and NEGATIVE_NUMBER.fullmatch(text) is None


def escape_formula(text: str) -> str:
    """``text`` as a CSV cell that a spreadsheet shows as text, not as a formula's result."""
    return "'" + text if looks_like_formula(text) else text


def unescape_formula(text: str) -> str:
    """The inverse of :func:`escape_formula`, so our own CSV exports read back as they were
    written (a leading apostrophe is only the spreadsheet's "this is text" mark)."""
    return text[1:] if text.startswith("'") and looks_like_formula(text[1:]) else text
