"""The device lexicon: what Japanese hospitals call a kind of device → the SMDS master class(es).

``lexicon.csv`` (next to this module, UTF-8, reviewed by people) has one row per term:

- ``term``: a word hospitals write (JMDN generic name, abbreviation, English or katakana
  name, department jargon, a product family everyone knows);
- ``masters``: the SMDS master name(s) it belongs to, ``|``-separated, most likely first;
- ``confirm``: ``y`` when even a name that is exactly the term must be confirmed by a person
  (the class is right but debatable, e.g. a laboratory section for an analyzer); ``whole``
  when, besides, the term counts only as a whole name: an umbrella word (モニタ, 測定器,
  付属品) names a class on its own (or with a group word: モニター類) but says nothing as
  part of a longer name (輸液ポンプ付属品 is an infusion pump's accessory, not "other");
- ``note``: why, for the reviewer.

:func:`lexicon_matches` finds the terms inside a normalized name. The master names are terms
too (of their own class), so a term inside a longer master name, or a master name inside a
longer term, loses to the longer one ("longest match wins"). A term that ends the name is
its head (a Japanese compound's last part says what the thing is: 小児用カプノメータ is a
capnometer), so it counts more than one at the start. A term followed by a model number
(LOGIQ P5j) is such a head, still confirmed by a person (a product family is not a class).
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from app.core.normalize import match_key, normalize_text

LEXICON_CSV = Path(__file__).resolve().with_name("lexicon.csv")
MASTER_CSV = Path(__file__).resolve().parents[3] / "seeds" / "smds_classification_master.csv"

# A name that is the term (after normalization) of one class: offered to "accept all".
WHOLE = 93.0
# A name that is a term of several classes, or a term marked ``confirm``: first, but asked.
WHOLE_CONFIRM = 88.0
# The term is part of the name: at its end (the head) or elsewhere; more cover, more score.
HEAD_BASE, HEAD_SPAN = 80.0, 9.0
PART_BASE, PART_SPAN = 70.0, 10.0
# Each later master of a row ranks just below the one before it.
LATER_MASTER_STEP = 0.5
# Raised for a class that two terms of one name both name (lexicon_matches).
AGREEING_WORDS = 1.0

# What may follow a term and leave it the head: generic words for "device" and model numbers
# (輸液ポンプ本体, カプノメータ装置, 心電計FX-7542).
_GENERIC_TAIL_RE = re.compile(
    "^(?:" + "|".join(sorted({re.escape(match_key(w)) for w in (
        "装置", "器具", "機器", "器", "機", "システム", "ユニット", "セット", "本体", "一式",
        "類", "関連", "等", "用", "駆動装置", "制御装置", "コンソール", "モジュール",
        # parts and accessories hospitals file with the device (電気メスジェネレータ,
        # 内視鏡システム周辺機器, 輸液ポンプ付属品)
        "ジェネレータ", "コントローラ", "プロセッサ", "ドライブユニット", "設備", "付属品",
        "附属品", "周辺機器", "部品", "アクセサリ", "バッテリ",
        # what a device that measures or analyses the term's quantity is called
        # (ACT測定装置, HbA1c分析装置, ABI/PWV測定装置, 呼気NO測定器)
        "測定装置", "測定器", "測定機", "計測装置", "分析装置", "自動分析装置", "分析器", "分析計",
        "検査装置", "解析装置", "解析システム",
    )}, key=len, reverse=True)) + r"|[a-z0-9])*$"
)
# Words that make a name a group of what it says (モニター類, 測定器等): an umbrella word
# (``whole``) followed by one is still the whole name.
_GROUP_SUFFIXES = frozenset({"類", "等", "一式", "全般", "類一式", "等一式"})  # モニタ類一式
_ASCII_LETTER = re.compile(r"[a-z]")
_ASCII_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
_MODEL_RE = re.compile(r"[a-z0-9]*[0-9][a-z0-9]*")


def is_model_tail(key: str, end: int, breaks: frozenset[int] = frozenset()) -> bool:
    """Whether ``key[end:]`` is only a model number (letters and digits, at least one digit)
    that the written name set apart from the word before it: by a space or hyphen, or by
    following a Japanese word (輸液ポンプ TE-161S, シリンジポンプTE-351). After a master
    name it says what the name says, as a bracketed model does."""
    tail = key[end:]
    return (0 < end < len(key) and _MODEL_RE.fullmatch(tail) is not None
            and (end in breaks or not key[end - 1].isascii()))
# An ASCII term this short (or a term that starts or ends with an ASCII word this short:
# IBPモニタ) must stand alone among letters; a longer one (a product family:
# logiq, servo) may be glued to a model (LOGIQ P5j → logiqp5j, since keys drop spaces).
# "Alone" is read from the written name: a space, hyphen or slash there separates words
# that the key glues (EVIS X1 → evisx1, CADD-Solis → caddsolis, ABI/PWV → abipwv).
SHORT_ASCII = 4


# Master names too broad to be a head on their own: a term elsewhere in the name says more
# (IABP用ポンプ is an IABP, 術野用カメラ a 術野カメラ).
GENERIC_MASTERS = frozenset(match_key(name) for name in ("ポンプ", "カメラ", "その他", "一般", "血液", "緊急"))


class LexiconError(ValueError):
    """A lexicon row names no master class, or a master class that does not exist."""


@dataclass(frozen=True)
class Term:
    key: str
    masters: tuple[str, ...]  # master match keys, most likely first
    confirm: bool
    implicit: bool  # a master name itself
    whole_only: bool = False  # an umbrella word: only a name that is exactly the term


@dataclass(frozen=True)
class Lexicon:
    terms: dict[str, Term]
    by_first_char: dict[str, tuple[Term, ...]]


def master_names(path: Path = MASTER_CSV) -> list[str]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return [row[1].strip() for row in csv.reader(handle) if row and row[0].strip().isdigit()]


def read_rows(path: Path = LEXICON_CSV) -> list[dict[str, str]]:
    """The rows of the lexicon file; lines whose term starts with ``#`` are section headings.
    (utf-8-sig: a file saved again by a spreadsheet program starts with a BOM.)"""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        if not {"term", "masters"} <= set(reader.fieldnames or ()):
            raise LexiconError(f"{path.name}: the header must name the columns term and masters")
        return [row for row in reader if (row.get("term") or "").strip()
                and not row["term"].lstrip().startswith("#")]


def build(rows: list[dict[str, str]], masters: list[str]) -> Lexicon:
    """The lexicon of ``rows`` checked against ``masters`` (names as in the master CSV)."""
    by_key = {match_key(name): name for name in masters}
    terms: dict[str, Term] = {key: Term(key, (key,), False, True) for key in by_key}
    problems = []
    for number, row in enumerate(rows, start=2):
        key = match_key(row["term"])
        names = [normalize_text(n) for n in (row.get("masters") or "").split("|") if n.strip()]
        keys = tuple(match_key(n) for n in names)
        unknown = [n for n, k in zip(names, keys, strict=True) if k not in by_key]
        if len(key) < 2 or not keys or unknown:
            problems.append(f"line {number} {row['term']!r}: "
                            + (f"unknown master {unknown}" if unknown else "term or masters empty/too short"))
            continue
        if key in terms:
            if terms[key].implicit and keys == (key,):
                continue  # the master name listed as its own term: nothing to add
            problems.append(f"line {number} {row['term']!r}: listed twice (or is a master name)")
            continue
        confirm = (row.get("confirm") or "").strip().lower()
        terms[key] = Term(key, keys, confirm in ("y", "yes", "1", "whole"), False, confirm == "whole")
    if problems:
        raise LexiconError("lexicon.csv: " + "; ".join(problems))
    first: dict[str, list[Term]] = {}
    for term in terms.values():
        first.setdefault(term.key[0], []).append(term)
    return Lexicon(terms, {ch: tuple(ts) for ch, ts in first.items()})


@lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    """The lexicon file, loaded and checked once per process."""
    return build(read_rows(), master_names())


def term_masters(key: str) -> tuple[str, ...]:
    """The master keys of the lexicon term that a normalized name is exactly (not a master
    name itself); empty when it is none."""
    term = lexicon().terms.get(key)
    return term.masters if term is not None and not term.implicit else ()


@lru_cache(maxsize=8192)
def _ascii_edges(term_key: str) -> tuple[int, int]:
    """Lengths of the ASCII letters/digits that start and end a term (IBPモニタ → (3, 0))."""
    lead = len(term_key) - len(term_key.lstrip(_ASCII_ALNUM))
    trail = len(term_key) - len(term_key.rstrip(_ASCII_ALNUM))
    return lead, trail


def _occurrences(key: str, lex: Lexicon, breaks: frozenset[int] = frozenset()) -> list[tuple[int, int, Term]]:
    found = []
    for start, ch in enumerate(key):
        for term in lex.by_first_char.get(ch, ()):
            end = start + len(term.key)
            if not key.startswith(term.key, start):
                continue
            if term.whole_only and (start or (end < len(key) and key[end:] not in _GROUP_SUFFIXES)):
                continue
            lead, trail = _ascii_edges(term.key)
            if (0 < lead <= SHORT_ASCII and start and start not in breaks
                    and _ASCII_LETTER.match(key[start - 1])) or (
                    0 < trail <= SHORT_ASCII and end < len(key) and end not in breaks
                    and _ASCII_LETTER.match(key[end])):
                continue  # "ct" inside "ctg", "cr" inside "crrt", "ibpモニタ" inside "nibpモニタ"
            found.append((start, end, term))
    # Longest match wins: drop an occurrence inside a longer one.
    return [(s, e, t) for s, e, t in found
            if not any(s2 <= s and e <= e2 and e2 - s2 > e - s for s2, e2, _ in found)]


def _is_umbrella(key: str) -> bool:
    term = lexicon().terms.get(key)
    return term is not None and term.whole_only


@lru_cache(maxsize=16384)
def lexicon_matches(key: str, breaks: frozenset[int] = frozenset()) -> tuple[dict[str, float], frozenset[str]]:
    """``({master key: score}, surviving master-name keys)`` for a normalized (bracket-free)
    name; ``breaks``: positions where the written name separated words
    (:func:`app.core.normalize.base_key_breaks`). Scores come from explicit lexicon terms only;
    the second item lists the master names that occur in the name and were not swallowed by
    a longer term (their own fuzzy score stands).

    A term that refines the head names the device more precisely than the head, so it scores
    as the head, covering both: a term before the head whose class is a kind of what the head
    says (胸腔ドレナージ用吸引器: 低圧持続吸引器 is a 吸引器; トランジットタイム血流計:
    超音波血流計 is a 血流計), or a term that overlaps the head from before, its qualifier
    included, and picks one of the head's classes (観血式血圧|モニタ over 血圧モニタ: 血圧監視装置,
    not 自動血圧計; 関節鏡用灌流|ポンプ over 灌流ポンプ: 関節鏡イリゲーション). 電動手術|台 over
    手術台 is no such case: the classes differ, the head stands."""
    if not key:
        return {}, frozenset()
    scores: dict[str, float] = {}
    naming: dict[str, int] = {}  # master → how many of the name's terms name it
    found = _occurrences(key, lexicon(), breaks)
    heads = [(start, end, term) for start, end, term in found
             if end == len(key) or _GENERIC_TAIL_RE.match(key[end:]) is not None]
    # A term that refines the head: occurrence index → (head word, length the two cover).
    refines: dict[int, tuple[str, int]] = {}
    for index, (start, end, term) in enumerate(found):
        if term.implicit:
            continue
        for head_start, head_end, head in heads:
            if head_start >= end and any(m != head.key and m.endswith(head.key) for m in term.masters):
                refines[index] = (head.key, len(term.key) + len(head.key))  # a kind of the head
            elif start < head_start < end < head_end and (
                    set(term.masters) & set(head.masters) or _is_umbrella(key[end:head_end])):
                # overlaps the head from before and picks one of its readings, or is followed
                # by an umbrella word only (脳酸素|モニタ over 酸素モニタ: what the monitor watches)
                refines[index] = (head.key, head_end - start)
    named = {term.key for _, _, term in found if term.implicit and term.key not in GENERIC_MASTERS}
    named -= {head_key for head_key, _ in refines.values()}  # the head follows what refines it
    for index, (start, end, term) in enumerate(found):
        if term.implicit:
            continue
        if start == 0 and end == len(key):
            base = WHOLE_CONFIRM if term.confirm or len(term.masters) > 1 else WHOLE
        else:
            cover = len(term.key) / len(key)
            head = _GENERIC_TAIL_RE.match(key[end:]) is not None
            base = HEAD_BASE + HEAD_SPAN * cover if head else PART_BASE + PART_SPAN * cover
            if index in refines:
                cover = min(refines[index][1] / len(key), 1.0)
                base = max(base, HEAD_BASE + HEAD_SPAN * cover)
            base = min(base, WHOLE_CONFIRM + 1.0)
        # A class the name also spells out goes first (電気メス用バイポーラ → 電気メス), and a
        # kind of the head before the others.
        head_key = refines[index][0] if index in refines else None
        masters = sorted(term.masters, key=lambda master: (
            not (head_key and master.endswith(head_key)), master not in named))
        for rank, master in enumerate(masters):
            score = base - LATER_MASTER_STEP * rank
            if score > scores.get(master, 0.0):
                scores[master] = score
            naming[master] = naming.get(master, 0) + 1
    # A class that two words of the name point to (血ガス・電解質: both say 血液ガス分析装置)
    # is likelier than one the head alone names; still a partial match, still confirmed.
    for master, words in naming.items():
        if words > 1 and scores[master] < WHOLE_CONFIRM:
            scores[master] = min(scores[master] + AGREEING_WORDS, WHOLE_CONFIRM + 1.0)
    return scores, frozenset(named)
