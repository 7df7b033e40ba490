"""Figures of one hospital-month, computed with SQL aggregates.

A handful of grouped queries (per month × report classification) read the lendings and
failures once; Python only combines the grouped rows into scopes (all devices, then each
classification of the report selection) — it never loops over lendings or failures.
Definitions of ① and ② live in :mod:`app.services.reports.definitions`; ③–⑥ are documented on
the functions below and in docs/figures.md.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from flask_babel import gettext
from sqlalchemy import Date, and_, case, func, literal, select

from app.core.months import add_months, first_of_month, hours_in_month, months_ending
from app.extensions import db
from app.models import (
    Classification,
    Failure,
    Lending,
    Organization,
    ReportSelection,
    UploadFile,
    UploadStatus,
)
from app.services.ledger.device_months import device_in_window, device_windows
from app.services.reports.definitions import (
    FAILURE_FIGURES,
    LENDING_FIGURES,
    MonthAggregate,
    SummaryRow,
    summarize,
)
from app.services.reports.sql import (
    LIFE_BUCKETS,
    anniversary,
    clipped,
    counted_devices,
    fetch_rows,
    life_bucket,
    month_windows,
)

TREND_MONTHS = 13
CURRENT = TREND_MONTHS - 1  # index of the report month in the 13 months
LIFE_LABELS = {
    "expired": "期限切れ", "0": "1年未満", **{str(n): f"{n}年" for n in range(1, 10)},
    "10+": "10年以上", "unknown": "使用期限なし",
}
UNCLASSIFIED = "（未分類）"


@dataclass
class Scope:
    """All devices (``groups`` None) or one report classification (its group ids)."""

    key: str
    name: str
    groups: frozenset | None = None

    def covers(self, group) -> bool:
        return self.groups is None or group in self.groups


@dataclass
class ScopeFigures:
    scope: Scope
    lending: list[SummaryRow]
    failure: list[SummaryRow]
    life: list[dict]
    models_near_end: list[dict]
    top_models: list[dict]


@dataclass
class HospitalMonthFigures:
    hospital_id: int
    hospital_name: str
    month: dt.date
    months: list[dt.date]
    hours_in_month: int
    level: int
    automatic: bool
    scopes: list[ScopeFigures] = field(default_factory=list)
    ranking: list[dict] = field(default_factory=list)
    grouping: str = "own"  # the hospital's own classifications, or "smds" groups

    def scope(self, key: str) -> ScopeFigures | None:
        return next((s for s in self.scopes if s.scope.key == key), None)


def _months_with_data(hospital_id: int, months: list[dt.date]) -> set[dt.date]:
    """Months whose data came in: a lending or failure row of that upload month, or a
    succeeded upload. Other months have no figures (shown as —), so the 12-month mean is
    not pulled down by months before the hospital joined."""
    found = set()
    for model in (Lending, Failure):
        found |= set(db.session.scalars(select(model.month).distinct().where(
            model.hospital_id == hospital_id, model.month.in_(months))))
    found |= set(db.session.scalars(select(UploadFile.month).distinct().where(
        UploadFile.hospital_id == hospital_id, UploadFile.month.in_(months),
        UploadFile.status.in_([UploadStatus.succeeded.value,
                               UploadStatus.succeeded_with_rejections.value]))))
    return {first_of_month(m) if isinstance(m, dt.date) else m for m in found}


def _device_hours(hospital_id, devices, windows, in_windows):
    """Per month × device in that month: lendings and lending hours inside the month. The
    lendings are summed per month × device first (one pass over the lendings, as SQLite
    plans it best), then only the devices of each month are kept."""
    overlaps, hours = clipped(Lending.lent_at, Lending.returned_at, windows)
    summed = (
        select(windows.c.idx, Lending.equipment_id, func.count(Lending.id).label("n"), func.sum(hours).label("h"))
        .select_from(Lending).join(windows, overlaps)
        .where(Lending.hospital_id == hospital_id)
        .group_by(windows.c.idx, Lending.equipment_id)
        .subquery("lending_sums")
    )
    return (
        select(summed.c.idx, devices.c.cls, summed.c.equipment_id, summed.c.n, summed.c.h)
        .select_from(summed)
        .join(devices, devices.c.equipment_id == summed.c.equipment_id)
        .join(in_windows, and_(in_windows.c.idx == summed.c.idx, device_in_window(in_windows, devices.c)))
        .subquery("device_hours")
    )


def _device_failure_hours(hospital_id, devices, windows):
    """Per month × device in that month (``windows``: app/device_months.device_windows):
    failures, their hours inside the month (summed), and the longest and shortest single
    failure."""
    overlaps, hours = clipped(Failure.failed_at, Failure.repaired_at, windows)
    return (
        select(windows.c.idx, devices.c.cls, Failure.equipment_id, func.count(Failure.id).label("n"),
               func.sum(hours).label("h"), func.max(hours).label("longest"), func.min(hours).label("shortest"))
        .select_from(Failure)
        .join(windows, overlaps)
        .join(devices, and_(devices.c.equipment_id == Failure.equipment_id, device_in_window(windows, devices.c)))
        .where(Failure.hospital_id == hospital_id)
        .group_by(windows.c.idx, devices.c.cls, Failure.equipment_id)
        .subquery("device_failures")
    )


def report_grouping(hospital: Organization) -> str:
    return "smds" if hospital.report_grouping == "smds" else "own"


def smds_levels() -> int:
    """The deepest level of the active SMDS master (1 while it is one flat list)."""
    return db.session.scalar(select(func.max(Classification.level)).where(
        Classification.hospital_id.is_(None), Classification.is_active.is_(True))) or 1


def resolve_selection(hospital: Organization) -> tuple[int, bool, list[Scope]]:
    """The report's level and classification scopes: the saved selection in rank order (up
    to the rank count) at its level, or — with no rows — "automatic": the rank-count
    classifications with the most devices at the hospital's analysis level (grouped by SMDS
    groups: at most the SMDS master's depth). Under SMDS grouping only a selection of SMDS
    classifications applies."""
    grouping = report_grouping(hospital)
    rows = db.session.scalars(
        select(ReportSelection).where(ReportSelection.hospital_id == hospital.id)
        .order_by(ReportSelection.rank).limit(hospital.report_rank_count)).all()
    if grouping == "smds":
        rows = [r for r in rows if r.classification.hospital_id is None]
    if rows:
        return rows[0].classification.level, False, [_scope_of(r.classification, hospital.id, grouping)
                                                     for r in rows]
    if grouping == "smds":
        return min(hospital.analysis_level, smds_levels()), True, []
    return hospital.analysis_level, True, []


def _scope_of(classification: Classification, hospital_id: int, grouping: str = "own") -> Scope:
    if classification.hospital_id is not None or grouping == "smds":
        return Scope(f"c{classification.id}", classification.name, frozenset({classification.id}))
    # A common (SMDS) classification: the hospital's classifications mapped to it.
    mapped = db.session.scalars(select(Classification.id).where(
        Classification.hospital_id == hospital_id,
        Classification.smds_classification_id == classification.id)).all()
    return Scope(f"c{classification.id}", classification.name, frozenset(mapped))


def compute_figures(hospital_id: int, month: dt.date) -> HospitalMonthFigures:
    month = first_of_month(month)
    hospital = db.session.get(Organization, hospital_id)
    months = months_ending(month, TREND_MONTHS)
    H = hours_in_month(month)

    # Device counts per group decide the automatic selection, so read them at the saved
    # selection's level (or the analysis level) first. Each month counts its own devices
    # ("device in M"); the selection and ⑥ use the report month's.
    level, automatic, scopes = resolve_selection(hospital)
    grouping = report_grouping(hospital)
    devices = counted_devices(hospital_id, level, grouping=grouping)
    windows = device_windows(months, [hospital_id])
    monthly_counts: list[dict] = [defaultdict(int) for _ in months]
    for idx, g, n in db.session.execute(
            select(windows.c.idx, devices.c.cls, func.count()).select_from(windows)
            .join(devices, device_in_window(windows, devices.c)).group_by(windows.c.idx, devices.c.cls)):
        monthly_counts[idx][g] += n
    device_counts = dict(monthly_counts[CURRENT])
    if automatic:
        ranked = sorted(((n, g) for g, n in device_counts.items() if g is not None),
                        key=lambda item: (-item[0], item[1]))[: hospital.report_rank_count]
        names = _names([g for _, g in ranked])
        scopes = [Scope(f"c{g}", names.get(g, str(g)), frozenset({g})) for _, g in ranked]
    scopes = [Scope("all", gettext("全機器"))] + scopes

    per_device = _device_hours(hospital_id, devices, month_windows(months), windows)
    lending_rows = fetch_rows(
        select(per_device.c.idx, per_device.c.cls, func.count().label("lent_devices"),
               func.sum(per_device.c.n), func.sum(per_device.c.h), func.max(per_device.c.h))
        .group_by(per_device.c.idx, per_device.c.cls))
    per_device_failure = _device_failure_hours(hospital_id, devices, windows)
    failure_rows = fetch_rows(
        select(per_device_failure.c.idx, per_device_failure.c.cls, func.count(),
               func.sum(per_device_failure.c.n), func.sum(per_device_failure.c.h),
               func.max(per_device_failure.c.longest), func.min(per_device_failure.c.shortest),
               func.max(per_device_failure.c.h), func.min(per_device_failure.c.h))
        .group_by(per_device_failure.c.idx, per_device_failure.c.cls))
    with_data = _months_with_data(hospital_id, months)

    result = HospitalMonthFigures(hospital_id, hospital.name, month, months, H, level, automatic,
                                  grouping=grouping)
    for scope in scopes:
        aggregates = [MonthAggregate(hours_in_month(m), has_data=m in with_data,
                                     devices=sum(n for g, n in monthly_counts[i].items() if scope.covers(g)))
                      for i, m in enumerate(months)]
        for idx, g, lent, n, hours, longest in lending_rows:
            if scope.covers(g):
                a = aggregates[idx]
                a.lent_devices += lent
                a.lendings += n
                a.lending_hours += hours or 0.0
                a.max_device_hours = _max(a.max_device_hours, longest)
        for idx, g, failed, n, hours, longest, shortest, device_most, device_least in failure_rows:
            if scope.covers(g):
                a = aggregates[idx]
                a.failed_devices += failed
                a.failures += n
                a.failure_hours += hours or 0.0
                a.max_failure_hours = _max(a.max_failure_hours, longest)
                a.min_failure_hours = _min(a.min_failure_hours, shortest)
                a.max_device_failure_hours = _max(a.max_device_failure_hours, device_most)
                a.min_device_failure_hours = _min(a.min_device_failure_hours, device_least)
        result.scopes.append(ScopeFigures(scope, summarize(LENDING_FIGURES, aggregates),
                                          summarize(FAILURE_FIGURES, aggregates), [], [], []))

    current = per_device.c.idx == CURRENT
    in_month = device_windows([month], [hospital_id])
    devices_now = (select(devices).select_from(in_month).join(devices, device_in_window(in_month, devices.c))
                   .subquery("devices_now"))
    _remaining_life(result, devices_now, devices, per_device, current, month)
    _models_near_end(result, devices_now, month)
    _top_models(result, hospital_id, devices_now, in_month)
    result.ranking = utilization_ranking(device_counts, lending_rows, H)
    _earlier_ranks(result.ranking, device_counts, lending_rows, months, with_data)
    return result


def _max(a, b):
    return b if a is None else a if b is None else max(a, b)


def _min(a, b):
    return b if a is None else a if b is None else min(a, b)


def _first_name(a, b):
    """The smaller of two product names (None last): the same name for a model whatever
    order the database returns its rows in."""
    return b if a is None else a if b is None else min(a, b)


def _names(ids) -> dict:
    if not ids:
        return {}
    return dict(db.session.execute(
        select(Classification.id, Classification.name).where(Classification.id.in_(ids))).all())


def reference_day(month: dt.date) -> dt.date:
    """The day remaining life is counted from: the last day of the month."""
    return add_months(month, 1) - dt.timedelta(days=1)


def _remaining_life(result, devices_now, devices, per_device, current, month):
    """③ Devices and lending hours by remaining useful life: whole years from the last day
    of the month to 使用期限; devices past it are 期限切れ, devices without it 使用期限なし.
    Devices and hours are two grouped queries (``per_device`` already holds only the
    devices of the month), added up here."""
    reference = reference_day(month)
    bucket = life_bucket(devices_now.c.expires_on, reference).label("bucket")
    counted = fetch_rows(select(devices_now.c.cls, bucket, func.count()).group_by(devices_now.c.cls, bucket))
    hours_bucket = life_bucket(devices.c.expires_on, reference).label("bucket")
    hours = fetch_rows(
        select(per_device.c.cls, hours_bucket, func.sum(per_device.c.h))
        .select_from(per_device).join(devices, devices.c.equipment_id == per_device.c.equipment_id)
        .where(current).group_by(per_device.c.cls, hours_bucket))
    for sf in result.scopes:
        table = {key: {"bucket": key, "label": LIFE_LABELS[key], "devices": 0, "lending_hours": 0.0}
                 for key in LIFE_BUCKETS}
        for g, key, n in counted:
            if sf.scope.covers(g):
                table[key]["devices"] += n
        for g, key, h in hours:
            if sf.scope.covers(g):
                table[key]["lending_hours"] += h or 0.0
        sf.life = list(table.values())


def _models_near_end(result, devices, month):
    """④ Per model (maker + model number): devices, devices with ≤ 1 year of useful life
    left (使用期限 on or before the last day of the month + 1 year; expired ones included),
    and their share. Sorted by share, then devices."""
    limit = literal(anniversary(reference_day(month), 1), Date)
    near = func.sum(case((devices.c.expires_on <= limit, 1), else_=0))
    rows = fetch_rows(
        select(devices.c.cls, devices.c.maker, devices.c.model, func.min(devices.c.product),
               func.count(), near)
        .group_by(devices.c.cls, devices.c.maker, devices.c.model))
    for sf in result.scopes:
        merged: dict = {}
        for g, maker, model, product, n, n_near in rows:
            if sf.scope.covers(g):
                m = merged.setdefault((maker, model), {"maker": maker, "model": model,
                                                        "product": product, "devices": 0, "near_end": 0})
                m["devices"] += n
                m["near_end"] += n_near or 0
                m["product"] = _first_name(m["product"], product)  # whatever order the rows came in
        for m in merged.values():
            m["share"] = m["near_end"] / m["devices"] if m["devices"] else None
        sf.models_near_end = sorted(merged.values(),
                                    key=lambda m: (-(m["share"] or 0), -m["devices"], m["maker"], m["model"]))


def _top_models(result, hospital_id, devices, windows):
    """⑤ Top 3 models by hours per lending (月間総貸出時間 ÷ 月間総貸出回数) in the month
    (ties: more lendings first), with the departments that borrowed them and each
    department's share of the model's lendings. Department: the lending's 貸出先, else the
    device's 利用部門."""
    overlaps, hours = clipped(Lending.lent_at, Lending.returned_at, windows)
    department = func.coalesce(func.nullif(Lending.department, ""), devices.c.department_use, "（不明）")
    rows = fetch_rows(
        select(devices.c.cls, devices.c.maker, devices.c.model, func.min(devices.c.product),
               department.label("department"), func.count(Lending.id), func.sum(hours))
        .select_from(Lending).join(windows, overlaps)
        .join(devices, devices.c.equipment_id == Lending.equipment_id).where(Lending.hospital_id == hospital_id)
        .group_by(devices.c.cls, devices.c.maker, devices.c.model, department))
    for sf in result.scopes:
        models: dict = {}
        for g, maker, model, product, dept, n, h in rows:
            if not sf.scope.covers(g):
                continue
            m = models.setdefault((maker, model), {"maker": maker, "model": model, "product": product,
                                                   "lendings": 0, "hours": 0.0, "departments": defaultdict(int)})
            m["lendings"] += n
            m["hours"] += h or 0.0
            m["departments"][dept] += n
            m["product"] = _first_name(m["product"], product)
        for m in models.values():
            m["hours_per_lending"] = m["hours"] / m["lendings"]
            m["departments"] = sorted(
                ({"department": d, "lendings": n, "share": n / m["lendings"]} for d, n in m["departments"].items()),
                key=lambda d: (-d["lendings"], d["department"]))
        sf.top_models = sorted(models.values(),
                               key=lambda m: (-m["hours_per_lending"], -m["lendings"], m["maker"], m["model"]))[:3]


def utilization_ranking(device_counts: dict, lending_rows, H: int, idx: int = TREND_MONTHS - 1) -> list[dict]:
    """⑥ Every classification at the report level ranked by its utilization in the month
    (lending hours ÷ (devices × H)); ties: more devices first. Unclassified devices last.
    ``idx``: the month's position in the 13-month window (the report month by default)."""
    hours = defaultdict(float)
    for i, g, _lent, _n, h, _max in lending_rows:
        if i == idx:
            hours[g] += h or 0.0
    names = _names([g for g in device_counts if g is not None])
    rows = [{"classification_id": g, "name": names.get(g, UNCLASSIFIED) if g is not None else UNCLASSIFIED,
             "devices": n, "lending_hours": hours[g], "utilization": hours[g] / (n * H) if n else None}
            for g, n in device_counts.items()]
    rows.sort(key=lambda r: (r["classification_id"] is None, -(r["utilization"] or 0), -r["devices"], r["name"]))
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
    return rows


def _earlier_ranks(ranking, device_counts, lending_rows, months, with_data) -> None:
    """⑥ with each classification's rank in the previous month (前月順位) and in the same
    month last year (前年同月順位), ranked the same way; None for a month without data."""
    for key, idx in (("previous_rank", TREND_MONTHS - 2), ("last_year_rank", 0)):
        ranks = {}
        if months[idx] in with_data:
            earlier = utilization_ranking(device_counts, lending_rows, hours_in_month(months[idx]), idx)
            ranks = {r["classification_id"]: r["rank"] for r in earlier}
        for row in ranking:
            row[key] = ranks.get(row["classification_id"])
