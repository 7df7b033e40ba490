"""The "no activity" marker of the ledger (screen 5).

Decision (issue 5): a device's default "counts in aggregation" is true whenever the latest
ledger lists it — with or without activity — so a month with few lendings does not shrink
the denominator by itself. Devices with no lending and no failure in the 12 months before a
month get a visible "no activity" marker instead, computed here rather than stored, so it is
always current. The owner's PoC used "has activity" as the default; the hospital can still
exclude such devices by an override. Which months a device counts in is decided by the
ledgers that list it (app/device_months.py), not by this marker or the default flag.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import exists, or_, select

from app.core.months import add_months, month_bounds
from app.models import Failure, Lending
from app.services.reports.sql import overlap_condition


def recent_activity(equipment_id_column, as_of: dt.date):
    """An SQL boolean: the device has a lending or failure in the 12 months before the
    month of ``as_of`` (that month included)."""
    month = as_of.replace(day=1)
    start, end = month_bounds(add_months(month, -11))[0], month_bounds(month)[1]
    # The figures' interval rule (app.services.reports.sql): an event with no known end runs to the
    # end of the last month whose file listed it open, so an old unreturned lending is not
    # activity forever.
    lent = exists().where(Lending.equipment_id == equipment_id_column,
                          overlap_condition(Lending.lent_at, Lending.returned_at, start, end))
    failed = exists().where(Failure.equipment_id == equipment_id_column,
                            overlap_condition(Failure.failed_at, Failure.repaired_at, start, end))
    return or_(lent, failed)


def no_activity(equipment_id_column, as_of: dt.date):
    return ~recent_activity(equipment_id_column, as_of)


def active_devices(session, equipment_ids: list[int], as_of: dt.date) -> set[int]:
    """Of ``equipment_ids`` (one page of the ledger), those with a lending or failure in the
    12 months before the month of ``as_of``: the same rule as :func:`recent_activity`, as two
    look-ups by device (indexed) instead of a subquery per listed row."""
    if not equipment_ids:
        return set()
    month = as_of.replace(day=1)
    start, end = month_bounds(add_months(month, -11))[0], month_bounds(month)[1]
    found: set[int] = set()
    for model, begin, finish in ((Lending, Lending.lent_at, Lending.returned_at),
                                 (Failure, Failure.failed_at, Failure.repaired_at)):
        missing = [i for i in equipment_ids if i not in found]
        if missing:
            found.update(session.scalars(
                select(model.equipment_id).where(model.equipment_id.in_(missing),
                                                 overlap_condition(begin, finish, start, end)).distinct()))
    return found
