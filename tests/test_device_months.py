"""Ledgers over time and the one definition of "device in M" (app/device_months.py).

Ledgers go through the real ingest pipeline; what is asserted is what users see: the
report's 機器台数 of a month, screens 6/7 device counts and the manufacturer figures.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app.core.months import add_months, current_month
from app.extensions import db
from app.models import Classification, Equipment, Organization
from app.services.classifications.mapping import device_counts, mapping_rows
from app.services.ingest.pipeline import run_ingest
from app.services.partners import manufacturers
from app.services.reports.figures import compute_figures

from .ingest_helpers import csv_bytes, hospital_id, make_upload

APRIL, MAY, JUNE = dt.date(2025, 4, 1), dt.date(2025, 5, 1), dt.date(2025, 6, 1)
HEADER = ["機器番号", "機器分類", "製品名", "型番", "メーカー名", "納入日", "廃棄日"]
CLASS = "輸液ポンプ"


def row(number, delivered="2020/04/01", disposed=""):
    return [number, CLASS, "ポンプ", "TE-1", "テルモ株式会社", delivered, disposed]


def upload_ledger(month, rows, code="H0001"):
    outcome = run_ingest(make_upload(csv_bytes([HEADER, *rows]), 1, month=month, code=code))
    assert outcome.status == "succeeded", outcome.message
    db.session.expire_all()
    return outcome


def report_devices(month, code="H0001") -> int:
    """機器台数 (all devices) of the month as the report and the dashboard show it (a month
    shows figures once its files came in: a lending file with one lending of A1)."""
    lending = csv_bytes([["機器番号", "貸出日時", "返却日時", "貸出先"],
                         ["A1", f"{month:%Y/%m}/10 09:00", f"{month:%Y/%m}/10 17:00", "ICU"]])
    assert run_ingest(make_upload(lending, 2, month=month, code=code)).status == "succeeded"
    figures = compute_figures(hospital_id(code), month)
    return {r.figure.key: r.value for r in figures.scope("all").lending}["devices"]


def class_id(code="H0001") -> int:
    return db.session.scalar(select(Classification.id).where(
        Classification.hospital_id == hospital_id(code), Classification.name == CLASS))


def screen_count(month, code="H0001") -> int:
    return device_counts(db.session, hospital_id(code), month).get(class_id(code), 0)


def pooled_devices(month, code="H0001") -> int:
    figures = manufacturers.pooled_figures(
        db.session.query(Organization.id).filter_by(code="M0001").scalar(), [hospital_id(code)], month,
        min_hospitals=1)
    return sum(r.devices for r in figures.by_classification)


def test_device_dropped_from_the_june_ledger_still_counts_in_may(ctx):
    upload_ledger(MAY, [row("A1"), row("A2"), row("A3")])
    june = upload_ledger(JUNE, [row("A1"), row("A2")])
    assert "1 台" in june.message
    assert report_devices(MAY) == 3
    assert report_devices(JUNE) == 2
    assert report_devices(add_months(JUNE, 3)) == 2  # June's ledger stays in force
    assert (screen_count(MAY), screen_count(JUNE)) == (3, 2)
    assert (pooled_devices(MAY), pooled_devices(JUNE)) == (3, 2)


def test_a_disposed_device_stops_counting_after_its_disposal_month(ctx):
    upload_ledger(APRIL, [row("A1"), row("A2", disposed="2025/05/20")])
    assert report_devices(MAY) == 2  # disposed during May: still counts in May
    assert report_devices(JUNE) == 1
    assert (screen_count(MAY), screen_count(JUNE)) == (2, 1)
    assert (pooled_devices(MAY), pooled_devices(JUNE)) == (2, 1)


def test_a_device_delivered_after_the_month_does_not_count_in_it(ctx):
    upload_ledger(APRIL, [row("A1"), row("A2", delivered="2025/06/01"), row("A3", delivered="2025/05/31"),
                          row("A4", delivered="")])
    assert report_devices(MAY) == 3  # A1, A3 (delivered on the last day), A4 (unknown delivery)
    assert report_devices(JUNE) == 4
    assert (screen_count(MAY), screen_count(JUNE)) == (3, 4)
    assert (pooled_devices(MAY), pooled_devices(JUNE)) == (3, 4)


def test_reuploaded_ledger_replaces_only_its_months_listing(ctx):
    upload_ledger(APRIL, [row("A1"), row("A2"), row("A3")])
    upload_ledger(MAY, [row("A1"), row("A2"), row("A3"), row("A4")])
    upload_ledger(MAY, [row("A1"), row("A4")])  # corrected May ledger
    assert report_devices(APRIL) == 3
    assert report_devices(MAY) == 2
    assert db.session.query(Equipment).filter_by(hospital_id=hospital_id()).count() == 4  # devices kept


def test_an_older_ledger_neither_rewrites_later_months_nor_newer_values(ctx):
    upload_ledger(JUNE, [row("A1"), row("A2", disposed="2025/06/15")])
    upload_ledger(APRIL, [row("A1"), row("A2"), row("A3")])  # back-filled afterwards
    device = db.session.query(Equipment).filter_by(device_number="A2").one()
    assert device.disposed_on == dt.date(2025, 6, 15)  # June's value stays
    assert report_devices(APRIL) == 3 and report_devices(MAY) == 3
    assert report_devices(JUNE) == 2
    assert report_devices(dt.date(2025, 7, 1)) == 1


def test_before_the_first_ledger_the_first_ledger_is_in_force(ctx):
    upload_ledger(JUNE, [row("A1"), row("A2", delivered="2025/05/10")])
    assert report_devices(APRIL) == 1  # A2 not yet delivered
    assert report_devices(MAY) == 2


def test_screens_6_and_7_follow_the_counts_flag_and_disposal(ctx):
    now = current_month()
    last = add_months(now, -1)
    upload_ledger(last, [row("A1"), row("A2"), row("A3", disposed=f"{last:%Y/%m}/28")])
    a2 = db.session.query(Equipment).filter_by(device_number="A2").one()
    a2.override_counts = False
    db.session.commit()
    shown = {r["id"]: r["device_count"] for r in mapping_rows(db.session, hospital_id())}
    assert shown[class_id()] == 1  # screen 7 today: A2 excluded by the hospital, A3 disposed last month
    assert screen_count(last) == 2  # last month A3 still counted
