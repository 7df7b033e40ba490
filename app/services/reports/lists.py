"""2 故障リスト and 3 未実績リスト of one hospital-month, as Excel workbooks."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import exists, func, select

from app.core.months import month_bounds
from app.extensions import db
from app.models import Classification, Equipment, Failure, Lending, Organization
from app.services.ledger.device_months import devices_in_month
from app.services.reports.sql import clipped, fetch_rows, month_windows, overlap_condition
from app.services.reports.workbook import month_label
from app.services.reports.xlsx import Book

FAILURE_HEADERS = ["機器番号", "機器分類", "製品名", "型番", "メーカー", "利用部門", "故障日時", "修理完了日時",
                   "当月の故障時間", "故障内容"]
FAILURE_UNITS = ["text", "text", "text", "text", "text", "text", "datetime", "datetime", "時間", "text"]
NO_ACTIVITY_HEADERS = ["機器番号", "機器分類", "製品名", "型番", "メーカー", "管理部門", "利用部門", "使用期限",
                       "集計対象"]
NO_ACTIVITY_UNITS = ["text"] * 7 + ["date", "text"]


def _effective_class():
    return Classification.id == func.coalesce(Equipment.override_classification_id, Equipment.classification_id)


def failure_rows(hospital_id: int, month: dt.date) -> list[tuple]:
    """Failures overlapping the month, per device (device number, then failure time)."""
    windows = month_windows([month])
    overlaps, hours = clipped(Failure.failed_at, Failure.repaired_at, windows)
    return fetch_rows(
        select(Equipment.device_number, Classification.name, Equipment.product_name, Equipment.model_number,
               Equipment.maker_name, Equipment.department_use, Failure.failed_at, Failure.repaired_at,
               hours, Failure.description)
        .select_from(Failure).join(Equipment, Equipment.id == Failure.equipment_id)
        .join(windows, overlaps).outerjoin(Classification, _effective_class())
        .where(Failure.hospital_id == hospital_id)
        .order_by(Equipment.device_number, Failure.failed_at))


def no_activity_rows(hospital_id: int, month: dt.date) -> list[tuple]:
    """Every device of the month (app/device_months.py, counted or not; the last column says
    whether it counts in aggregation) with no lending overlapping the month."""
    start, end = month_bounds(month)
    lent = exists().where(Lending.equipment_id == Equipment.id,
                          overlap_condition(Lending.lent_at, Lending.returned_at, start, end))
    counts = func.coalesce(Equipment.override_counts, Equipment.default_counts)
    rows = db.session.execute(
        select(Equipment.device_number, Classification.name, Equipment.product_name, Equipment.model_number,
               Equipment.maker_name, Equipment.department_manage, Equipment.department_use,
               Equipment.expires_on, counts)
        .outerjoin(Classification, _effective_class())
        .where(Equipment.hospital_id == hospital_id, ~lent,
               Equipment.id.in_(devices_in_month(month, [hospital_id], counted_only=False)))
        .order_by(Equipment.device_number)).all()
    return [(*r[:-1], "○" if r[-1] else "×") for r in rows]


def _header(book, ws, hospital_id, month, title, count_label, count):
    hospital = db.session.get(Organization, hospital_id)
    ws.write_string(0, 0, f"{title}　{hospital.name}　{month_label(month)}", book.fmt["title"])
    ws.write_string(1, 0, f"{count_label}: {count:,}", book.fmt["note"])


def build_failure_list(hospital_id: int, month: dt.date, rows: list[tuple] | None = None) -> bytes:
    rows = failure_rows(hospital_id, month) if rows is None else rows
    book = Book()
    ws = book.sheet("故障リスト")
    _header(book, ws, hospital_id, month, "故障リスト", "当月に故障期間がある故障の件数", len(rows))
    book.table(ws, 3, 0, FAILURE_HEADERS, rows, FAILURE_UNITS, [12, 18, 24, 16, 20, 14, 17, 17, 14, 40])
    ws.autofilter(3, 0, 3 + len(rows), len(FAILURE_HEADERS) - 1)
    ws.freeze_panes(4, 1)
    return book.close()


def build_no_activity_list(hospital_id: int, month: dt.date, rows: list[tuple] | None = None) -> bytes:
    rows = no_activity_rows(hospital_id, month) if rows is None else rows
    book = Book()
    ws = book.sheet("未実績リスト")
    _header(book, ws, hospital_id, month, "未実績リスト（当月の貸出なし）", "機器台数", len(rows))
    book.table(ws, 3, 0, NO_ACTIVITY_HEADERS, rows, NO_ACTIVITY_UNITS, [12, 18, 24, 16, 20, 14, 14, 12, 9])
    ws.autofilter(3, 0, 3 + len(rows), len(NO_ACTIVITY_HEADERS) - 1)
    ws.freeze_panes(4, 1)
    return book.close()
