"""Which devices count in a month — "device in M" — written once (DESIGN §5 "Ledgers over time").

A ledger upload is the hospital's equipment as of its month; what it listed is kept in
``ledger_listing`` (app/ingest/write.write_ledger). A device counts in month M when

1. the ledger in force for M lists it — the ledger in force is the hospital's latest ledger
   month ≤ M (before the hospital's first ledger month: its first ledger, so a hospital that
   back-fills history at onboarding with today's ledger gets figures for the earlier months,
   decided by the delivery and disposal dates below);
2. it was delivered before M ends (納入日 ≤ the last day of M; unknown delivery: yes);
3. it was not disposed before M starts (廃棄日 ≥ the 1st of M; disposed during M still counts);
4. its effective "counts in aggregation" flag (override, else default) is on.

A device that leaves a later ledger keeps counting in the months whose ledger listed it; a
new ledger never rewrites past months. Every figure uses this: the report and the dashboard
(app/reports), the automatic top-N, screens 6 and 7 device counts (app/classifications),
the no-activity list and the manufacturer figures.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, DateTime, Integer, and_, false, func, literal, or_, select, true, union_all
from sqlalchemy.orm import aliased

from app.core.months import first_of_month, month_bounds
from app.extensions import db
from app.models import Equipment, LedgerListing

effective_counts = func.coalesce(Equipment.override_counts, Equipment.default_counts)


def ledger_month_in_force(ledger_months: list[dt.date], month: dt.date) -> dt.date | None:
    """Rule 1's "ledger in force": the latest of ``ledger_months`` (one hospital's) ≤ ``month``;
    before the first, the first; None when the hospital has no ledger."""
    if not ledger_months:
        return None
    month = first_of_month(month)
    earlier = [m for m in ledger_months if m <= month]
    return max(earlier) if earlier else min(ledger_months)


def device_windows(months: list[dt.date], hospital_ids=None, session=None):
    """Subquery with one row per month × hospital that has a ledger: ``idx`` (position in
    ``months``), ``hospital_id``, ``ms`` / ``me`` (the month's [start, end) as datetimes, the
    window app/reports/sql.clipped clips intervals to), ``month`` / ``next_month`` (dates)
    and ``ledger_month`` (the ledger in force). The hospitals' ledger months are read once
    (a handful of rows) and the rule applied here, so the result is a small literal table and
    the queries joining it stay plain index joins."""
    session = session or db.session
    query = select(LedgerListing.hospital_id, LedgerListing.month).distinct()
    if hospital_ids is not None:
        query = query.where(LedgerListing.hospital_id.in_(list(hospital_ids)))
    by_hospital: dict[int, list[dt.date]] = {}
    for hospital_id, month in session.execute(query):
        by_hospital.setdefault(hospital_id, []).append(month)

    def row(idx, hospital_id, month, ledger_month):
        start, end = month_bounds(month)
        return select(literal(idx, Integer).label("idx"), literal(hospital_id, Integer).label("hospital_id"),
                      literal(start, DateTime).label("ms"), literal(end, DateTime).label("me"),
                      literal(start.date(), Date).label("month"), literal(end.date(), Date).label("next_month"),
                      literal(ledger_month, Date).label("ledger_month"))

    rows = [row(i, hospital_id, m, ledger_month_in_force(ledger_months, m))
            for hospital_id, ledger_months in sorted(by_hospital.items())
            for i, m in enumerate(months)]
    if not rows:  # no ledger at all: an empty table of the same shape
        rows = [row(-1, -1, dt.date(2000, 1, 1), dt.date(2000, 1, 1)).where(false())]
    return (union_all(*rows) if len(rows) > 1 else rows[0]).subquery("device_windows")


def device_in_window(window, device=None, *, counted_only: bool = True):
    """THE definition, as an SQL condition on a row of :func:`device_windows` and a device:
    rules 1–4 of the module docstring. ``device`` is the ``Equipment`` entity (default) or a
    subquery's ``.c`` with Equipment's column names (``id``, ``hospital_id``,
    ``delivered_on``, ``disposed_on``, ``override_counts``, ``default_counts``).
    ``counted_only=False`` leaves out rule 4 (the no-activity list shows the devices of the
    month with their flag)."""
    d = Equipment if device is None else device
    listed = select(LedgerListing.equipment_id).where(
        LedgerListing.hospital_id == window.c.hospital_id, LedgerListing.month == window.c.ledger_month,
        LedgerListing.equipment_id == d.id).exists()
    # The listing names the hospital (a listing holds only its hospital's devices), so no
    # separate hospital condition: one would steer SQLite into reading the events once per month.
    clauses = [
        listed,
        or_(d.delivered_on.is_(None), d.delivered_on < window.c.next_month),
        or_(d.disposed_on.is_(None), d.disposed_on >= window.c.month),
    ]
    if counted_only:
        clauses.append(func.coalesce(d.override_counts, d.default_counts) == true())
    return and_(*clauses)


def devices_in_months(months: list[dt.date], hospital_ids=None, *, counted_only: bool = True, session=None):
    """Subquery (``idx``, ``equipment_id``) of every device in month ``months[idx]`` for the
    given hospitals (all hospitals when None)."""
    windows = device_windows(months, hospital_ids, session)
    # Driven from the listing (an index range per month × hospital), not from all equipment.
    listing = aliased(LedgerListing)
    return (
        select(windows.c.idx, Equipment.id.label("equipment_id"))
        .select_from(windows)
        .join(listing, and_(listing.hospital_id == windows.c.hospital_id, listing.month == windows.c.ledger_month))
        .join(Equipment, and_(Equipment.id == listing.equipment_id,
                              device_in_window(windows, counted_only=counted_only)))
        .subquery("devices_in_months")
    )


def devices_in_month(month: dt.date, hospital_ids=None, *, counted_only: bool = True, session=None):
    """``select(equipment_id)`` of the devices in one month, for ``Equipment.id.in_(…)``."""
    devices = devices_in_months([month], hospital_ids, counted_only=counted_only, session=session)
    return select(devices.c.equipment_id)


def latest_ledger_month(session, hospital_id: int) -> dt.date | None:
    return session.scalar(select(func.max(LedgerListing.month)).where(LedgerListing.hospital_id == hospital_id))


def list_devices(session, hospital_id: int, month: dt.date, equipment_ids) -> None:
    """Record that the hospital's ledger of ``month`` lists exactly ``equipment_ids``
    (replacing that month's listing). For seeds, tests and small writes; the ingest of a
    ledger file writes its listing in bulk (app/ingest/write.write_ledger)."""
    month = first_of_month(month)
    session.query(LedgerListing).filter_by(hospital_id=hospital_id, month=month).delete(synchronize_session=False)
    rows = [{"hospital_id": hospital_id, "month": month, "equipment_id": i} for i in sorted(set(equipment_ids))]
    if rows:
        session.execute(LedgerListing.__table__.insert(), rows)
