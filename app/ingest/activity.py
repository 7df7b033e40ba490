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

from sqlalchemy import exists, func, or_

from ..models import Failure, Lending
from ..months import add_months, first_of_month


def recent_activity(equipment_id_column, as_of: dt.date):
    """An SQL boolean: the device has a lending or failure in the 12 months before the
    month of ``as_of`` (that month included)."""
    end = dt.datetime.combine(add_months(first_of_month(as_of), 1), dt.time())
    start = dt.datetime.combine(add_months(first_of_month(as_of), -11), dt.time())
    # An interval with no end counts from its start only: an old unreturned lending is not
    # activity forever.
    lent = exists().where(Lending.equipment_id == equipment_id_column, Lending.lent_at < end,
                          func.coalesce(Lending.returned_at, Lending.lent_at) >= start)
    failed = exists().where(Failure.equipment_id == equipment_id_column, Failure.failed_at < end,
                            func.coalesce(Failure.repaired_at, Failure.failed_at) >= start)
    return or_(lent, failed)


def no_activity(equipment_id_column, as_of: dt.date):
    return ~recent_activity(equipment_id_column, as_of)
