"""Small general rules of :func:`app.services.classifications.suggest.suggest` (kept apart so
that module stays readable); each is pure and works on normalized keys.

- :func:`device_word_dropped`: a name that is a master name without its generic device word
  (移動型Ｘ線ＴＶ for 移動型Ｘ線ＴＶ装置, 除細動 for 除細動器) names that class; a group
  (呼吸器類) names the master's group of it (呼吸器関連).
- :func:`qualifier_term_scores`: a bracketed qualifier in kana or letters that is a lexicon
  term on its own, a brand or abbreviation (排液吸引システム（ネプチューン）, Nerve Monitor
  (NIM)), says which class the name is, often more precisely than the words outside it.
- :func:`location_stripped`: a name that starts with where the device is (手術部_電気メス,
  ICU_人工呼吸器) is ranked as the words after it: the place says nothing of the device; so is
  one after a code or mark of the export's own (:func:`code_stripped`: 01_輸液ポンプ, ※除細動器).
- :func:`with_aliases`: such a name, or one written only in kana (ﾎｲｸｷ: what it reads as,
  :func:`~app.services.classifications.readings.kana_alias`) or in romaji (yueki pump:
  :func:`~app.services.classifications.romaji.romaji_alias`) or an abbreviation spelled out
  in katakana (ｱｲｴｰﾋﾞｰﾋﾟｰ: IABP, :func:`~app.services.classifications.romaji.spelled_letters_alias`),
  is ranked as written and as its alias, the better score of each class kept; a name that
  lists devices and says little as written (IP・SP, BSM／セントラル) is ranked part by part
  too, the first part first, below the threshold (:func:`_list_ranked`).
- :func:`parent_tie_break`: when a name's best classes are nearly tied (a term of two classes:
  カメラヘッド is a カメラ or an 内視鏡用ビデオカメラ), the one that shares a device word with
  the parent classification (内視鏡 in 内視鏡外科) goes first.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Collection
from functools import lru_cache

from app.core.normalize import base_key, match_key, normalize_text
from app.services.classifications.lexicon import GENERIC_MASTERS, lexicon
from app.services.classifications.readings import kana_alias
from app.services.classifications.romaji import romaji_alias, spelled_letters_alias

# Generic words that end device names; dropping one leaves what the device is.
DEVICE_WORDS = tuple(match_key(word) for word in ("装置", "器", "機"))
# Words that make a name a group of what it says (ｺｷｭｳｷ類: the breathing devices), and the
# one the master's groups end with (モニター関連).
_GROUP_WORDS = ("類", "等", "一式", "全般")
GROUP_MASTER_WORD = match_key("関連")
# Shorter remainders (送信, 麻酔) are words, not names of a device.
MIN_REMAINDER = 3
# A name that is a master name without its device word: a lexicon term would be (WHOLE),
# confirmed when the name is also a lexicon term of other classes.
DEVICE_WORD_DROPPED = 93.0
DEVICE_WORD_DROPPED_TERM = 88.0
# A name that is a master name with another device word (吸引娩出装置 for 吸引娩出器, 〜機 for
# 〜装置): what a fuzzy guess tops out at, so it ranks first, and a person confirms it.
SWAPPABLE_DEVICE_WORDS = tuple(match_key(word) for word in ("装置", "器具", "機器", "器", "機"))
DEVICE_WORD_SWAPPED = 89.0
# A bracketed qualifier that is a lexicon term: offered first over a guess from the words
# outside the brackets (a partial lexicon match, < 86), never auto-accepted.
QUALIFIER_TERM = 86.0
# After an umbrella word the qualifier is the device (モニタ(送信機)): above the umbrella's
# own class (WHOLE_CONFIRM 88), still confirmed.
UMBRELLA_QUALIFIER = 88.5
# A kana-only name read as something (kana_alias). Kana readings have homophones (ﾃﾝｹﾝ: 点検
# or 電顕), so only a name that reads as one specific master name (ﾎｲｸｷ → 保育器; a maker in
# brackets may follow) is offered to "accept all", as a lexicon term would be; anything else it
# reads as (a term, a name read in parts: ｹﾝﾀｲﾚｲｿﾞｳｺ → 検体冷蔵庫, ｿﾉﾀ → その他) is
# confirmed by a person. So is "other" after a location (検査部_その他).
READING_WHOLE, READING_EXACT, READING_PART = 93.0, 97.0, 89.0
# Classes this close to the best are a tie the parent may break, by this much.
NEAR_TIE = 1.0
TIE_BONUS = 0.6
# The length of a shared word (内視鏡, 超音波) that ties a class to the parent.
SHARED_WORD = 3

_KANJI_RE = re.compile(r"[\u3400-\u9fff]")
_QUALIFIER_RE = re.compile(r"[(\[{<【「『〔]([^)\]}>】」』〕]*)[)\]}>】」』〕]")


@lru_cache(maxsize=8192)
def device_word_dropped(name_base: str) -> dict[str, float]:
    """``{master-like key: score}``: ``name_base`` with each device word, the keys a master
    name would have if ``name_base`` is it without its device word (the caller looks its
    candidates up); empty for a short name."""
    if len(name_base) < MIN_REMAINDER:
        return {}
    term = lexicon().terms.get(name_base)
    other_class = term is not None and not term.implicit
    found = {name_base + word: DEVICE_WORD_DROPPED_TERM
             if other_class and name_base + word not in term.masters else DEVICE_WORD_DROPPED
             for word in DEVICE_WORDS}
    found.update(_device_word_swapped(name_base, term))
    # A group (呼吸器類, モニタ等) is what the master calls a group: 呼吸器関連, モニター関連.
    for word in _GROUP_WORDS:
        stem = name_base[:-len(word)]
        if name_base.endswith(word) and len(stem) >= 2:
            group, term = stem + GROUP_MASTER_WORD, lexicon().terms.get(stem)
            # confirmed as its word alone is: an umbrella (モニター類) or a word of several classes
            sure = term is None or term.implicit or term.masters == (group,)
            found[group] = DEVICE_WORD_DROPPED if sure else DEVICE_WORD_DROPPED_TERM
    return found


def _device_word_swapped(name_base: str, term) -> dict[str, float]:
    """The keys ``name_base`` would have with its device word replaced by another one; none
    when the name is a lexicon term or a master name (that says what it is) or what is left
    is too short."""
    word = next((w for w in SWAPPABLE_DEVICE_WORDS if name_base.endswith(w)), None)
    stem = name_base[:-len(word)] if word else ""
    if len(stem) < MIN_REMAINDER or term is not None:
        return {}
    return {stem + other: DEVICE_WORD_SWAPPED for other in DEVICE_WORDS if other != word}


@lru_cache(maxsize=8192)
def qualifier_term_scores(name: str) -> tuple[tuple[tuple[str, float], ...], bool]:
    """``((master key, score), ...)`` of the lexicon terms that a bracketed qualifier of
    ``name`` is exactly: a brand or abbreviation in kana or letters (:data:`QUALIFIER_TERM`; a
    word in kanji is read by the suggester's own qualifier rules), or, after an umbrella word
    (モニタ(送信機); after a generic master name, a kind of it: ポンプ(IABP)), any term or
    master name (:data:`UMBRELLA_QUALIFIER`), as is a term that letters in brackets make when
    put in front (インキュベータ(CO2)); and
    whether such a qualifier said what an umbrella word is (the bare umbrella is then a guess)."""
    terms = lexicon().terms
    text = normalize_text(name)
    base = terms.get(base_key(text))
    umbrella = base is not None and (base.whole_only or base.key in GENERIC_MASTERS)
    found: dict[str, float] = {}
    stripped = _QUALIFIER_RE.sub("", text)
    for inner in _QUALIFIER_RE.findall(text):
        # Letters in brackets are mostly a model or a maker (TE-171), but some go in front of
        # the name to make a term (インキュベータ(CO2) → CO2インキュベータ): offered first, confirmed.
        fused = terms.get(match_key(inner + stripped)) if match_key(inner).isascii() else None
        for rank, master in enumerate(fused.masters if fused is not None else ()):
            found[master] = max(found.get(master, 0.0), UMBRELLA_QUALIFIER - 0.5 * rank)
        term = terms.get(match_key(inner))
        if term is None:
            continue
        if umbrella:
            score = UMBRELLA_QUALIFIER
        elif _KANJI_RE.search(inner) or term.implicit or term.whole_only:
            continue  # a device word (録画装置（内視鏡）: the suggester's qualifier rules read it)
        else:
            score = QUALIFIER_TERM
        for rank, master in enumerate(term.masters):
            if umbrella and base.implicit and not master.endswith(base.key):
                continue  # カメラ（内視鏡ユニット）: a camera of an endoscope, not an endoscope
            found[master] = max(found.get(master, 0.0), score - 0.5 * rank)
    return tuple(found.items()), umbrella and bool(found)


def _shares_word(key: str, parent_key: str) -> bool:
    """Whether a class shares a device word (a lexicon term or master name such as 内視鏡,
    超音波; not 医療用, nor an umbrella word such as モニタ) with the parent."""
    if key in parent_key:
        return False  # part of the parent's name (治療台 under 手術台及び治療台): nothing shared
    terms = lexicon().terms
    return any((term := terms.get(key[i:j])) is not None and not term.whole_only and key[i:j] in parent_key
               for i in range(len(key)) for j in range(i + SHARED_WORD, len(key) + 1))


def _parents_own(key: str, parent_key: str) -> bool:
    """人工呼吸器 under 人工呼吸器 or 人工呼吸器類 (not 治療台 under 手術台及び治療台)."""
    return parent_key.startswith(key) and parent_key[len(key):] in ("", "類", "関連", "等", "一式", "全般")


# A child that ends with one of these names a device of its own (高圧蒸気滅菌器 under
# 医療用消毒器, a JMDN category): its parent's class breaks no tie for it.
_DEVICE_END_RE = re.compile("(?:" + "|".join(match_key(w) for w in (
    "器", "機", "計", "装置", "システム", "ユニット", "台", "灯", "鏡", "庫", "槽", "ポンプ", "モニタ",
    "検査")) + ")$")


def parent_tie_break(scored: list[tuple[int, float]], keys: list[str], parent_key: str,
                     ceiling: float, child_key: str = "") -> list[tuple[int, float]]:
    """``scored`` (aligned with the candidates' ``keys``) with the classes nearly tied for
    first (:data:`NEAR_TIE`, all below ``ceiling``: a tie among auto-accepted scores stays
    as it is) raised a little: the parent's own class when it is in the tie and the child
    (``child_key``) is only a kind or a part (バイポーラ under 電気メス, NPPV under
    人工呼吸器), else the classes that share a device word with the parent (カメラヘッド under
    内視鏡外科); unchanged when the child names a device or test of its own (高圧蒸気滅菌器
    under 医療用消毒器: a JMDN category as parent says less than the child) or nothing is
    shared."""
    best = max((score for _, score in scored), default=0.0)
    if not parent_key or best >= ceiling:
        return scored
    near = [i for i, (_, score) in enumerate(scored) if score >= best - NEAR_TIE]
    if len(near) < 2:
        return scored
    if _DEVICE_END_RE.search(child_key):
        return scored
    own = {i for i in near if _parents_own(keys[i], parent_key)}
    favoured = own or {i for i in near if _shares_word(keys[i], parent_key)}
    if not favoured or len(favoured) == len(near):
        return scored
    raised = list(scored)
    for i in favoured:
        cid, score = scored[i]
        raised[i] = (cid, round(min(score + TIE_BONUS, best + TIE_BONUS / 2, ceiling - 0.1), 1))
    return raised


# A leading location: a department, room or ward (…部, …室, …科, …棟, …センター) or a ward's
# abbreviation, set apart by an underscore.
_LOCATION_RE = re.compile(r"^(?:.{1,12}(?:部|室|科|棟|センター|外来|病棟)"
                          r"|icu|hcu|nicu|gcu|picu|scu|mficu|er|or|me|ce|リハ|リハビリ)$")


def is_location(key: str) -> bool:
    """Whether a (normalized) name is a place: a department, room or ward (検査室, ICU)."""
    return _LOCATION_RE.match(key.strip().lower()) is not None


def location_stripped(name: str) -> str | None:
    """The name without a leading location and its underscore (手術部_電気メス → 電気メス);
    None when it has none."""
    head, sep, rest = normalize_text(name).partition("_")
    if not sep or not rest.strip(" _") or not _LOCATION_RE.match(head.strip().lower()):
        return None
    return rest.strip(" _")


# A leading code or mark of an export's own: a number or letters and a number set apart
# (01_, 1., A01 , ME-01 , No.3 ) or marks (※, ★, ●) that flag a row.
_CODE_RE = re.compile(r"^(?:(?:no\.?\s*)?[a-z]{0,3}-?\d{1,6}[\s_.:\-)]+|[※★☆●○◎◇◆□■▲△▼▽*#＊＃]+\s*)(?=\S)",
                      re.IGNORECASE)


def code_stripped(name: str) -> str | None:
    """The name without a leading code or mark (01_輸液ポンプ → 輸液ポンプ, ※除細動器 →
    除細動器) or a note after ※ (輸液ポンプ※旧型); None when it has none. A number that is
    part of the name (12誘導心電計, 3D 内視鏡) is no code: a code is set apart from the name."""
    text = normalize_text(name).strip()
    rest = _CODE_RE.sub("", text, count=1).strip()
    if rest and rest[0].isdigit():
        rest = text
    rest = rest.split("※")[0].strip() or rest  # a note after ※ (輸液ポンプ※旧型) is no part of the name
    return rest if rest and rest != text else None


def _grouped_kana_alias(name: str) -> tuple[str, bool] | None:
    """A kana name followed by a group word in kanji (ｺｷｭｳｷ類) read as a kana name is, the
    group word kept (呼吸器類); never ``whole``."""
    text = normalize_text(name).strip()
    for word in (*_GROUP_WORDS, GROUP_MASTER_WORD):
        if text.endswith(word) and (alias := kana_alias(text[:-len(word)])) is not None:
            return alias[0] + word, False
    return None


def _romaji(name: str) -> tuple[str, bool] | None:
    """A name in romaji (yueki pump) read as Japanese, or letters spelled in katakana
    (ｱｲｴｰﾋﾞｰﾋﾟｰ) read as the letters (:mod:`~.romaji`), never ``whole``."""
    alias = romaji_alias(name) or spelled_letters_alias(name)
    return (alias, False) if alias is not None else None


# Decorations an export adds to a device name: a count (×3, x2, 2台), 新/旧 (new/old unit) set
# apart, a floor (3F). They say how many or which, not what: the name without them is ranked too.
_DECORATION_TAIL_RE = re.compile(
    r"(?:[\s_\-－―/／]*(?:[×✕＊*]\s*\d{1,3}|\d{1,3}\s*(?:台|個|基|本))|(?<=[^\x00-\x7f])\s*x\s*\d{1,3}"
    r"|[\s_\-－―ー/／・]+(?:新|旧|新型|旧型|新品)|[\s_]+\d{1,2}(?:f|階)[東西南北]?"
    r"|(?<=[\u30a0-\u30ff\u3400-\u9fff])旧型?)$", re.IGNORECASE)
_DECORATION_HEAD_RE = re.compile(r"^(?:新|旧)型?[\s_・:：\-－]+")
# A unit number after the name (心電計 No.2, ２号機) and a last segment set apart that is a place
# (輸液ポンプ ICU, AED 1F玄関, 輸液ポンプ/5西): which unit and where, not what.
_UNIT_TAIL_RE = re.compile(r"(?:[\s_/／]*(?:no\.?\s*\d{1,3}|\d{1,3}\s*号機?)|\s*#\d{1,3})$", re.IGNORECASE)
_PLACE_TAIL_RE = re.compile(r"(?:[\s_/／@＠]+|ー(?=[a-z0-9\u3400-\u9fff]))([^\s_/／@＠]{1,12})$", re.IGNORECASE)
_BARE_PLACES = frozenset(("外来", "病棟", "玄関", "ロビー", "待合"))
_FLOOR_RE = re.compile(r"^\d{1,2}(?:f|階)?[東西南北]?(?:病棟|玄関|ホール|ロビー|外来|廊下)?$", re.IGNORECASE)


def _place_tail_stripped(text: str) -> str:
    found = _PLACE_TAIL_RE.search(text)
    if found is None:
        return text
    segment = found.group(1).strip().lower()
    if is_location(segment) or segment in _BARE_PLACES or (_FLOOR_RE.match(segment) and not segment.isdigit()):
        return text[:found.start()]
    return text
# The name without its decoration is the same device, as a bracket-free name is (97): an
# exact master name behind a count is no exact match itself.
DECORATED = 97.0


def decoration_stripped(name: str) -> str | None:
    """The name without counts, 新/旧, unit numbers, floors and places around it
    (シリンジポンプ×３ → シリンジポンプ, 輸液ポンプ 旧 → 輸液ポンプ, 旧 輸液ポンプ → 輸液ポンプ,
    輸液ポンプ ICU → 輸液ポンプ); None when it has none or nothing
    would be left. In front only a 新/旧 set apart is a decoration (新生児, 新シリンジポンプ: a
    word or a product of its own)."""
    text = normalize_text(name).strip()
    rest = text
    for _ in range(3):
        stripped = _DECORATION_HEAD_RE.sub("", _DECORATION_TAIL_RE.sub("", rest))
        stripped = _place_tail_stripped(_UNIT_TAIL_RE.sub("", stripped)).strip(" _・-")
        if stripped == rest:
            break
        rest = stripped
    return rest if rest != text and len(match_key(rest)) >= 2 else None


_KATAKANA_RE = re.compile(r"[\u30a0-\u30ff]")


@lru_cache(maxsize=1)
def _maker_spellings() -> tuple[str, ...]:
    from app.services.classifications.modifiers import MAKER_NAMES_WRITTEN  # modifiers imports this module
    return tuple(sorted({normalize_text(word).lower() for word in MAKER_NAMES_WRITTEN}, key=len, reverse=True))


def maker_stripped(name: str) -> str | None:
    """The name without a leading maker (ニプロ輸液ポンプ, テルモ シリンジポンプ, JMS製 シリンジポンプ →
    the device); None when it starts with none or the maker runs on into a word (メラサキューム
    is a brand, GEM Premier no GE: a maker in katakana or letters must end where its script does)."""
    text = normalize_text(name).strip()
    lowered = text.lower()
    for spelling in _maker_spellings():
        if not lowered.startswith(spelling):
            continue
        if len(lowered) == len(spelling):
            return None  # only a maker (フクダ電子): modifiers.needs_parent reads it
        after = text[len(spelling)]
        if (spelling[-1].isascii() and spelling[-1].isalnum() and after.isascii() and after.isalnum()) or (
                _KATAKANA_RE.match(spelling[-1]) and _KATAKANA_RE.match(after)):
            continue
        rest = re.sub(r"^(?:社製|製)?[\s_・/:：\-]*", "", text[len(spelling):]).strip()
        return rest if len(match_key(rest)) >= 2 else None
    return None


def with_aliases(name: str, rank: Callable[[str, bool, bool], list[tuple[int, float]]],
                 context_only: Collection[str]) -> list[tuple[int, float]] | None:
    """``name`` ranked as written and as its alias (a location dropped, else what its kana
    read as), best first; None when it has no alias. ``rank(text, aliases, parent)`` ranks a
    text (``aliases``: whether the text's own aliases count too; ``parent``: with the parent
    context); ``context_only``: the keys of names that mean nothing alone (その他). A kana name
    is read with its parent only as its alias: as written it says nothing, and the parent's
    class would outrank what it reads as (ﾃﾝｹﾝｷ under その他 is a 点検器)."""
    rest = location_stripped(name) or code_stripped(name)
    decorated = rest is None and (rest := decoration_stripped(name) or maker_stripped(name)) is not None
    alias = (kana_alias(name) or _grouped_kana_alias(name) or _romaji(name)) if rest is None else None
    if rest is None and alias is None:
        return _list_ranked(name, rank)
    best = dict(rank(name, False, rest is not None))
    if rest is not None:
        cap = READING_PART if base_key(rest) in context_only else DECORATED if decorated else 100.0
        also = [(cid, min(score, cap)) for cid, score in rank(rest, True, True)]
    else:
        whole = alias[1] and match_key(alias[0]) not in GENERIC_MASTERS
        also = [(cid, min(score, READING_WHOLE if whole and score >= READING_EXACT else READING_PART))
                for cid, score in rank(alias[0], False, True)]
    for cid, score in also:
        best[cid] = max(best.get(cid, 0.0), score)
    return sorted(best.items(), key=lambda pair: (-pair[1], pair[0]))


# Separators of a name that lists devices (IP・SP, 輸液／シリンジ); a part in brackets is no list.
_LIST_SPLIT_RE = re.compile(r"[・･/／、,，&＆]")
# Below this the name as written says little: its parts are ranked one by one.
LIST_WEAK = 80.0
# A part of a list is one of several devices: offered, the first part first, never auto-accepted.
LIST_PART, LIST_STEP = 85.0, 0.5


def _list_ranked(name: str, rank: Callable[[str, bool, bool], list[tuple[int, float]]]
                 ) -> list[tuple[int, float]] | None:
    """A name that lists devices (IP・SP) and says little as written: ranked as written and
    as each part (with the parent), a part's classes at most :data:`LIST_PART` (each later part
    :data:`LIST_STEP` lower); None for any other name (the caller ranks it as written)."""
    text = normalize_text(name)
    if not _LIST_SPLIT_RE.search(text) or re.search(r"[()（）\[\]［］]", text):
        return None
    parts = [part.strip() for part in _LIST_SPLIT_RE.split(text) if match_key(part)]
    if len(parts) < 2:
        return None
    best = dict(rank(name, False, True))
    if max(best.values(), default=0.0) >= LIST_WEAK:
        return sorted(best.items(), key=lambda pair: (-pair[1], pair[0]))
    for index, part in enumerate(parts):
        cap = LIST_PART - LIST_STEP * index
        for cid, score in rank(part, True, True):
            best[cid] = max(best.get(cid, 0.0), min(score, cap))
    return sorted(best.items(), key=lambda pair: (-pair[1], pair[0]))
