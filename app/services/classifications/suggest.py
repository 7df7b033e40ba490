"""Ranked suggestions of a common (SMDS) classification for a hospital's classification name.

:func:`suggest` is pure: a name, the candidates ``(id, name)`` and optionally what other
hospitals mapped the same normalized name to, the parent context and what other hospitals map
the same device models to (all gathered by the caller). Scores are 0..100:

- 100: the same name once normalized (width, long vowels, small kana, punctuation);
- 97: the same once a bracketed qualifier is dropped (輸液ポンプ（大型） → 輸液ポンプ) or a
  model number after it (輸液ポンプ TE-161S: :func:`~.lexicon.is_model_tail`), or once a
  qualifier that names the device is put in front as the head of the name
  (ポンプ(輸液) → 輸液ポンプ, ポンプ（シリンジ） → シリンジポンプ);
- 85: the bracket-free name when its qualifier names the device — a word of other master
  names, or a qualifier that put in front makes a lexicon term (ポンプ(輸液) → ポンプ,
  ポンプ(経腸栄養) → ポンプ): offered, never auto-accepted;
- 96..99: the candidate other hospitals chose for this exact normalized name (more votes,
  higher), so an agreed mapping outranks everything but an exact match. Their classification's
  parent matters only for a name whose meaning its parent decides (「その他」, a form word,
  a maker, 「X用」, a bare 顕微鏡, モニター or 本体: :func:`~.modifiers.needs_parent`): 顕微鏡
  under a hospital's 手術部 is a 手術顕微鏡, under 検査部 it is not. For such a name the votes
  of hospitals that had it under another parent (``prior_other_parents``; evidence.py says
  when parents agree) are only offered, at :data:`PRIOR_HELD` 88..89, never auto-accepted, and
  below the class the parent gives when the parent names one (「本体」 under 吸引器) — unless
  the name alone scores their candidate at least :data:`AUTO_ACCEPT_THRESHOLD` (顕微鏡（手術用）).
  Any other name (輸液ポンプ, PCPS, 酸素流量計) is one device under any parent: all votes count;
- domain knowledge, :mod:`app.services.classifications.lexicon` (``lexicon.csv``: what
  hospitals call a kind of device → its master class(es)):
  - 93: the (bracket-free) name is a lexicon term of one class (IABP → 大動脈内バルーンポンプ,
    カプノメータ → ガスモニター, ｸﾍﾞｰｽ → 保育器);
  - 88: it is a term of several classes, or one marked ``confirm`` (エコー, ECMO, 呼吸器);
  - 80..89 when the term is the head (end) of a longer name (ＮＩＣＵ　ベンチレーター,
    IABP駆動装置, ACT測定装置), or refines the head (胸腔ドレナージ用吸引器 → 低圧持続吸引器),
    70..80 when it is elsewhere; the more of the name it covers, the higher;
  the longest term wins (a master name counts as a term: 経腸栄養用輸液ポンプ is the term,
  not 輸液ポンプ or ポンプ), and other fuzzy guesses are held just below the lexicon's;
  a partial match is therefore ranked first but confirmed by a person;
- otherwise a blend of character ratio, partial ratio, token-set ratio and character
  bigram overlap, raised when one name contains the other (除細動器（AED） → 除細動器),
  compressed above :data:`FUZZY_KNEE` to end at :data:`FUZZY_CEILING`
  (:mod:`~app.services.classifications.similarity`) (< 90: a name that
  only contains a master name, 食器洗浄機 or 輸液／シリンジポンプ, is confirmed by a person).

Small general rules live in :mod:`~app.services.classifications.name_rules`: a location prefix
(手術部_電気メス) or a name written in kana (ﾎｲｸｷ, :mod:`~app.services.classifications.readings`)
is ranked as what it says too; a master name without its device word, a brand in brackets and
a device word shared with the parent (a near tie) count as the functions there say. A
placeholder (該当なし, 不明) gets no candidate and a child that is only 「X用」 takes its parent's
device as head (:mod:`~app.services.classifications.modifiers`); the first maker brand of a
name decides its family (:mod:`~app.services.classifications.brands`: ACUSON Freestyle). A part,
consumable or place (ＳｐＯ２プローブ, ダイアライザ, 手術部) is offered, never auto-accepted, and a
parent's weak guess is no context for its children (:mod:`~app.services.classifications.held_rows`).

Screens offer only scores of at least :data:`MIN_SHOWN_SCORE` (:func:`worth_showing`); only
scores of at least :data:`AUTO_ACCEPT_THRESHOLD` are offered to "accept all": exact
and bracket-free names (or a master name and a model number), agreed prior mappings, names
that are a lexicon term and strong model evidence (below).

Parent context (``parent_name``: the hospital's parent classification of a level-2/3 name).
A child is often meaningful only under its parent: a model number (TE-171 under シリンジポンプ),
「成人用」 under 人工呼吸器, 「その他」 under 輸液ポンプ. The parent's own top suggestions are
blended in at :data:`PARENT_WEIGHT`, capped at :data:`PARENT_CEILING` (< 90: a class read from
the parent is offered first, never auto-accepted), and never above the child's own evidence once that is
:data:`CHILD_WEAK` or more (IABP駆動装置 under 補助循環 stays an IABP; the parent's class comes
after it). A child that is only a context word (「その他」「付属品」) under a parent that names a
class (:data:`PARENT_CONFIDENT`) takes the parent's class first. A child that read with its
parent is a term or master name (開放式 under 保育器 → 開放式保育器; :func:`parent_readings`)
takes that class first, at :data:`PARENT_READING` (< 90).

A parent already mapped (``parent_mapped_id``: by a person or automatically) is far stronger
evidence than its name: its mapped class is blended first among the parent-derived classes, at
:data:`PARENT_CEILING` (still below the threshold: a person confirms the children), the
parent's name-based suggestions after it; the child's own evidence ≥ :data:`CHILD_WEAK` still
leads. An unmapped parent is itself ranked with its own parent (``grandparent``: name and
mapped class), so a parent that says little (「その他」, a model number) passes on the
grandparent's class; a parent that names a class keeps its own.

Model evidence (``model_evidence``, :class:`ModelEvidence`): what other hospitals' devices of
the same models (maker + model number) as this classification's devices are mapped to, as
counts only (app/services/classifications/evidence.py gathers them). "The same model is a
生体情報モニター elsewhere" says what the devices are, which a vague name cannot (「その他」, a
model number such as 「BSM-2401」 under a parent). :func:`model_scores.with_models` scores each voted class:

- strong, :data:`MODEL_STRONG` 92..95 (one more per agreeing hospital past the second, at most
  3): at least :data:`MODEL_STRONG_HOSPITALS` (2) other hospitals agree, they are at least
  :data:`MODEL_STRONG_SHARE` (¾) of the hospitals with evidence for this classification, and
  the devices behind the vote are at least ¾ of ALL the classification's devices (not only
  of those with evidence: three BSM-2401 in a 「その他」 of 100 devices say nothing about the
  other 97). Only strong evidence reaches :data:`AUTO_ACCEPT_THRESHOLD`: a wrong automatic
  mapping of a big class is the worst error, and one hospital's choice (or a split class)
  may be a mistake or a local habit;
- otherwise :data:`MODEL_BASE` 85 plus up to 3 for the share of the devices with evidence
  behind the vote and up to 1 for the share of the hospitals that agree: 85..89, offered
  first (above a parent's mapped class, :data:`PARENT_CEILING` 88, when the devices agree;
  below it when they are split), never auto-accepted.

The name's own evidence at or above the threshold (an exact or bracket-free name, an agreed
prior mapping, a lexicon term) still leads: a model class is held just below it. A name that
means nothing alone (:data:`CONTEXT_ONLY_NAMES`: 「その他」「予備機」) is the opposite when most of
its devices (more than half of all) are behind the best model class: that class leads and the
name's own matches (SMDS's own その他) are held below it; three BSM-2401 in a 「その他」 of 100
devices only add the monitor class among the suggestions.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache

from app.core.normalize import base_key, base_key_breaks, match_key
from app.services.classifications.brands import with_brand
from app.services.classifications.held_rows import held_rows, parent_floor
from app.services.classifications.lexicon import is_model_tail, lexicon_matches, term_masters
from app.services.classifications.model_scores import ModelEvidence, with_models
from app.services.classifications.modifiers import (
    held_if_not_medical,
    is_placeholder,
    needs_parent,
    parent_head,
    parent_readings,
    purpose_child,
)
from app.services.classifications.name_rules import (
    device_word_dropped,
    parent_tie_break,
    qualifier_term_scores,
    with_aliases,
)
from app.services.classifications.readings import kana_alias
from app.services.classifications.similarity import (  # noqa: F401 (FUZZY_*, qualifier_heads: part of this module's API)
    FUZZY_CEILING,
    FUZZY_KNEE,
    fuzzy_score,
    qualifier_heads,
    synonym_key,
    token_text,
)

AUTO_ACCEPT_THRESHOLD = 90.0
# Below this a candidate shares a character or two with the name by chance (「▲」, 「TE-171」
# against １２誘導心電計 score 0-15): it is not offered, so a name with nothing better shows none.
MIN_SHOWN_SCORE = 25.0
EXACT = 100.0
BASE_EXACT = 97.0
PRIOR_BASE = 96.0
# Other hospitals' choice for a name that needs its parent, made under another parent:
# offered first among guesses (a person's choice for the same word), confirmed by a person,
# below the parent's own class (the module docstring).
PRIOR_HELD = 89.0
QUALIFIED_BASE = 85.0
# Parent context (see the module docstring).
PARENT_WEIGHT = 0.9
PARENT_CEILING = 88.0
CHILD_WEAK = 70.0
PARENT_CONFIDENT = 85.0
PARENT_TOP = 3  # the parent's suggestions that are blended in
# Child names that mean nothing without their parent: "other" and "accessory" words, also
# as a group or a set (付属品類, 部品一式).
CONTEXT_ONLY_NAMES = frozenset(match_key(word + group) for word in (
    "その他", "その他機器", "その他の機器", "その他医療機器", "その他の医療機器", "付属品", "附属品",
    "周辺機器", "備品", "予備", "予備機", "部品", "消耗品", "アクセサリー", "オプション",
) for group in ("", "類", "一式", "類一式", "等"))


def _names_another_class(fused: str, name_base: str, name_syn: str) -> bool:
    masters = term_masters(fused)
    return bool(masters) and name_base not in masters and name_syn not in masters


@lru_cache(maxsize=8192)
def _lexicon_scores(name_base: str, fused_keys: tuple[str, ...],
                    breaks: frozenset[int] = frozenset()) -> tuple[dict[str, float], frozenset[str]]:
    """Lexicon scores of the bracket-free name (``breaks``: where its written form separated
    words) and of each qualifier-first reading (best per master), and the master names found
    in them."""
    scores, named = lexicon_matches(name_base, breaks)
    if not fused_keys:
        return scores, named
    scores, named = dict(scores), set(named)
    for fused in fused_keys:
        more, more_named = lexicon_matches(fused)
        named |= more_named
        for master, score in more.items():
            scores[master] = max(score, scores.get(master, 0.0))
    return scores, frozenset(named)


def suggest(
    name: str,
    candidates: Iterable[tuple[int, str]] | Mapping[int, str],
    prior_mappings: Mapping[int, int] | None = None,
    limit: int | None = 3,
    parent_name: str | None = None,
    parent_mapped_id: int | None = None,
    grandparent: tuple[str | None, int | None] | None = None,
    model_evidence: ModelEvidence | None = None,
    read_kana: bool = True,
    prior_other_parents: Mapping[int, int] | None = None,
) -> list[tuple[int, float]]:
    """Candidates ranked for ``name``: ``[(candidate_id, score), ...]``, best first.

    ``prior_mappings`` is ``{candidate_id: number of other hospitals}`` that mapped a
    classification with the same normalized name to that candidate under a parent that
    agrees with this one's (evidence.prior_votes; a caller that knows no parents passes all
    votes here); ``prior_other_parents`` the same for the hospitals whose classification sat
    under another parent, which count as much only for a name that does not need its parent
    (module docstring). ``parent_name`` is the
    hospital's parent classification of ``name`` (level 2/3), ``parent_mapped_id`` the SMDS
    class it is mapped to (None: unmapped) and ``grandparent`` the parent's own parent as
    ``(name, mapped id)``; ``model_evidence`` what other hospitals map the same device
    models to (None: no such evidence, the ranking is the name's alone); all used as the
    module docstring says. A kana-only name is also ranked as what it reads as, a name after
    a location as what follows it (:func:`~.name_rules.with_aliases`); ``read_kana=False``
    ranks the name as written only.
    """
    if is_placeholder(name):
        return []  # 該当なし, 不明, 「-」: nothing to offer (modifiers.is_placeholder)
    if read_kana and parent_name and (parent_alias := kana_alias(parent_name)) is not None:
        parent_name = parent_alias[0]  # ｼｭﾄﾞｳ under ｹﾂｱﾂｹｲ: read with 血圧計 (手動式血圧計)
    if read_kana:  # 手術部_電気メス, ﾎｲｸｷ: also ranked as what they say (name_rules.with_aliases)
        context = dict(prior_mappings=prior_mappings, limit=None, parent_name=parent_name,
                       parent_mapped_id=parent_mapped_id, grandparent=grandparent, model_evidence=model_evidence,
                       prior_other_parents=prior_other_parents)
        def rank(text: str, aliases: bool, parent: bool) -> list[tuple[int, float]]:
            return suggest(text, candidates, **(context if parent else dict(context, parent_name=None)),
                           read_kana=aliases)
        ranked = with_aliases(name, rank, CONTEXT_ONLY_NAMES)
        if ranked is not None:
            ranked = held_if_not_medical(name, parent_name, ranked)  # 冷蔵庫（職員用）: confirmed
            ranked = held_rows(name, ranked, candidates)  # ＳｐＯ２プローブ, 手術部
            return ranked[:limit] if limit else ranked
    items = [(cid, cname, match_key(cname)) for cid, cname in
             (candidates.items() if isinstance(candidates, Mapping) else candidates)]
    name_key = match_key(name)
    name_base = base_key(name)
    name_syn = synonym_key(name_base)
    name_tokens = token_text(name)
    breaks = base_key_breaks(name)
    # Qualifiers that name the device (a word other master names use: 輸液, シリンジ) make
    # the bracket-free name a guess, and qualifier + name the likely head.
    # So does one that, put in front, makes a lexicon term of another class (ポンプ(経腸栄養)
    # → 経腸栄養ポンプ, an infusion pump); 人工呼吸器（成人用） stays a ventilator.
    # A two-character qualifier must start a master name to be such a word: a maker in
    # brackets (低圧持続吸引器（メラ）) is no device because カメラ ends with メラ.
    heads = [(q, fused) for q, fused in qualifier_heads(name)
             if any((key.startswith(q) if len(q) < 3 else q in key) and key != name_base
                    for _, _, key in items)
             or _names_another_class(fused, name_base, name_syn)]
    fused_keys = {synonym_key(fused) for _, fused in heads} | {fused for _, fused in heads}
    lex_scores, lex_named = _lexicon_scores(name_base, tuple(sorted(fused_keys)), breaks)
    qualifier_terms, umbrella = qualifier_term_scores(name)  # a brand in brackets: (ネプチューン)
    if qualifier_terms:
        lex_scores = dict(lex_scores)
        for key, score in qualifier_terms:
            lex_scores[key] = max(score, lex_scores.get(key, 0.0))
    lex_scores = with_brand(lex_scores, name)  # ACUSON Freestyle: the first brand decides
    if lex_scores:
        # Only classes among the candidates count (a caller may rank a subset).
        present = {key for _, _, key in items}
        lex_scores = {key: score for key, score in lex_scores.items() if key in present}
    # A lexicon term ranks its class(es) first: other fuzzy guesses stay below it, unless
    # their own master name occurs in the name beside the term (it was not swallowed).
    lex_ceiling = max(lex_scores.values(), default=0.0) - 1.0
    dropped = device_word_dropped(name_base)
    # 「内視鏡用」 under 吸引器: the parent's device is the head (modifiers.purpose_child); other
    # hospitals chose for the same words under other parents, so their choice says nothing.
    purpose = bool(parent_name) and purpose_child(name_base, base_key(parent_name))
    context_only = purpose or name_base in CONTEXT_ONLY_NAMES
    prior = {} if purpose else prior_mappings or {}
    elsewhere = {} if purpose else prior_other_parents or {}
    # 顕微鏡, その他, ポータブル: what it is depends on the parent, so a choice made under
    # another parent is only offered (module docstring); any other name is the same anywhere.
    parent_bound = context_only or needs_parent(name_base)
    top_votes = max((prior.get(cid, 0) + elsewhere.get(cid, 0) for cid in {*prior, *elsewhere}), default=0)
    held: dict[int, float] = {}
    scored = []
    for cid, cname, cand_key in items:
        if cand_key and cand_key == name_key:
            score = EXACT
        elif cand_key and cand_key in fused_keys:
            score = BASE_EXACT
        elif cand_key and cand_key in (name_base, name_syn):
            score = QUALIFIED_BASE if heads or umbrella else BASE_EXACT  # ポンプ(IABP): not a ポンプ
        elif cand_key and name_base.startswith(cand_key) and is_model_tail(name_base, len(cand_key), breaks):
            score = QUALIFIED_BASE if heads else BASE_EXACT  # 輸液ポンプ TE-161S: the model, unbracketed
        else:
            score = fuzzy_score(name_key, name_base, name_tokens, cand_key, token_text(cname))
            if name_syn != name_base:
                score = max(score, fuzzy_score(name_key, name_syn, name_tokens, cand_key, token_text(cname)))
            for fused in fused_keys:
                score = max(score, fuzzy_score(name_key, fused, name_tokens, cand_key, token_text(cname)))
            if heads:
                score = min(score, QUALIFIED_BASE)
            if lex_scores and cand_key not in lex_scores and cand_key not in lex_named:
                score = min(score, lex_ceiling)
            if cand_key in dropped:  # 除細動 → 除細動器
                score = max(score, dropped[cand_key])
        if cand_key in lex_scores:
            score = max(score, lex_scores[cand_key])
        votes, other_parents = prior.get(cid, 0), elsewhere.get(cid, 0)
        if other_parents and (not parent_bound or score >= AUTO_ACCEPT_THRESHOLD):
            votes, other_parents = votes + other_parents, 0  # one device under any parent
        if votes and score < EXACT:
            # The most chosen prior gets the most weight; a minority choice still ranks high.
            share = votes / top_votes
            score = max(score, PRIOR_BASE + min(votes, 3) - (1.0 if share < 1 else 0.0))
        elif other_parents:  # chosen under another parent for a name that needs one: after the parent
            held[cid] = PRIOR_HELD - (1.0 if other_parents < top_votes else 0.0)
        scored.append((cid, round(score, 1)))
    if parent_name:  # a near tie: the class that shares a word with the parent first
        scored = parent_tie_break(scored, [key for _, _, key in items], base_key(parent_name),
                                  AUTO_ACCEPT_THRESHOLD, name_base)
    readings = dict(parent_readings(name_base, base_key(parent_name))) if parent_name else {}
    if purpose:  # 胸腔ドレーン用 under 吸引器: a kind of the parent's device keeps the child's score
        head = parent_head(base_key(parent_name))
        readings.update({key: max(score, readings.get(key, 0.0))
                         for (_, score), (_, _, key) in zip(scored, items, strict=True) if key.endswith(head)})
    if readings and name_base not in CONTEXT_ONLY_NAMES and not purpose:
        scored = _with_readings(scored, items, readings)
    mapped_id = parent_mapped_id if any(cid == parent_mapped_id for cid, _, _ in items) else None
    if mapped_id is not None or (parent_name and match_key(parent_name)):
        # The parent's own top suggestions (cached: a screen ranks the parent's row too),
        # ranked with the grandparent as the parent's context. Arguments as screen 7 passes
        # them (the first seven), so this shares the cache entry of the parent's own row (when
        # no other hospital mapped its name and no model evidence is behind it).
        parent_top: tuple[tuple[int, float], ...] = ()
        if parent_name and match_key(parent_name):
            pairs = candidates if isinstance(candidates, tuple) else tuple((cid, cname) for cid, cname, _ in items)
            grand_name, grand_mapped = grandparent if grandparent and mapped_id is None else (None, None)
            parent_top = parent_floor(parent_name, suggest_cached(  # a weak guess is no context (held_rows)
                parent_name, pairs, (), PARENT_TOP, grand_name, grand_mapped, None))
        from_parent = _from_parent(parent_top, mapped_id)
        scored = _with_parent(scored, from_parent, context_only)
        if held and max(from_parent.values(), default=0.0) >= PARENT_CONFIDENT * PARENT_WEIGHT:
            # The parent names a class: what other hospitals chose under other parents follows it.
            held = {cid: min(score, max(from_parent.values()) - 1.0) for cid, score in held.items()}
    if held:
        scored = [(cid, max(score, held.get(cid, 0.0))) for cid, score in scored]
    if readings and purpose:  # 輸液用 under ポンプ類: read with the parent, above the parent alone
        scored = _with_readings(scored, items, readings)
    if model_evidence is not None and model_evidence.votes:
        scored = with_models(scored, model_evidence, context_only)
    scored = held_if_not_medical(name, parent_name, scored)
    scored = held_rows(name, scored, items)  # a part or a place: confirmed (held_rows)
    scored.sort(key=lambda pair: (-pair[1], pair[0]))
    return scored[:limit] if limit else scored


def worth_showing(ranked: Iterable[tuple[int, float]]) -> list[tuple[int, float]]:
    """The suggestions a person is shown: those of at least :data:`MIN_SHOWN_SCORE`."""
    return [(cid, score) for cid, score in ranked if score >= MIN_SHOWN_SCORE]


def _with_readings(scored: list[tuple[int, float]], items: list[tuple[int, str, str]],
                   readings: Mapping[str, float]) -> list[tuple[int, float]]:
    return [(cid, max(score, readings.get(key, 0.0))) for (cid, score), (_, _, key) in zip(scored, items, strict=True)]


def _from_parent(parent_top: Iterable[tuple[int, float]], parent_mapped_id: int | None) -> dict[int, float]:
    """``{class: score}`` the parent gives a child: its top suggestions weighted, its mapped class
    first (module docstring)."""
    from_parent = {cid: min(score * PARENT_WEIGHT, PARENT_CEILING) for cid, score in parent_top}
    if parent_mapped_id is not None:
        # What the parent is mapped to outranks what its name suggests.
        from_parent = {cid: min(score, PARENT_CEILING - 1.0) for cid, score in from_parent.items()}
        from_parent[parent_mapped_id] = PARENT_CEILING
    return from_parent


def _with_parent(scored: list[tuple[int, float]], from_parent: Mapping[int, float],
                 context_only: bool) -> list[tuple[int, float]]:
    """The child's scores with the parent's (:func:`_from_parent`) blended in (module docstring)."""
    if not from_parent:
        return scored
    parent_best = max(from_parent.values())
    if context_only and parent_best >= PARENT_CONFIDENT * PARENT_WEIGHT:
        # 「その他」 under 輸液ポンプ: the parent says what it is; the child's own (often an
        # exact match to the master's その他) follows it.
        scored = [(cid, round(min(score, parent_best - 1.0), 1)) for cid, score in scored]
    else:
        child_best = max((score for _, score in scored), default=0.0)
        if child_best >= CHILD_WEAK:
            # The child's own evidence leads; the parent only fills the places below it.
            from_parent = {cid: min(score, child_best - 1.0) for cid, score in from_parent.items()}
    return [(cid, round(from_parent[cid], 1)) if from_parent.get(cid, 0.0) > score else (cid, score)
            for cid, score in scored]


def exact_match(name: str, candidates_by_key: Mapping[str, int]) -> int | None:
    """The candidate whose normalized name equals ``name``'s (the automatic mapping)."""
    return candidates_by_key.get(match_key(name))


@lru_cache(maxsize=32768)
def suggest_cached(
    name: str,
    candidates: tuple[tuple[int, str], ...],
    prior: tuple[tuple[int, int], ...] = (),
    limit: int | None = 3,
    parent_name: str | None = None,
    parent_mapped_id: int | None = None,
    grandparent: tuple[str | None, int | None] | None = None,
    model_evidence: ModelEvidence | None = None,
    prior_other_parents: tuple[tuple[int, int], ...] = (),
) -> tuple[tuple[int, float], ...]:
    """:func:`suggest` memoized on hashable arguments: screen 7 ranks the same hundreds of
    names against the same master at every page load. The parent's mapping is part of the
    key, so a page after the parent is (un)mapped ranks afresh."""
    return tuple(suggest(name, candidates, dict(prior), limit=limit, parent_name=parent_name,
                         parent_mapped_id=parent_mapped_id, grandparent=grandparent,
                         model_evidence=model_evidence, prior_other_parents=dict(prior_other_parents)))
