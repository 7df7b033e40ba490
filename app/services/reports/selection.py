"""Screen 6 (K007): the classifications a hospital's reports show, in rank order, and the
grouping they use.

No rows means "automatic" (the classifications with the most devices). Saving replaces the
whole ordered list in one transaction; the rules are enforced here whatever the client
sends: no duplicates, at most the hospital's rank count, the hospital's own active
classifications (the active SMDS classifications under SMDS grouping), all of one level.

Grouping: "own" (default, the owner's K007) groups devices by the hospital's
classifications; "smds" by the SMDS classifications they are mapped to on screen 7.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select

from app.models import Classification, Organization, ReportSelection
from app.services.audit import trail as audit
from app.services.classifications.mapping import LEVELS, device_counts

GROUPINGS = {"own": "医療機関の機器分類", "smds": "SMDSグループ"}

DEFAULT_RANK_COUNT = 5


class SelectionError(ValueError):
    """A refused selection; the message is shown as is."""


def rank_count(hospital: Organization) -> int:
    return hospital.report_rank_count or DEFAULT_RANK_COUNT


def saved_selection(session, hospital_id: int) -> list[ReportSelection]:
    return (
        session.query(ReportSelection)
        .filter(ReportSelection.hospital_id == hospital_id)
        .order_by(ReportSelection.rank)
        .all()
    )


def grouping_of(hospital: Organization) -> str:
    return "smds" if hospital.report_grouping == "smds" else "own"


def smds_device_counts(session, hospital_id: int) -> dict[int, int]:
    """Devices of Japan's current month ("device in M", as :func:`device_counts`) per SMDS
    classification (at every level of the master) under SMDS grouping: the same devices and
    mapping the reports count."""
    from app.core.months import current_month
    from app.services.ledger.device_months import devices_in_month
    from app.services.reports.sql import counted_devices

    counts: dict[int, int] = {}
    in_month = devices_in_month(current_month(), [hospital_id])
    for level in LEVELS:
        devices = counted_devices(hospital_id, level, grouping="smds")
        for cls, n in session.execute(select(devices.c.cls, func.count())
                                      .where(devices.c.cls.is_not(None), devices.c.equipment_id.in_(in_month))
                                      .group_by(devices.c.cls)):
            counts[cls] = n
    return counts


def _choosable(session, hospital: Organization, grouping: str) -> tuple[list[Classification], dict[int, int]]:
    """The classifications screen 6 offers and their device counts: the hospital's own, or
    the SMDS classifications its devices are mapped to."""
    if grouping == "smds":
        counts = smds_device_counts(session, hospital.id)
        classes = (
            session.query(Classification)
            .filter(Classification.hospital_id.is_(None), Classification.is_active.is_(True),
                    Classification.id.in_(list(counts) or [0]))
            .order_by(Classification.level, Classification.name, Classification.id)
            .all()
        )
        return classes, counts
    classes = (
        session.query(Classification)
        .filter(Classification.hospital_id == hospital.id, Classification.is_active.is_(True))
        .order_by(Classification.level, Classification.name, Classification.id)
        .all()
    )
    return classes, device_counts(session, hospital.id)


def selection_state(session, hospital: Organization) -> dict:
    """Everything screen 6 needs to start: the grouping, levels that exist, the initial
    level (that of the saved selection, else 1), the automatic flag, the saved rows and, per
    level, the classifications with their device counts."""
    grouping = grouping_of(hospital)
    classes, counts = _choosable(session, hospital, grouping)
    by_level: dict[int, list[dict]] = {level: [] for level in LEVELS}
    for cls in classes:
        by_level[cls.level].append({"id": cls.id, "name": cls.name, "count": counts.get(cls.id, 0)})
    levels = [level for level in LEVELS if by_level[level]]
    saved = saved_selection(session, hospital.id)
    selected = [
        {"rank": row.rank, "id": row.classification_id, "name": row.classification.name,
         "count": counts.get(row.classification_id, 0)}
        for row in saved
    ]
    if saved:
        level = saved[0].classification.level
    else:
        level = 1 if 1 in levels or not levels else levels[0]
    return {
        "hospital_id": hospital.id,
        "hospital_name": hospital.name,
        "grouping": grouping,
        "rank_count": rank_count(hospital),
        "levels": levels,
        "level": level,
        "is_auto": not saved,
        "selected": selected,
        "classifications": {str(level): by_level[level] for level in levels},
    }


def _parse_ids(raw) -> list[int]:
    if not isinstance(raw, list):
        raise SelectionError(_l("classification_ids は機器分類IDの配列で指定してください。"))
    ids = []
    for value in raw:
        if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).isdigit():
            raise SelectionError(_l("機器分類IDが正しくありません。"))
        ids.append(int(value))
    return ids


def save_selection(session, hospital: Organization, raw_ids, actor=None) -> list[int]:
    """Replace the hospital's selection by ``raw_ids`` (rank = position). ``[]`` = automatic.
    Flushes in the caller's transaction; on error nothing is changed."""
    ids = _parse_ids(raw_ids)
    max_count = rank_count(hospital)
    if len(ids) > max_count:
        raise SelectionError(_l("最大選択数（%(count)s）を超えています。", count=max_count))
    if len(set(ids)) != len(ids):
        raise SelectionError(_l("同じ機器分類が重複して選択されています。"))
    if ids:
        owner = (Classification.hospital_id.is_(None) if grouping_of(hospital) == "smds"
                 else Classification.hospital_id == hospital.id)
        found = {
            cls.id: cls
            for cls in session.query(Classification).filter(
                Classification.id.in_(ids), owner, Classification.is_active.is_(True),
            )
        }
        missing = [cid for cid in ids if cid not in found]
        if missing:
            # Another hospital's id gets the same answer as an unknown one.
            raise SelectionError(_l("この医療機関の機器分類ではありません（ID: %(ids)s）。",
                                    ids=", ".join(map(str, missing))))
        if len({found[cid].level for cid in ids}) > 1:
            raise SelectionError(_l("選択できる機器分類は一つの階層のものだけです。"))
    before = [row.classification_id for row in saved_selection(session, hospital.id)]
    session.execute(delete(ReportSelection).where(ReportSelection.hospital_id == hospital.id))
    session.flush()
    for rank, cid in enumerate(ids, start=1):
        session.add(ReportSelection(hospital_id=hospital.id, rank=rank, classification_id=cid))
    session.flush()
    audit.record(
        "report_selection.save", hospital, organization_id=hospital.id, actor=actor,
        changes={"classification_ids": [before, ids]},
    )
    return ids


def save_grouping(session, hospital: Organization, raw, actor=None) -> str:
    """Set how the hospital's reports and dashboard group devices. A saved selection is of
    the other kind of classification, so changing the grouping clears it (automatic).
    Flushes in the caller's transaction."""
    if not isinstance(raw, str) or raw not in GROUPINGS:
        raise SelectionError(_l("grouping は own（医療機関の機器分類）か smds（SMDSグループ）で指定してください。"))
    before = grouping_of(hospital)
    if raw == before:
        return raw
    cleared = [row.classification_id for row in saved_selection(session, hospital.id)]
    session.execute(delete(ReportSelection).where(ReportSelection.hospital_id == hospital.id))
    hospital.report_grouping = raw
    session.flush()
    audit.record(
        "report_selection.grouping", hospital, organization_id=hospital.id, actor=actor,
        changes={"report_grouping": [before, raw], "classification_ids": [cleared, []]},
    )
    return raw
