"""Manufacturers: choosing hospitals (screen 9) and their pooled figures.

A manufacturer never sees a hospital's rows: it sees figures pooled over its selected
hospitals, and a pooled figure is shown only where at least ``MANUFACTURER_MIN_HOSPITALS``
(K) hospitals contribute to it — below K one hospital's figures could be read off.

Two ways around K are closed here (docs/dealers-and-manufacturers.md):

- subtraction within a page: a classification total minus its visible model rows would give
  a hidden row, so a classification with exactly one hidden model row hides one more
  (complementary suppression, :func:`suppress`); hidden rows are left out of the page;
- subtraction across selections: the same month's figures over {A, B, C} and over {A, B, D}
  differ by C − D, so a selection is stored per month and a change applies from the next month
  (:func:`save_selection`); the figures of a month always use that month's selection.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, func, select

from app.access.aggregate import selected_hospital_ids, selection_month
from app.core.months import add_months, current_month, hours_in_month
from app.core.months import month_bounds as month_range
from app.extensions import db
from app.models import (
    Classification,
    Equipment,
    Failure,
    Lending,
    Maker,
    ManufacturerSelection,
    Organization,
    OrganizationKind,
)
from app.models.dealer import FIRST_SELECTION_MONTH
from app.services.audit import trail as audit
from app.services.ledger.device_months import devices_in_month
from app.services.reports.sql import clipped, month_windows

UNMAPPED = "未紐付け"
UNKNOWN = "（不明）"


class SelectionError(ValueError):
    """A refused selection; the message is shown to the manufacturer."""


def candidate_hospitals() -> list[Organization]:
    """Hospitals that allow manufacturers to view them (an operator setting, default off)."""
    return list(
        db.session.scalars(
            select(Organization)
            .where(Organization.kind == OrganizationKind.hospital.value,
                   Organization.allows_manufacturer_access.is_(True), Organization.is_active.is_(True))
            .order_by(Organization.code)
        )
    )


def latest_selection_month(manufacturer_id: int) -> dt.date | None:
    return db.session.scalar(select(func.max(ManufacturerSelection.month))
                             .where(ManufacturerSelection.manufacturer_id == manufacturer_id))


def selection(manufacturer_id: int, month: dt.date | None = None) -> list[ManufacturerSelection]:
    """The selection in force in ``month``; by default the latest saved (perhaps not yet in force)."""
    since = latest_selection_month(manufacturer_id) if month is None else \
        selection_month(manufacturer_id, month)
    if since is None:
        return []
    return list(
        db.session.scalars(
            select(ManufacturerSelection)
            .where(ManufacturerSelection.manufacturer_id == manufacturer_id,
                   ManufacturerSelection.month == since)
            .order_by(ManufacturerSelection.rank)
        )
    )


def visible_hospital_ids(manufacturer_id: int, month: dt.date | None = None) -> list[int]:
    """Hospitals of the selection in force in ``month`` (default: this month), in rank order,
    that still allow manufacturer access. A withdrawn consent counts at once."""
    return selected_hospital_ids(manufacturer_id, month or current_month())


def change_month(today_month: dt.date | None = None) -> dt.date:
    """The first month a change saved now applies to: the next one."""
    return add_months(today_month or current_month(), 1)


def save_selection(manufacturer: Organization, hospital_ids: list[int],
                   today_month: dt.date | None = None) -> list[ManufacturerSelection]:
    """Store the manufacturer's ordered selection (the first id is rank 1). Commits.

    A manufacturer's first selection applies at once and to past months (there is no earlier
    one to subtract); a later change applies from the next month, replacing any change saved
    earlier this month. Returns the rows saved.
    """
    if manufacturer is None or manufacturer.kind != OrganizationKind.manufacturer.value:
        raise SelectionError(_("メーカーの組織ではありません"))
    if not hospital_ids:
        raise SelectionError(_("医療機関を1件以上選択してください"))
    ordered: list[int] = []
    for hospital_id in hospital_ids:
        if hospital_id in ordered:
            raise SelectionError(_("同じ医療機関が2回選択されています"))
        ordered.append(hospital_id)
    limit = manufacturer.manufacturer_selection_count
    if len(ordered) > limit:
        raise SelectionError(
            _("選択できる医療機関は%(limit)d件までです（%(count)d件選択されています）",
              limit=limit, count=len(ordered))
        )
    allowed = {hospital.id for hospital in candidate_hospitals()}
    refused = [hospital_id for hospital_id in ordered if hospital_id not in allowed]
    if refused:
        raise SelectionError(_("メーカーの閲覧を許可していない医療機関は選択できません"))
    today_month = today_month or current_month()
    before = [row.hospital_id for row in selection(manufacturer.id)]
    in_force = selection(manufacturer.id, today_month)
    if latest_selection_month(manufacturer.id) is None:
        month = FIRST_SELECTION_MONTH
    else:
        month = change_month(today_month)
    # One selection per month: a change saved again this month replaces the pending one.
    db.session.execute(
        delete(ManufacturerSelection).where(ManufacturerSelection.manufacturer_id == manufacturer.id,
                                            ManufacturerSelection.month > today_month)
    )
    db.session.flush()
    rows = []
    if month == FIRST_SELECTION_MONTH or ordered != [row.hospital_id for row in in_force]:
        rows = [
            ManufacturerSelection(manufacturer_id=manufacturer.id, month=month, rank=rank,
                                  hospital_id=hospital_id)
            for rank, hospital_id in enumerate(ordered, start=1)
        ]
        db.session.add_all(rows)
    else:  # back to the selection in force: nothing pending
        rows = in_force
    if before != ordered:
        audit.record("manufacturer_selection.update", manufacturer, organization_id=manufacturer.id,
                     changes={"hospital_ids": [before, ordered], "from_month": [None, month.isoformat()]})
    db.session.commit()
    return rows


# ---------------------------------------------------------------- pooled figures


@dataclass
class PooledRow:
    key: tuple[str, ...]
    own_maker: bool = False
    hospitals: set[int] = field(default_factory=set)
    devices: int = 0
    lending_hours: float = 0.0
    failure_hours: float = 0.0
    ending_within_year: int = 0
    visible: bool = False

    @property
    def hospital_count(self) -> int:
        return len(self.hospitals)

    def rate(self, hours: float, month_hours: int) -> float | None:
        return hours / (self.devices * month_hours) if self.devices else None


@dataclass
class PooledFigures:
    month: dt.date
    month_hours: int
    min_hospitals: int
    hospital_count: int
    # Only the rows shown; hidden rows never leave this module, only their number.
    by_classification: list[PooledRow]
    by_model: list[PooledRow]
    hidden_count: int = 0


def own_maker_names(manufacturer_id: int) -> list[str]:
    """The makers of the makers master that are this manufacturer (Maker.organization_id):
    their rows are 「自社」. The organization's own name need not be one of them (a group's
    sales company, a brand), so the screen names them."""
    return list(db.session.scalars(
        select(Maker.name).where(Maker.organization_id == manufacturer_id).order_by(Maker.name)))


def month_bounds(month: dt.date) -> tuple[dt.datetime, dt.datetime, int]:
    start, end = month_range(month)
    return start, end, hours_in_month(month)


def _classification_names() -> dict[int, str]:
    """Every classification id → the common (SMDS) name pooled rows are grouped by."""
    rows = db.session.execute(
        select(Classification.id, Classification.name, Classification.hospital_id,
               Classification.smds_classification_id)
    ).all()
    names = {row.id: row.name for row in rows}
    result = {}
    for row in rows:
        if row.hospital_id is None:
            result[row.id] = row.name
        elif row.smds_classification_id is not None:
            result[row.id] = names.get(row.smds_classification_id, UNMAPPED)
        else:
            result[row.id] = UNMAPPED
    return result


def pooled_figures(manufacturer_id: int, hospital_ids, month: dt.date,
                   min_hospitals: int | None = None) -> PooledFigures:
    """Figures of ``hospital_ids`` (the caller passes the scope's aggregate hospitals) pooled
    by classification, and by classification × maker × model."""
    k = min_hospitals if min_hospitals is not None else current_app.config["MANUFACTURER_MIN_HOSPITALS"]
    hospital_ids = sorted(set(hospital_ids))
    lower, upper, month_hours = month_bounds(month)
    horizon = upper.date() + dt.timedelta(days=365)
    by_class: dict[tuple, PooledRow] = {}
    by_model: dict[tuple, PooledRow] = {}
    if hospital_ids:
        names = _classification_names()
        own_makers = set(db.session.scalars(
            select(Maker.id).where(Maker.organization_id == manufacturer_id)))
        maker_names = dict(db.session.execute(select(Maker.id, Maker.name)).all())
        lending = _hours_by_device(Lending, Lending.lent_at, Lending.returned_at, hospital_ids, month)
        failure = _hours_by_device(Failure, Failure.failed_at, Failure.repaired_at, hospital_ids, month)
        # "device in M" (app/device_months.py): the same devices the hospitals' reports count.
        devices = db.session.execute(
            select(Equipment.id, Equipment.hospital_id, Equipment.classification_id,
                   Equipment.override_classification_id, Equipment.maker_id, Equipment.maker_name,
                   Equipment.model_number, Equipment.expires_on)
            .where(Equipment.id.in_(devices_in_month(month, hospital_ids)))
        ).all()
        for device in devices:
            class_id = device.override_classification_id or device.classification_id
            class_name = names.get(class_id, UNMAPPED) if class_id else UNMAPPED
            maker = maker_names.get(device.maker_id) or device.maker_name or UNKNOWN
            model = device.model_number or UNKNOWN
            for table, key in ((by_class, (class_name,)), (by_model, (class_name, maker, model))):
                row = table.get(key)
                if row is None:
                    row = table[key] = PooledRow(key=key)
                row.own_maker = row.own_maker or (len(key) > 1 and device.maker_id in own_makers)
                row.hospitals.add(device.hospital_id)
                row.devices += 1
                row.lending_hours += lending.get(device.id, 0.0)
                row.failure_hours += failure.get(device.id, 0.0)
                if device.expires_on is not None and upper.date() <= device.expires_on < horizon:
                    row.ending_within_year += 1
    hidden = suppress(by_class, by_model, k)
    return PooledFigures(
        month=month, month_hours=month_hours, min_hospitals=k, hospital_count=len(hospital_ids),
        by_classification=sorted((r for r in by_class.values() if r.visible),
                                 key=lambda r: (-r.devices, r.key)),
        by_model=sorted((r for r in by_model.values() if r.visible),
                        key=lambda r: (r.key[0], not r.own_maker, -r.devices, r.key)),
        hidden_count=hidden,
    )


def figures_for_month(manufacturer_id: int, month: dt.date,
                      min_hospitals: int | None = None) -> PooledFigures:
    """The figures of ``month`` over the selection in force that month (never another one)."""
    return pooled_figures(manufacturer_id, visible_hospital_ids(manufacturer_id, month), month,
                          min_hospitals=min_hospitals)


def suppress(by_class: dict[tuple, PooledRow], by_model: dict[tuple, PooledRow], k: int) -> int:
    """Mark which rows are shown; return how many are hidden.

    Primary: a row pooled over fewer than ``k`` hospitals is hidden. Complementary: a
    classification's total is the sum of its model rows (devices, hours, devices ending), so
    if exactly one term of that sum is hidden it equals the total minus the shown terms; the
    smallest shown model row of the classification is hidden too (or, lacking one, the total).
    A hidden total hides its model rows: they are pooled over no more hospitals than it.
    """
    for row in list(by_class.values()) + list(by_model.values()):
        row.visible = row.hospital_count >= k
    parts: dict[str, list[PooledRow]] = defaultdict(list)
    for row in by_model.values():
        parts[row.key[0]].append(row)
    for name, total in by_class.items():
        models = parts.get(name[0], [])
        if not total.visible:
            for row in models:
                row.visible = False
            continue
        if sum(not row.visible for row in models) == 1:
            shown = sorted((r for r in models if r.visible), key=lambda r: (r.devices, r.key))
            if shown:
                shown[0].visible = False
            else:
                total.visible = False
    return sum(not row.visible for row in list(by_class.values()) + list(by_model.values()))


def _hours_by_device(model, start_col, end_col, hospital_ids, month: dt.date) -> dict[int, float]:
    """Hours inside the month per device, by the figures' one SQL interval rule."""
    window = month_windows([month])
    overlaps, hours = clipped(start_col, end_col, window)
    rows = db.session.execute(
        select(model.equipment_id, func.sum(hours)).select_from(model).join(window, overlaps)
        .where(model.hospital_id.in_(hospital_ids)).group_by(model.equipment_id)
    ).all()
    return {equipment_id: float(total or 0.0) for equipment_id, total in rows}
