"""The data-quality section of a hospital-month (analysis workbook and dashboard).

What the figures cannot explain by themselves, listed with the rows behind it:
- events whose end is unknown (返却日不明 / 修理日不明): no known end, and no file for the
  month or later listed them as open, so they count nowhere from that month on
  (docs/figures.md "Events across files");
- devices whose lending hours inside the month exceed the hours of the month (the source
  lends one device twice at the same time; utilization over 100 % comes from these);
- lendings that overlap the month and last longer than :data:`LONG_LENDING_DAYS` days (an
  open one counts to the end of the last month that listed it).

One domain function, :func:`data_quality`, computes it; the workbook and the dashboard only
render it. No request, no Redis.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, select

from app.core.months import add_months, hours_in_month, month_bounds
from app.extensions import db
from app.models import Equipment, Failure, Lending
from app.services.reports.sql import clipped, effective_end, fetch_rows, hours_between, month_windows

LONG_LENDING_DAYS = 90
UNKNOWN_END_LABELS = {"lending": "返却日不明", "failure": "修理日不明"}


@dataclass
class UnknownEnd:
    kind: str  # lending / failure
    label: str  # 返却日不明 / 修理日不明
    device_number: str
    product: str | None
    start: dt.datetime
    last_listed: dt.date | None  # the last month whose file listed it as open


@dataclass
class BookedRow:
    start: dt.datetime
    end: dt.datetime | None
    hours: float  # inside the month
    department: str | None


@dataclass
class OverBookedDevice:
    device_number: str
    product: str | None
    hours: float
    rows: list[BookedRow] = field(default_factory=list)


@dataclass
class LongLending:
    device_number: str
    product: str | None
    start: dt.datetime
    end: dt.datetime | None  # None: not returned yet (counted to ``counted_until``)
    counted_until: dt.datetime
    days: float


@dataclass
class DataQuality:
    month: dt.date
    hours_in_month: int
    unknown_end: list[UnknownEnd]
    over_booked: list[OverBookedDevice]
    long_lendings: list[LongLending]

    @property
    def count(self) -> int:
        return len(self.unknown_end) + len(self.over_booked) + len(self.long_lendings)


def data_quality(hospital_id: int, month: dt.date) -> DataQuality:
    month = dt.date(month.year, month.month, 1)
    return DataQuality(month, hours_in_month(month), unknown_end_events(hospital_id, month),
                       over_booked_devices(hospital_id, month), long_lendings(hospital_id, month))


def unknown_end_events(hospital_id: int, month: dt.date) -> list[UnknownEnd]:
    """Events started before the month's end with no known end that no file of the month or
    later listed as open: not counted in ``month``."""
    month_start, month_end = month_bounds(month)
    found = []
    for kind, model, start, end in (("lending", Lending, Lending.lent_at, Lending.returned_at),
                                    ("failure", Failure, Failure.failed_at, Failure.repaired_at)):
        rows = db.session.execute(
            select(Equipment.device_number, Equipment.product_name, start, model.open_until)
            .join(Equipment, Equipment.id == model.equipment_id)
            .where(model.hospital_id == hospital_id, end.is_(None), start < month_end,
                   (model.open_until.is_(None)) | (model.open_until <= month_start))
            .order_by(Equipment.device_number, start)).all()
        found += [UnknownEnd(kind, UNKNOWN_END_LABELS[kind], number, product, began,
                             None if until is None else add_months(until.date(), -1))
                  for number, product, began, until in rows]
    return found


def over_booked_devices(hospital_id: int, month: dt.date) -> list[OverBookedDevice]:
    """Devices with more lending hours inside the month than the month has, with their
    lendings of the month."""
    window = month_windows([month])
    overlaps, hours = clipped(Lending.lent_at, Lending.returned_at, window)
    limit = hours_in_month(month)
    totals = fetch_rows(
        select(Lending.equipment_id, func.sum(hours)).select_from(Lending).join(window, overlaps)
        .where(Lending.hospital_id == hospital_id)
        .group_by(Lending.equipment_id).having(func.sum(hours) > limit + 1e-9))
    if not totals:
        return []
    by_id = {equipment_id: total for equipment_id, total in totals}
    rows = fetch_rows(
        select(Equipment.id, Equipment.device_number, Equipment.product_name, Lending.lent_at,
               Lending.returned_at, hours, Lending.department)
        .select_from(Lending).join(window, overlaps).join(Equipment, Equipment.id == Lending.equipment_id)
        .where(Lending.hospital_id == hospital_id, Lending.equipment_id.in_(list(by_id)))
        .order_by(Equipment.device_number, Lending.lent_at))
    devices: dict[int, OverBookedDevice] = {}
    for equipment_id, number, product, start, end, inside, department in rows:
        device = devices.setdefault(equipment_id, OverBookedDevice(number, product, by_id[equipment_id]))
        device.rows.append(BookedRow(start, end, inside or 0.0, department))
    return list(devices.values())


def long_lendings(hospital_id: int, month: dt.date, days: int = LONG_LENDING_DAYS) -> list[LongLending]:
    """Lendings overlapping the month that last more than ``days`` days (start to the known
    end, or to the end of the last month that listed them open)."""
    window = month_windows([month])
    overlaps, _hours = clipped(Lending.lent_at, Lending.returned_at, window)
    until = effective_end(Lending.returned_at)
    length = hours_between(Lending.lent_at, until)
    rows = db.session.execute(
        select(Equipment.device_number, Equipment.product_name, Lending.lent_at, Lending.returned_at, until)
        .select_from(Lending).join(window, overlaps).join(Equipment, Equipment.id == Lending.equipment_id)
        .where(Lending.hospital_id == hospital_id, length > days * 24)
        .order_by(Equipment.device_number, Lending.lent_at)).all()
    return [LongLending(number, product, start, end, counted, (counted - start).total_seconds() / 86400)
            for number, product, start, end, counted in rows]
