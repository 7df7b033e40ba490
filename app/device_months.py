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

from sqlalchemy import Date, Integer, and_, func, literal, or_, select, true, union_all
from sqlalchemy.orm import aliased

from .models import Equipment, LedgerListing
from .months import add_months, first_of_month

effective_counts = func.coalesce(Equipment.override_counts, Equipment.default_counts)


def _windows(months: list[dt.date]):
    """One row per month: ``idx`` (position in ``months``), ``month`` (its 1st), ``next_month``."""
    rows = [
        select(literal(i, Integer).label("idx"), literal(first_of_month(m), Date).label("month"),
               literal(add_months(first_of_month(m), 1), Date).label("next_month"))
        for i, m in enumerate(months)
    ]
    return (union_all(*rows) if len(rows) > 1 else rows[0]).subquery("device_windows")


def ledgers_in_force(months: list[dt.date], hospital_ids=None):
    """Subquery (``idx``, ``month``, ``next_month``, ``hospital_id``, ``ledger_month``): the
    ledger month in force for each month × hospital that has a ledger."""
    windows = _windows(months)
    hospitals = select(LedgerListing.hospital_id).distinct()
    if hospital_ids is not None:
        hospitals = hospitals.where(LedgerListing.hospital_id.in_(list(hospital_ids)))
    hospitals = hospitals.subquery("ledger_hospitals")
    listing = aliased(LedgerListing)
    latest_before = (select(func.max(listing.month))
                     .where(listing.hospital_id == hospitals.c.hospital_id, listing.month <= windows.c.month)
                     .scalar_subquery())
    first = select(func.min(listing.month)).where(listing.hospital_id == hospitals.c.hospital_id).scalar_subquery()
    return (
        select(windows.c.idx, windows.c.month, windows.c.next_month, hospitals.c.hospital_id,
               func.coalesce(latest_before, first).label("ledger_month"))
        .select_from(windows).join(hospitals, true())
        .subquery("ledgers_in_force")
    )


def devices_in_months(months: list[dt.date], hospital_ids=None, *, counted_only: bool = True):
    """THE definition: subquery (``idx``, ``equipment_id``) of every device in month
    ``months[idx]`` for the given hospitals (all hospitals when None).

    ``counted_only=False`` leaves out rule 4 (the no-activity list shows the devices of the
    month with their flag); everything else always applies.
    """
    forces = ledgers_in_force(months, hospital_ids)
    query = (
        select(forces.c.idx, LedgerListing.equipment_id.label("equipment_id"))
        .select_from(forces)
        .join(LedgerListing, and_(LedgerListing.hospital_id == forces.c.hospital_id,
                                  LedgerListing.month == forces.c.ledger_month))
        .join(Equipment, Equipment.id == LedgerListing.equipment_id)
        .where(or_(Equipment.delivered_on.is_(None), Equipment.delivered_on < forces.c.next_month),
               or_(Equipment.disposed_on.is_(None), Equipment.disposed_on >= forces.c.month))
    )
    if counted_only:
        query = query.where(effective_counts == true())
    return query.subquery("devices_in_months")


def devices_in_month(month: dt.date, hospital_ids=None, *, counted_only: bool = True):
    """``select(equipment_id)`` of the devices in one month, for ``Equipment.id.in_(…)``."""
    devices = devices_in_months([month], hospital_ids, counted_only=counted_only)
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
