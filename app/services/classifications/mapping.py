"""Classifications: creating hospitals' own, mapping them to the SMDS master, device counts,
and maintaining the master itself.

The ingest pipeline calls :func:`ensure_hospital_classifications`; screens 7 and 10 and
their APIs call the other functions. Every change is audited in the caller's transaction.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, insert, or_

from app.core.months import current_month, utc_now
from app.core.normalize import match_key, normalize_text
from app.models import Classification, Equipment
from app.services.audit import trail as audit
from app.services.classifications.evidence import Suggester, prior_mappings  # noqa: F401 (moved there)
from app.services.classifications.suggest import AUTO_ACCEPT_THRESHOLD, CONTEXT_ONLY_NAMES
from app.services.ledger.device_months import devices_in_month
from app.services.ledger.maintenance import with_descendants
from app.services.reports.stored import mark_all_changed, mark_changed

LEVELS = (1, 2, 3)
AUTOMATIC, SUGGESTION, MANUAL = "automatic", "suggestion", "manual"


class ClassificationError(ValueError):
    """A refused change; the message is shown as is."""


def common_classifications(session, active_only: bool = True) -> list[Classification]:
    query = session.query(Classification).filter(Classification.hospital_id.is_(None))
    if active_only:
        query = query.filter(Classification.is_active.is_(True))
    return query.order_by(Classification.level, Classification.name).all()


def common_by_key(session) -> dict[str, int]:
    """Active common classifications by normalized name (the automatic mapping)."""
    rows = session.query(Classification.normalized_name, Classification.id).filter(
        Classification.hospital_id.is_(None), Classification.is_active.is_(True)
    )
    return {key: cid for key, cid in rows.order_by(Classification.id.desc())}


def ensure_hospital_classifications(
    session,
    hospital_id: int,
    paths: Iterable[Sequence[str | None]],
    actor=None,
) -> dict[tuple[str, ...], int]:
    """Find or create the hospital's classifications for each path and return
    ``{path: id of its deepest classification}``.

    A path is ``(level-1 name, level-2 name, level-3 name)``; trailing blanks are dropped,
    so ``("生体情報モニタ", "", None)`` is a level-1 classification. Keys of the result are
    the paths as cleaned by :func:`normalize_text` with trailing blanks removed. New
    classifications whose normalized name equals an active common classification's are
    mapped to it at once (``mapping_method='automatic'``). Flushes; the caller commits.
    """
    existing: dict[tuple[int | None, int, str], int] = {}
    rows = session.query(
        Classification.id, Classification.parent_id, Classification.level, Classification.normalized_name
    ).filter(Classification.hospital_id == hospital_id).order_by(Classification.id)
    for cid, parent_id, level, key in rows:
        existing.setdefault((parent_id, level, key), cid)
    common = common_by_key(session)
    now = utc_now()
    cleaned: list[tuple[str, ...]] = []
    for raw in paths:
        names = [normalize_text(part) for part in raw][:3]
        while names and not names[-1]:
            names.pop()
        if names and all(names):
            cleaned.append(tuple(names))
    # Level by level with one multi-row INSERT each: the parents' ids exist for the next level.
    ids: dict[tuple[str, ...], int] = {}
    created: list[dict] = []
    for level in LEVELS:
        pending: dict[tuple[int | None, int, str], dict] = {}
        waiting: list[tuple[tuple[str, ...], tuple[int | None, int, str]]] = []
        for path in cleaned:
            prefix = path[:level]
            if len(path) < level or prefix in ids:
                continue
            parent_id = ids[path[:level - 1]] if level > 1 else None
            name = path[level - 1]
            node_key = (parent_id, level, match_key(name))
            if node_key in existing:
                ids[prefix] = existing[node_key]
                continue
            if node_key not in pending:
                # 「その他」 under 輸液ポンプ means other infusion pumps, not SMDS's その他: a name
                # that only has meaning through its parent waits for a person (screen 7, where
                # the parent's class is suggested first).
                context_only = level > 1 and node_key[2] in CONTEXT_ONLY_NAMES
                smds_id = None if context_only else common.get(node_key[2])
                pending[node_key] = dict(
                    hospital_id=hospital_id, level=level, parent_id=parent_id, name=name[:200],
                    normalized_name=node_key[2][:200], is_active=True, created_on=now,
                    smds_classification_id=smds_id,
                    mapping_method=AUTOMATIC if smds_id is not None else None,
                    mapped_at=now if smds_id is not None else None,
                )
            waiting.append((prefix, node_key))
        if pending:
            values = list(pending.values())
            new_ids = session.execute(
                insert(Classification).returning(Classification.id, sort_by_parameter_order=True),
                values,
            ).scalars().all()
            for node_key, new_id in zip(pending, new_ids):
                existing[node_key] = new_id
            created.extend(values)
        for prefix, node_key in waiting:
            ids[prefix] = existing[node_key]
    if created:
        audit.record(
            "classification.create", None, organization_id=hospital_id, actor=actor,
            changes={
                "created": len(created),
                "mapped_automatically": sum(1 for n in created if n["smds_classification_id"]),
                "names": [n["name"] for n in created[:50]],
            },
        )
    return {path: ids[path] for path in cleaned}


def hospital_classifications(session, hospital_id: int) -> list[Classification]:
    return (
        session.query(Classification)
        .filter(Classification.hospital_id == hospital_id)
        .order_by(Classification.level, Classification.name, Classification.id)
        .all()
    )


def device_counts(session, hospital_id: int, month: dt.date | None = None) -> dict[int, int]:
    """Devices of ``month`` (by default Japan's current month; "device in M",
    app/device_months.py) per classification of the hospital, each device counted for its
    effective classification and every ancestor (a level-1 count includes its level-2/3
    devices)."""
    effective = func.coalesce(Equipment.override_classification_id, Equipment.classification_id)
    in_month = devices_in_month(month or current_month(), [hospital_id])
    rows = (
        session.query(effective, func.count(Equipment.id))
        .filter(Equipment.hospital_id == hospital_id, Equipment.id.in_(in_month))
        .group_by(effective)
        .all()
    )
    parents = dict(
        session.query(Classification.id, Classification.parent_id).filter(
            or_(Classification.hospital_id == hospital_id, Classification.hospital_id.is_(None))
        )
    )
    counts: dict[int, int] = defaultdict(int)
    for cid, n in rows:
        seen = set()
        while cid is not None and cid not in seen:
            seen.add(cid)
            counts[cid] += n
            cid = parents.get(cid)
    return dict(counts)


def mapping_rows(session, hospital_id: int, limit: int = 3) -> list[dict]:
    """Screen 7's rows: unmapped first, each with device count and top suggestions (ranked
    as on the screen's pages, :class:`~app.services.classifications.evidence.Suggester`)."""
    counts = device_counts(session, hospital_id)
    classes = hospital_classifications(session, hospital_id)
    suggester = Suggester(session, hospital_id)
    rows = []
    for cls in classes:
        parent, grandparent = cls.parent, cls.parent.parent if cls.parent else None
        parent_name = parent.name if parent else None
        context = (parent_name, parent.smds_classification_id if parent else None,
                   (grandparent.name, grandparent.smds_classification_id) if grandparent else None)
        ranked = suggester({"id": cls.id, "name": cls.name, "normalized_name": cls.normalized_name,
                            "parent_context": context}, limit)
        rows.append({
            "id": cls.id,
            "level": cls.level,
            "name": cls.name,
            "parent": parent_name,
            "device_count": counts.get(cls.id, 0),
            "smds_classification_id": cls.smds_classification_id,
            "smds_classification_name": (
                cls.smds_classification.name if cls.smds_classification else None
            ),
            "mapping_method": cls.mapping_method,
            "suggestions": ranked,
        })
    rows.sort(key=lambda r: (r["smds_classification_id"] is not None, r["level"], -r["device_count"], r["name"]))
    return rows


def set_mapping(session, cls: Classification, smds_id: int | None, method: str, actor=None) -> None:
    """Map (or, with ``smds_id`` None, unmap) one hospital classification."""
    if cls.hospital_id is None:
        raise ClassificationError(_l("共通の機器分類は紐付けできません。"))
    if smds_id is not None:
        target = session.get(Classification, smds_id)
        if target is None or target.hospital_id is not None or not target.is_active:
            raise ClassificationError(_l("紐付け先のSMDS機器分類が見つかりません。"))
    before = {"smds_classification_id": cls.smds_classification_id, "mapping_method": cls.mapping_method}
    cls.smds_classification_id = smds_id
    cls.mapping_method = method if smds_id is not None else None
    cls.mapped_by_id = getattr(actor, "id", None) if smds_id is not None else None
    cls.mapped_at = utc_now() if smds_id is not None else None
    after = {"smds_classification_id": smds_id, "mapping_method": cls.mapping_method}
    mark_changed(cls.hospital_id, session)  # SMDS grouping and selections follow the mapping
    audit.record(
        "classification.map" if smds_id is not None else "classification.unmap", cls,
        organization_id=cls.hospital_id, actor=actor, changes=audit.changed_fields(before, after),
    )


def accept_all(session, hospital_id: int, threshold: float = AUTO_ACCEPT_THRESHOLD, actor=None) -> int:
    """Map every unmapped classification whose top suggestion scores ≥ ``threshold``."""
    threshold = max(float(threshold), 50.0)
    mapped = 0
    for row in mapping_rows(session, hospital_id, limit=1):
        if row["smds_classification_id"] is None and row["suggestions"]:
            best = row["suggestions"][0]
            if best["score"] >= threshold:
                set_mapping(session, session.get(Classification, row["id"]), best["id"], SUGGESTION, actor)
                mapped += 1
    return mapped


# --- SMDS master (screen 10) -------------------------------------------------------------

def usage_count(session, common_id: int) -> dict[str, int]:
    """How many hospital classifications map to, and devices use, a common classification
    (or one of its children)."""
    ids = with_descendants(None, common_id, session)
    mapped = session.query(func.count(Classification.id)).filter(
        Classification.smds_classification_id.in_(ids)
    ).scalar()
    devices = session.query(func.count(Equipment.id)).filter(
        or_(Equipment.classification_id.in_(ids), Equipment.override_classification_id.in_(ids))
    ).scalar()
    return {"mappings": mapped or 0, "devices": devices or 0}


def _common(session, common_id: int) -> Classification:
    cls = session.get(Classification, common_id)
    if cls is None or cls.hospital_id is not None:
        raise ClassificationError(_l("SMDS機器分類が見つかりません。"))
    return cls


def _check_parent(session, parent_id: int | None, level: int, moving_id: int | None = None):
    if parent_id is None:
        if level != 1:
            raise ClassificationError(_l("中分類・小分類には親分類を指定してください。"))
        return None
    parent = _common(session, parent_id)
    if parent.level != level - 1:
        raise ClassificationError(_l("親分類は一つ上の階層の分類を指定してください。"))
    node = parent
    while node is not None:
        if node.id == moving_id:
            raise ClassificationError(_l("自分自身または配下の分類の下には移動できません。"))
        node = node.parent
    return parent


def _check_unique(session, name: str, level: int, parent_id: int | None, own_id: int | None = None):
    clash = session.query(Classification).filter(
        Classification.hospital_id.is_(None), Classification.level == level,
        Classification.parent_id.is_(parent_id) if parent_id is None else Classification.parent_id == parent_id,
        Classification.normalized_name == match_key(name),
    )
    if own_id is not None:
        clash = clash.filter(Classification.id != own_id)
    if session.query(clash.exists()).scalar():
        raise ClassificationError(_l("同じ名前の分類「%(name)s」が既にあります。", name=name))


def add_common(session, name: str, level: int, parent_id: int | None, actor=None) -> Classification:
    name = normalize_text(name)
    if not name:
        raise ClassificationError(_l("分類名を入力してください。"))
    if level not in LEVELS:
        raise ClassificationError(_l("階層は1・2・3のいずれかです。"))
    _check_parent(session, parent_id, level)
    _check_unique(session, name, level, parent_id)
    cls = Classification(hospital_id=None, level=level, parent_id=parent_id, name=name[:200],
                         normalized_name=match_key(name)[:200], is_active=True)
    session.add(cls)
    session.flush()
    audit.record("smds_classification.add", cls, actor=actor,
                 changes={"name": name, "level": level, "parent_id": parent_id})
    return cls


def rename_common(session, common_id: int, name: str, actor=None) -> Classification:
    cls = _common(session, common_id)
    name = normalize_text(name)
    if not name:
        raise ClassificationError(_l("分類名を入力してください。"))
    _check_unique(session, name, cls.level, cls.parent_id, own_id=cls.id)
    before = cls.name
    cls.name, cls.normalized_name = name[:200], match_key(name)[:200]
    audit.record("smds_classification.rename", cls, actor=actor, changes={"name": [before, name]})
    mark_all_changed(session)
    return cls


def move_common(session, common_id: int, parent_id: int | None, actor=None) -> Classification:
    """Move under another parent; the level follows the parent (children follow along)."""
    cls = _common(session, common_id)
    level = 1 if parent_id is None else _common(session, parent_id).level + 1
    if level not in LEVELS:
        raise ClassificationError(_l("小分類の下には移動できません。"))
    _check_parent(session, parent_id, level, moving_id=cls.id)
    depth = _subtree_depth(session, cls)
    if level + depth > 3:
        raise ClassificationError(_l("移動すると4階層以上になります。"))
    _check_unique(session, cls.name, level, parent_id, own_id=cls.id)
    before = {"parent_id": cls.parent_id, "level": cls.level}
    shift = level - cls.level
    cls.parent_id = parent_id
    _shift_levels(session, cls, shift)
    audit.record("smds_classification.move", cls, actor=actor,
                 changes=audit.changed_fields(before, {"parent_id": parent_id, "level": cls.level}))
    mark_all_changed(session)
    return cls


def _children(session, cls: Classification) -> list[Classification]:
    return session.query(Classification).filter(Classification.parent_id == cls.id).all()


def _subtree_depth(session, cls: Classification) -> int:
    children = _children(session, cls)
    return 0 if not children else 1 + max(_subtree_depth(session, c) for c in children)


def _shift_levels(session, cls: Classification, shift: int) -> None:
    cls.level += shift
    for child in _children(session, cls):
        _shift_levels(session, child, shift)


def deactivate_common(session, common_id: int, actor=None) -> Classification:
    """Deactivate a classification nobody uses; refuse with the counts otherwise."""
    cls = _common(session, common_id)
    usage = usage_count(session, cls.id)
    if usage["mappings"] or usage["devices"]:
        raise ClassificationError(_l(
            "「%(name)s」は医療機関の機器分類%(mappings)s件・機器%(devices)s台で使われているため無効にできません。",
            name=cls.name, mappings=usage["mappings"], devices=usage["devices"]))
    cls.is_active = False
    audit.record("smds_classification.deactivate", cls, actor=actor, changes={"is_active": [True, False]})
    mark_all_changed(session)
    return cls


def reactivate_common(session, common_id: int, actor=None) -> Classification:
    cls = _common(session, common_id)
    cls.is_active = True
    audit.record("smds_classification.reactivate", cls, actor=actor, changes={"is_active": [False, True]})
    mark_all_changed(session)
    return cls


def common_tree(session) -> list[dict]:
    """The master as nested dicts (level, then name), inactive ones included and marked."""
    nodes = {
        c.id: {"id": c.id, "name": c.name, "level": c.level, "parent_id": c.parent_id,
               "is_active": c.is_active, "children": []}
        for c in common_classifications(session, active_only=False)
    }
    roots = []
    for node in nodes.values():
        parent = nodes.get(node["parent_id"])
        (parent["children"] if parent else roots).append(node)
    return roots
