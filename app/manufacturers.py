"""Manufacturers: choosing hospitals (screen 9) and their pooled figures.

A manufacturer never sees a hospital's rows: it sees figures pooled over its selected
hospitals, and a pooled figure is shown only where at least ``MANUFACTURER_MIN_HOSPITALS``
(K) hospitals contribute to it — below K one hospital's figures could be read off.
"""
from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, or_, select

from . import audit
from .device_months import devices_in_month
from .extensions import db
from .models import (
    Classification,
    Equipment,
    Failure,
    Lending,
    Maker,
    ManufacturerSelection,
    Organization,
    OrganizationKind,
)

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
                   Organization.allows_manufacturer_access.is_(True))
            .order_by(Organization.code)
        )
    )


def selection(manufacturer_id: int) -> list[ManufacturerSelection]:
    return list(
        db.session.scalars(
            select(ManufacturerSelection)
            .where(ManufacturerSelection.manufacturer_id == manufacturer_id)
            .order_by(ManufacturerSelection.rank)
        )
    )


def visible_hospital_ids(manufacturer_id: int) -> list[int]:
    """Selected hospitals, in rank order, that still allow manufacturer access.

    A hospital that withdraws its consent drops out at once, without touching the selection.
    """
    return list(
        db.session.scalars(
            select(ManufacturerSelection.hospital_id)
            .join(Organization, Organization.id == ManufacturerSelection.hospital_id)
            .where(ManufacturerSelection.manufacturer_id == manufacturer_id,
                   Organization.kind == OrganizationKind.hospital.value,
                   Organization.allows_manufacturer_access.is_(True))
            .order_by(ManufacturerSelection.rank)
        )
    )


def save_selection(manufacturer: Organization, hospital_ids: list[int]) -> list[ManufacturerSelection]:
    """Replace the manufacturer's ordered selection; the first id is rank 1. Commits."""
    if manufacturer is None or manufacturer.kind != OrganizationKind.manufacturer.value:
        raise SelectionError(_("メーカーの組織ではありません"))
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
    before = [row.hospital_id for row in selection(manufacturer.id)]
    db.session.execute(
        delete(ManufacturerSelection).where(ManufacturerSelection.manufacturer_id == manufacturer.id)
    )
    db.session.flush()
    rows = [
        ManufacturerSelection(manufacturer_id=manufacturer.id, rank=rank, hospital_id=hospital_id)
        for rank, hospital_id in enumerate(ordered, start=1)
    ]
    db.session.add_all(rows)
    if before != ordered:
        audit.record("manufacturer_selection.update", manufacturer, organization_id=manufacturer.id,
                     changes={"hospital_ids": [before, ordered]})
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
    hidden_reason: str = ""

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
    by_classification: list[PooledRow]
    by_model: list[PooledRow]


def month_bounds(month: dt.date) -> tuple[dt.datetime, dt.datetime, int]:
    days = calendar.monthrange(month.year, month.month)[1]
    start = dt.datetime(month.year, month.month, 1)
    return start, start + dt.timedelta(days=days), days * 24


def hours_inside(start: dt.datetime, end: dt.datetime | None, lower: dt.datetime, upper: dt.datetime) -> float:
    """Hours of [start, end) inside [lower, upper); an open interval runs to ``upper``."""
    end = upper if end is None else min(end, upper)
    start = max(start, lower)
    return max((end - start).total_seconds() / 3600, 0.0)


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
        lending = _hours_by_device(Lending, Lending.lent_at, Lending.returned_at, hospital_ids, lower, upper)
        failure = _hours_by_device(Failure, Failure.failed_at, Failure.repaired_at, hospital_ids, lower, upper)
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
    for row in list(by_class.values()) + list(by_model.values()):
        row.visible = row.hospital_count >= k
        if not row.visible:
            row.hidden_reason = _(
                "非表示: 集計に含まれる医療機関が%(n)d施設で、%(k)d施設未満のため",
                n=row.hospital_count, k=k,
            )
    return PooledFigures(
        month=month, month_hours=month_hours, min_hospitals=k, hospital_count=len(hospital_ids),
        by_classification=sorted(by_class.values(), key=lambda r: (-r.devices, r.key)),
        by_model=sorted(by_model.values(), key=lambda r: (r.key[0], not r.own_maker, -r.devices, r.key)),
    )


def _hours_by_device(model, start_col, end_col, hospital_ids, lower, upper) -> dict[int, float]:
    hours: dict[int, float] = defaultdict(float)
    rows = db.session.execute(
        select(model.equipment_id, start_col, end_col).where(
            model.hospital_id.in_(hospital_ids), start_col < upper,
            or_(end_col.is_(None), end_col > lower),
        )
    ).all()
    for equipment_id, start, end in rows:
        hours[equipment_id] += hours_inside(start, end, lower, upper)
    return hours
