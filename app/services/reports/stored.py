"""Stored figures: a hospital-month's figures computed once, when its data changes, and read
by the dashboard, its charts and its exports (issue 14).

- :func:`mark_changed` — a hospital's data changed (the end of an ingest and of a ledger
  setting change: app.services.reports.after_data_change; a classification mapping:
  app.services.classifications.mapping.set_mapping; the SMDS master: :func:`mark_all_changed`). Every stored
  month of the hospital computed before that moment is stale.
- :func:`save` — store figures just computed (the report job does, so a published month is
  stored when it is made or revised).
- :func:`load` — the stored figures of a hospital-month under the hospital's current
  presentation (:func:`version_key`: grouping, levels, rank count, saved selection); missing
  or stale ones are computed and stored first.
- :func:`warm` — compute the missing or stale months with data of the last 13 months (the
  revision job runs it after a data change, so the dashboard finds them ready).

Stored data is plain JSON (:func:`serialize`), equal to a fresh computation
(tests/test_stored_figures.py).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from app.core.months import UTC, add_months, first_of_month
from app.extensions import db
from app.models import (
    Classification,
    FiguresChange,
    Organization,
    OrganizationKind,
    ReportSelection,
    StoredFigures,
)

log = logging.getLogger(__name__)

FORMAT = 2  # bump when the stored JSON changes shape: every stored row then recomputes


def now() -> dt.datetime:
    """Naive UTC with microseconds (the staleness check compares these)."""
    return dt.datetime.now(UTC).replace(tzinfo=None)


# ------------------------------------------------------------------ invalidation

def mark_changed(hospital_id: int, session=None) -> None:
    """The hospital's data changed now: its stored months are stale. In the caller's
    transaction (the caller commits)."""
    session = session or db.session
    row = session.get(FiguresChange, hospital_id)
    if row is None:
        session.add(FiguresChange(hospital_id=hospital_id, changed_at=now()))
    else:
        row.changed_at = now()


def mark_all_changed(session=None) -> None:
    """The SMDS master changed (names, levels): every hospital's stored months are stale."""
    session = session or db.session
    ids = session.scalars(select(Organization.id).where(Organization.kind == OrganizationKind.hospital.value)).all()
    stamp = now()
    known = set(session.scalars(select(FiguresChange.hospital_id)).all())
    session.execute(update(FiguresChange).values(changed_at=stamp))
    for hospital_id in ids:
        if hospital_id not in known:
            session.add(FiguresChange(hospital_id=hospital_id, changed_at=stamp))


def changed_at(hospital_id: int) -> dt.datetime | None:
    return db.session.scalar(select(FiguresChange.changed_at).where(FiguresChange.hospital_id == hospital_id))


# ------------------------------------------------------------------ the presentation key

def version_key(hospital: Organization) -> str:
    """What, besides the data, decides a hospital-month's figures: grouping, analysis level,
    rank count, the SMDS master's depth and the saved selection (rank, classification,
    its level). A change of any of them makes a new key (the month is computed again)."""
    from app.services.reports.figures import smds_levels

    selection = db.session.execute(
        select(ReportSelection.rank, ReportSelection.classification_id, Classification.level,
               Classification.hospital_id)
        .join(Classification, Classification.id == ReportSelection.classification_id)
        .where(ReportSelection.hospital_id == hospital.id).order_by(ReportSelection.rank)).all()
    parts = [FORMAT, hospital.report_grouping, hospital.analysis_level, hospital.report_rank_count,
             smds_levels(), [list(r) for r in selection]]
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:40]


# ------------------------------------------------------------------ serialization

def _row(r) -> dict:
    return {"key": r.figure.key, "value": r.value, "previous": r.previous, "last_year": r.last_year,
            "mean_12": r.mean_12, "trend": list(r.trend)}


def _minute(value) -> str | None:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else None


QUALITY_ROWS = 50  # rows of each data-quality list kept for the screen (the workbook has all)


def _quality(quality) -> dict:
    return {
        "hours_in_month": quality.hours_in_month,
        "counts": {"unknown_end": len(quality.unknown_end), "over_booked": len(quality.over_booked),
                   "long_lendings": len(quality.long_lendings)},
        "unknown_end": [{"kind": u.kind, "label": u.label, "device_number": u.device_number, "product": u.product,
                         "start": _minute(u.start),
                         "last_listed": u.last_listed.strftime("%Y-%m") if u.last_listed else None}
                        for u in quality.unknown_end[:QUALITY_ROWS]],
        "over_booked": [{"device_number": d.device_number, "product": d.product, "hours": d.hours,
                         "rows": [{"start": _minute(r.start), "end": _minute(r.end), "hours": r.hours,
                                   "department": r.department} for r in d.rows]}
                        for d in quality.over_booked[:QUALITY_ROWS]],
        "long_lendings": [{"device_number": x.device_number, "product": x.product, "start": _minute(x.start),
                           "end": _minute(x.end), "days": x.days} for x in quality.long_lendings[:QUALITY_ROWS]],
    }


def serialize(figures, quality) -> dict:
    """A computed hospital-month (app.services.reports.figures.HospitalMonthFigures and its data
    quality) as JSON-ready data."""
    return {
        "format": FORMAT,
        "hospital_id": figures.hospital_id,
        "hospital_name": figures.hospital_name,
        "month": figures.month.isoformat(),
        "months": [m.isoformat() for m in figures.months],
        "hours_in_month": figures.hours_in_month,
        "level": figures.level,
        "automatic": figures.automatic,
        "grouping": figures.grouping,
        "scopes": [{
            "key": part.scope.key, "name": part.scope.name,
            "groups": None if part.scope.groups is None else sorted(part.scope.groups, key=lambda g: (g is None, g)),
            "lending": [_row(r) for r in part.lending], "failure": [_row(r) for r in part.failure],
            "life": part.life, "models_near_end": part.models_near_end, "top_models": part.top_models,
        } for part in figures.scopes],
        "ranking": figures.ranking,
        "quality": _quality(quality),
    }


def compute(hospital_id: int, month: dt.date) -> dict:
    """Fresh figures of a hospital-month (nothing stored)."""
    from app.services.reports.data_quality import data_quality
    from app.services.reports.figures import compute_figures

    return serialize(compute_figures(hospital_id, month), data_quality(hospital_id, month))


# ------------------------------------------------------------------ storing and reading

def _put(hospital_id: int, month: dt.date, key: str, data: dict, started: dt.datetime) -> None:
    """Replace the month's stored row (one presentation kept per month), in a savepoint: a
    concurrent writer of the same month wins and this one is dropped."""
    try:
        with db.session.begin_nested():
            db.session.execute(delete(StoredFigures).where(StoredFigures.hospital_id == hospital_id,
                                                           StoredFigures.month == month))
            db.session.add(StoredFigures(hospital_id=hospital_id, month=month, version_key=key,
                                         data=json.loads(json.dumps(data, default=str)),
                                         computed_from=started, computed_at=now()))
    except IntegrityError:
        log.info("figures of hospital %s %s were stored concurrently", hospital_id, month)


def save(figures, started: dt.datetime, quality=None) -> None:
    """Store figures computed from data read at or after ``started`` (the caller commits)."""
    from app.services.reports.data_quality import data_quality

    hospital = db.session.get(Organization, figures.hospital_id)
    quality = quality or data_quality(figures.hospital_id, figures.month)
    _put(hospital.id, figures.month, version_key(hospital), serialize(figures, quality), started)


def stored_row(hospital: Organization, month: dt.date, key: str | None = None) -> StoredFigures | None:
    """The stored row of the month under the current key if it is not stale, else None."""
    key = key or version_key(hospital)
    row = db.session.scalars(select(StoredFigures).where(
        StoredFigures.hospital_id == hospital.id, StoredFigures.month == first_of_month(month),
        StoredFigures.version_key == key)).first()
    if row is None:
        return None
    changed = changed_at(hospital.id)
    if changed is not None and row.computed_from <= changed:
        return None
    return row


def load(hospital_id: int, month: dt.date) -> dict:
    """The month's figures: stored ones if fresh, else computed now and stored."""
    month = first_of_month(month)
    hospital = db.session.get(Organization, hospital_id)
    key = version_key(hospital)
    row = stored_row(hospital, month, key)
    if row is not None:
        return row.data
    started = now()
    data = compute(hospital_id, month)
    _put(hospital_id, month, key, data, started)
    db.session.commit()
    return json.loads(json.dumps(data, default=str))


def warm(hospital_id: int, month: dt.date, count: int = 13) -> int:
    """Compute and store the months with data among the ``count`` months ending with
    ``month`` that are missing or stale. Returns how many were computed."""
    from app.services.reports.figures import _months_with_data

    hospital = db.session.get(Organization, hospital_id)
    key = version_key(hospital)
    months = [add_months(first_of_month(month), -i) for i in range(count)]
    computed = 0
    for m in sorted(_months_with_data(hospital_id, months)):
        if stored_row(hospital, m, key) is None:
            load(hospital_id, m)
            computed += 1
    return computed
