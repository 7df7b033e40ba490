"""Small general rules of :func:`app.services.classifications.suggest.suggest` (kept apart so
that module stays readable); each is pure and works on normalized keys.

- :func:`device_word_dropped`: a name that is a master name without its generic device word
  (移動型Ｘ線ＴＶ for 移動型Ｘ線ＴＶ装置, 除細動 for 除細動器) names that class.
- :func:`qualifier_term_scores`: a bracketed qualifier in kana or letters that is a lexicon
  term on its own, a brand or abbreviation (排液吸引システム（ネプチューン）, Nerve Monitor
  (NIM)), says which class the name is, often more precisely than the words outside it.
- :func:`parent_tie_break`: when a name's best classes are nearly tied (a term of two classes:
  カメラヘッド is a カメラ or an 内視鏡用ビデオカメラ), the one that shares a device word with
  the parent classification (内視鏡 in 内視鏡外科) goes first.
"""
from __future__ import annotations

import re
from functools import lru_cache

from app.core.normalize import match_key, normalize_text
from app.services.classifications.lexicon import lexicon

# Generic words that end device names; dropping one leaves what the device is.
DEVICE_WORDS = tuple(match_key(word) for word in ("装置", "器", "機"))
# Shorter remainders (送信, 麻酔) are words, not names of a device.
MIN_REMAINDER = 3
# A name that is a master name without its device word: a lexicon term would be (WHOLE),
# confirmed when the name is also a lexicon term of other classes.
DEVICE_WORD_DROPPED = 93.0
DEVICE_WORD_DROPPED_TERM = 88.0
# A bracketed qualifier that is a lexicon term: offered first over a guess from the words
# outside the brackets (a partial lexicon match, < 86), never auto-accepted.
QUALIFIER_TERM = 86.0
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
    return {name_base + word: DEVICE_WORD_DROPPED_TERM
            if other_class and name_base + word not in term.masters else DEVICE_WORD_DROPPED
            for word in DEVICE_WORDS}


@lru_cache(maxsize=8192)
def qualifier_term_scores(name: str) -> tuple[tuple[str, float], ...]:
    """``(master key, score)`` of the lexicon terms that a bracketed qualifier of ``name`` is
    exactly (not master names: those are read by the suggester's qualifier rules)."""
    terms = lexicon().terms
    found: dict[str, float] = {}
    for inner in _QUALIFIER_RE.findall(normalize_text(name)):
        if _KANJI_RE.search(inner):
            continue  # a device word (録画装置（内視鏡）: the suggester's qualifier rules read it)
        term = terms.get(match_key(inner))
        if term is None or term.implicit or term.whole_only:
            continue
        for rank, master in enumerate(term.masters):
            found[master] = max(found.get(master, 0.0), QUALIFIER_TERM - 0.5 * rank)
    return tuple(found.items())


def _shares_word(key: str, parent_key: str) -> bool:
    """Whether a class shares a device word (a lexicon term or master name such as 内視鏡,
    超音波; not 医療用) with the parent."""
    terms = lexicon().terms
    return any(key[i:j] in terms and key[i:j] in parent_key
               for i in range(len(key)) for j in range(i + SHARED_WORD, len(key) + 1))


def _parents_own(key: str, parent_key: str) -> bool:
    return key in parent_key  # 人工呼吸器 under 人工呼吸器, 医療用消毒器 under 医療用消毒器類


def parent_tie_break(scored: list[tuple[int, float]], keys: list[str], parent_key: str,
                     ceiling: float) -> list[tuple[int, float]]:
    """``scored`` (aligned with the candidates' ``keys``) with the classes nearly tied for
    first (:data:`NEAR_TIE`, all below ``ceiling``: a tie among auto-accepted scores stays
    as it is) raised a little when they share a word with the parent; unchanged otherwise,
    and when the parent's own class is in the tie (NPPV under 人工呼吸器: the parent is one
    of the readings, it breaks nothing; 高圧蒸気滅菌器 under 医療用消毒器: a JMDN category
    as parent says less than the child)."""
    best = max((score for _, score in scored), default=0.0)
    if not parent_key or best >= ceiling:
        return scored
    near = [i for i, (_, score) in enumerate(scored) if score >= best - NEAR_TIE]
    if len(near) < 2 or any(_parents_own(keys[i], parent_key) for i in near):
        return scored
    sharing = {i for i in near if _shares_word(keys[i], parent_key)}
    if not sharing or len(sharing) == len(near):
        return scored
    raised = list(scored)
    for i in sharing:
        cid, score = scored[i]
        raised[i] = (cid, round(min(score + TIE_BONUS, best + TIE_BONUS / 2, ceiling - 0.1), 1))
    return raised
