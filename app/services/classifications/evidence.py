"""What other hospitals say about one hospital's classifications, and the one ranking of
suggestions every screen-7 path uses.

- :func:`prior_mappings`: what other hospitals mapped a classification of the same
  normalized name to, by name alone;
- :func:`prior_votes`: the same for some of one hospital's classifications, each vote also
  saying whether the other hospital's classification sat under a parent that agrees with
  ours (below); the :class:`Suggester` ranks with these;
- :func:`model_evidence`: what other hospitals' devices of the same models as a
  classification's devices are mapped to ("the same model is a 生体情報モニター elsewhere");
- :class:`Suggester`: ranks rows with both (``suggest_cached``). Screen 7's page and its JSON
  API, the bulk accept (preview and apply), the whole-hospital rows (API, CSV export) and the
  screen's accept-all all rank through it, so they agree.

Privacy: only common (SMDS) class ids and counts leave this module. Other hospitals' ids
are read inside the queries to count distinct hospitals and never returned; their
classifications' names and parents are compared inside the queries only, and their names,
classifications and devices are never read out.

A parent agrees (:func:`prior_votes`) when both classifications are at the top (no parent),
or their parents have the same normalized name (not a name that says nothing: その他, 予備),
or both parents are mapped to the same common class — other than a catch-all (the master's
その他): 手術部 and 検査部 both mapped to その他 say nothing in common. The parent's mapped
class is what parents share across hospitals (手術室 and 中央手術部 may both be mapped to
one class); its name covers what no one maps, a department. Parents that say the same in
other words (手術部, OR) disagree: that only holds back a vote for a name that needs its
parent (顕微鏡, モニター, 本体: still offered, not auto-accepted, :func:`~.suggest.suggest`),
while a wrong agreement would map a microscope of the laboratory to 手術顕微鏡 automatically.

A model is the maker and the model number (型番). The model number is compared on
``equipment.model_key`` (``app.core.normalize.model_key``: width, case, spaces and dashes
folded: TE-281A = ｔｅ２８１ａ = TE281A); the maker on ``equipment.maker_id``, which the ingest
resolves through the maker master, so テルモ株式会社 and TERUMO are one maker. A key is
evidence only when it looks like a model number: :data:`MIN_KEY` characters or more with a
digit ("1", "不明", "なし", "-" are not). Two devices are the same model when their keys are
equal and their makers are the same; when either maker is blank, the key alone decides,
but only a distinctive key (:func:`distinctive`: :data:`MIN_BLANK_MAKER_KEY` characters or
more, letters and digits: BSM-2401, TE-281A) — a short or all-digit number ("3085") under
an unknown maker may well be another maker's. Two known, different makers never match.

Counts are over all of a hospital's devices (listed this month or not: an old ledger's
device still says what its model is), each device in its effective classification (the
hospital's ledger override first). Another hospital's device is evidence when that
classification is active and mapped, or is itself a common class (an override may name one).

Only active hospitals speak: a hospital deactivated (``Organization.is_active`` false: a full
masters push no longer lists it) is no longer a customer, and its old mappings are neither
votes by name nor model evidence.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from functools import lru_cache

from sqlalchemy import bindparam, case, func, or_, select
from sqlalchemy.orm import aliased

from app.core.normalize import match_key
from app.models import Classification, Equipment, Organization
from app.services.classifications.suggest import (
    CONTEXT_ONLY_NAMES,
    ModelEvidence,
    suggest_cached,
    worth_showing,
)

MIN_KEY = 3
MIN_BLANK_MAKER_KEY = 5
# IN lists longer than this read the hospital's devices whole (one query, no parameter limits).
MAX_IN = 500


def prior_mappings(session, exclude_hospital_id: int | None) -> dict[str, dict[int, int]]:
    """``{normalized name: {common id: number of hospitals}}`` of other hospitals' choices
    (automatic ones included: they are agreements too)."""
    query = session.query(
        Classification.normalized_name,
        Classification.smds_classification_id,
        func.count(func.distinct(Classification.hospital_id)),
    ).join(Organization, Organization.id == Classification.hospital_id).filter(
        Organization.is_active.is_(True),
        Classification.smds_classification_id.isnot(None),
    )
    if exclude_hospital_id is not None:
        query = query.filter(Classification.hospital_id != exclude_hospital_id)
    result: dict[str, dict[int, int]] = defaultdict(dict)
    for key, smds_id, n in query.group_by(
        Classification.normalized_name, Classification.smds_classification_id
    ):
        result[key][smds_id] = n
    return dict(result)


def prior_votes(session, hospital_id: int, class_ids: Iterable[int] | None = None,
                catch_all: Iterable[int] = ()) -> dict[int, dict[int, tuple[int, int]]]:
    """``{classification id: {common id: (hospitals, hospitals under an agreeing parent)}}``
    for the hospital's classifications ``class_ids`` (None: all of them): the other active
    hospitals that mapped a classification of the same normalized name to that common id,
    and how many of them had it under a parent that agrees with this one's (module
    docstring; ``catch_all``: common ids a parent's mapping to which says nothing). One query."""
    wanted = None if class_ids is None else set(class_ids)
    by_ids = wanted is not None and len(wanted) <= MAX_IN
    if by_ids and not wanted:
        return {}
    params = {"hospital_id": hospital_id, "catch_all": sorted(set(catch_all)) or [-1],
              "context_names": sorted(CONTEXT_ONLY_NAMES)}
    if by_ids:
        params["ids"] = sorted(wanted)
    result: dict[int, dict[int, tuple[int, int]]] = defaultdict(dict)
    for class_id, smds_id, hospitals, agreeing in session.execute(_votes_statement(by_ids), params):
        if wanted is None or class_id in wanted:
            result[class_id][smds_id] = (hospitals, agreeing)
    return dict(result)


@lru_cache(maxsize=2)
def _votes_statement(by_ids: bool):
    """:func:`prior_votes`' query, built once (four aliases of one table cost more to build
    than the query takes to run); its values are bound parameters."""
    table = Classification.__table__
    ours, our_parent, theirs, their_parent = (table.alias(name) for name in ("ours", "our_parent", "theirs",
                                                                             "their_parent"))
    agree = or_(our_parent.c.id.is_(None) & their_parent.c.id.is_(None),
                (our_parent.c.normalized_name == their_parent.c.normalized_name)
                & our_parent.c.normalized_name.notin_(bindparam("context_names", expanding=True)),
                (our_parent.c.smds_classification_id == their_parent.c.smds_classification_id)
                & our_parent.c.smds_classification_id.notin_(bindparam("catch_all", expanding=True)))
    hospital = bindparam("hospital_id")
    query = (
        select(ours.c.id, theirs.c.smds_classification_id, func.count(func.distinct(theirs.c.hospital_id)),
               func.count(func.distinct(case((agree, theirs.c.hospital_id)))))
        .select_from(ours)
        .join(theirs, (theirs.c.normalized_name == ours.c.normalized_name) & (theirs.c.hospital_id != hospital))
        .join(Organization, Organization.id == theirs.c.hospital_id)
        # The parents: of the same hospital as their child by construction.
        .outerjoin(our_parent, our_parent.c.id == ours.c.parent_id)
        .outerjoin(their_parent, their_parent.c.id == theirs.c.parent_id)
        .where(ours.c.hospital_id == hospital, Organization.is_active.is_(True),
               theirs.c.smds_classification_id.isnot(None))
        .group_by(ours.c.id, theirs.c.smds_classification_id)
    )
    return query.where(ours.c.id.in_(bindparam("ids", expanding=True))) if by_ids else query


def usable(key: str | None) -> bool:
    """A model key that can be evidence: long enough, with a digit."""
    return bool(key) and len(key) >= MIN_KEY and any(c.isdigit() for c in key)


def distinctive(key: str) -> bool:
    """A key that identifies a model without its maker: long, with letters and digits."""
    return (len(key) >= MIN_BLANK_MAKER_KEY and any(c.isdigit() for c in key)
            and any(c.isalpha() for c in key))


def same_model(key: str, maker_id: int | None, other_maker_id: int | None) -> bool:
    """Whether a device of ``maker_id`` and one of ``other_maker_id`` with the same usable
    ``key`` are one model (module docstring)."""
    if maker_id is not None and other_maker_id is not None:
        return maker_id == other_maker_id
    return distinctive(key)


def model_evidence(session, hospital_id: int, class_ids: Iterable[int] | None = None) -> dict[int, ModelEvidence]:
    """``{classification id: ModelEvidence}`` for the hospital's classifications ``class_ids``
    (None: all of them) whose devices' models some other hospital has mapped; two queries."""
    effective = func.coalesce(Equipment.override_classification_id, Equipment.classification_id)
    own = (select(effective, Equipment.maker_id, Equipment.model_key, func.count())
           .where(Equipment.hospital_id == hospital_id)
           .group_by(effective, Equipment.maker_id, Equipment.model_key))
    wanted = None if class_ids is None else set(class_ids)
    if wanted is not None and len(wanted) <= MAX_IN:
        if not wanted:
            return {}
        own = own.where(effective.in_(sorted(wanted)))
    own_rows = [(class_id, maker_id, key if usable(key) else None, n) for class_id, maker_id, key, n
                in session.execute(own) if wanted is None or class_id in wanted]
    keys = sorted({key for _, _, key, _ in own_rows if key})
    if not keys:
        return {}
    # Other active hospitals' devices of those models, in an active classification of their
    # own that is mapped, or set (a ledger override) to a common class itself.
    theirs = aliased(Classification)
    other_effective = func.coalesce(Equipment.override_classification_id, Equipment.classification_id)
    common_id = case((theirs.hospital_id.is_(None), theirs.id), else_=theirs.smds_classification_id)
    elsewhere: dict[str, list[tuple[int | None, int, int]]] = defaultdict(list)
    for start in range(0, len(keys), MAX_IN):
        rows = session.execute(
            select(Equipment.model_key, Equipment.maker_id, Equipment.hospital_id, common_id).distinct()
            .join(theirs, theirs.id == other_effective)
            .join(Organization, Organization.id == Equipment.hospital_id)
            .where(Equipment.model_key.in_(keys[start:start + MAX_IN]),
                   Equipment.hospital_id != hospital_id,
                   Organization.is_active.is_(True),
                   theirs.is_active.is_(True),
                   or_(theirs.hospital_id.is_(None),
                       (theirs.hospital_id == Equipment.hospital_id) & theirs.smds_classification_id.isnot(None))))
        for key, maker_id, other_hospital, smds_id in rows:
            elsewhere[key].append((maker_id, other_hospital, smds_id))
    devices: dict[int, int] = defaultdict(int)
    with_evidence: dict[int, int] = defaultdict(int)
    hospitals: dict[int, set[int]] = defaultdict(set)
    vote_hospitals: dict[int, dict[int, set[int]]] = defaultdict(lambda: defaultdict(set))
    vote_devices: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for class_id, maker_id, key, n in own_rows:
        devices[class_id] += n
        if key is None:
            continue
        matches = [(other, smds_id) for other_maker, other, smds_id in elsewhere.get(key, ())
                   if same_model(key, maker_id, other_maker)]
        if not matches:
            continue
        with_evidence[class_id] += n
        for other, smds_id in matches:
            hospitals[class_id].add(other)
            vote_hospitals[class_id][smds_id].add(other)
        for smds_id in {smds_id for _, smds_id in matches}:
            vote_devices[class_id][smds_id] += n
    return {
        class_id: ModelEvidence(
            devices=devices[class_id], with_evidence=with_evidence[class_id],
            hospitals=len(hospitals[class_id]),
            votes=tuple((smds_id, len(vote_hospitals[class_id][smds_id]), n)
                        for smds_id, n in sorted(vote_devices[class_id].items())))
        for class_id in with_evidence
    }


class Suggester:
    """Suggestions for some rows of one hospital: the master, other hospitals' choices by
    name (:func:`prior_votes`: those under an agreeing parent apart) and the model evidence
    of the rows ``class_ids`` (None: every classification of the hospital) read once; a row
    is one of them. A row is a dict with ``id``, ``name``, ``normalized_name`` and
    ``parent_context`` (``(parent name, parent's mapped id, (grandparent name, its mapped
    id) or None)``). A suggestion that model evidence backs carries ``models``: ``{"hospitals":
    other hospitals that chose it, "devices": this classification's devices of those models}``."""

    def __init__(self, session, hospital_id: int, class_ids: Iterable[int] | None = None):
        # Plain tuples: suggest_cached hashes and compares them at every lookup (rows are slow).
        self.candidates = tuple(
            (cid, name) for cid, name in session.query(Classification.id, Classification.name)
            .filter(Classification.hospital_id.is_(None), Classification.is_active.is_(True))
            .order_by(Classification.level, Classification.name)
        )
        self.names = dict(self.candidates)
        class_ids = None if class_ids is None else list(class_ids)  # read twice
        catch_all = [cid for cid, name in self.candidates if match_key(name) in CONTEXT_ONLY_NAMES]
        self.votes = prior_votes(session, hospital_id, class_ids, catch_all)
        self.models = model_evidence(session, hospital_id, class_ids)

    def __call__(self, row: dict, limit: int = 3) -> list[dict]:
        # Votes under a parent like ours count as they are; the others as much only for a name
        # that does not need its parent (suggest: 輸液ポンプ anywhere, not 顕微鏡 under 検査部).
        both = self.votes.get(row["id"], {})
        votes = tuple((cid, agreeing) for cid, (_, agreeing) in sorted(both.items()) if agreeing)
        elsewhere = tuple((cid, n - agreeing) for cid, (n, agreeing) in sorted(both.items()) if n > agreeing)
        # The parent (its mapping first, else its name) is context for a child that says
        # little itself (a model number, その他); the models of its devices elsewhere say more.
        evidence = self.models.get(row["id"])
        # Only the arguments there are: a row's cache entry is then its children's parent's one.
        extra = (evidence, elsewhere) if elsewhere else (evidence,) if evidence is not None else ()
        ranked = worth_showing(
            suggest_cached(row["name"], self.candidates, votes, limit, *row["parent_context"], *extra))
        suggestions = [{"id": cid, "name": self.names[cid], "score": score} for cid, score in ranked]
        if evidence is not None:
            # "Other hospitals classify this model as …": counts only, as the screen says it.
            behind = {cid: {"hospitals": hospitals, "devices": devices} for cid, hospitals, devices in evidence.votes}
            for suggestion in suggestions:
                if suggestion["id"] in behind:
                    suggestion["models"] = behind[suggestion["id"]]
        return suggestions
