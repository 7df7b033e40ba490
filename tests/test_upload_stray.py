"""A wrong file uploaded for a month that was already complete (exploratory QA: headers
``foo,bar`` sent as 貸出履歴 for a complete month) must not undo the month — the dashboard, the
start page, the upload history and the API keep saying it is complete, and show the newer file
apart."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.jobs.ingest import ingest_job
from app.models import AuditEvent, Lending, Organization, UploadFile
from app.services import start
from app.services.uploads import records as uploads
from app.services.uploads.month_status import month_state

from .conftest import ADMIN, HOSPITAL_A, login_as
from .ingest_helpers import csv_bytes
from .test_upload import post

pytestmark = pytest.mark.usefixtures("empty_queue")

WRONG_CSV = csv_bytes([["foo", "bar"], ["1", "2"]])
LEDGER, LENDING, FAILURE = 1, 2, 3


def org(code: str) -> Organization:
    return db.session.scalars(select(Organization).where(Organization.code == code)).one()


def due_month() -> dt.date:
    return start.due_month()[0]


def complete_month(code: str = "H0001", kinds=(LEDGER, LENDING, FAILURE)) -> dict[int, int]:
    """The due month's files, imported on the 20th of that month (10:00 JST onwards)."""
    month, hospital = due_month(), org(code).id
    rows = {}
    for kind in kinds:
        rows[kind] = UploadFile(
            hospital_id=hospital, month=month, file_type=kind, original_name=f"good-{kind}.csv", size=10,
            sha256=f"{kind}" * 64, status="succeeded", uploaded_at=dt.datetime.combine(
                month.replace(day=20), dt.time(1, kind)), rows_total=1, rows_imported=1)
    db.session.add_all(rows.values())
    db.session.commit()
    return {kind: row.id for kind, row in rows.items()}


def stray_lending(client) -> UploadFile:
    """The wrong file sent as the due month's 貸出履歴 through the screen, then processed:
    its columns cannot be matched, so it waits for the column mapping."""
    assert post(client, f"{due_month():%Y-%m}", lending=(WRONG_CSV, "wrong.csv")).status_code == 302
    upload_id = db.session.scalars(select(UploadFile.id).where(UploadFile.original_name == "wrong.csv")).one()
    assert ingest_job(upload_id) == "needs_mapping"
    db.session.expire_all()
    return db.session.get(UploadFile, upload_id)


def history_row(hospital_id: int) -> dict:
    return next(r for r in uploads.history(hospital_id) if r["month"] == f"{due_month():%Y-%m}")


def section(page: str, marker: str, length: int = 3000) -> str:
    return page[page.index(marker):][:length]


def lendings(hospital_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(Lending).where(Lending.hospital_id == hospital_id))


def discard_events() -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "upload.discarded")))


def test_a_stray_upload_leaves_a_complete_month_complete_everywhere(client, ctx):
    hospital = org("H0001").id
    complete_month()
    login_as(client, HOSPITAL_A)
    before = history_row(hospital)
    assert before["status"] == "完了" and before["date"].endswith("-20 10:03") and before["newer"] == ""

    stray = stray_lending(client)

    state = month_state(hospital, due_month())
    assert state.complete and state.kinds[LENDING].newer.id == stray.id
    assert state.kinds[LENDING].in_force.original_name == "good-2.csv"
    # the dashboard: still そろっています, no due-date badge, the newer file named beside 貸出
    status = section(client.get("/dashboard/").get_data(as_text=True), 'id="dashboard-status"', 1500)
    assert "そろっています" in status and "期限" not in status
    assert "貸出: 取込完了" in status and "（新しいファイル: 列の対応づけ待ち）" in status
    # the operators' start page does not count the hospital as incomplete
    assert all(row["hospital"].id != hospital for row in start.incomplete_hospitals()["rows"])
    login_as(client, ADMIN)
    incomplete = section(client.get("/").get_data(as_text=True), 'id="start-incomplete"')
    assert f'data-hospital="{hospital}"' not in incomplete
    # the upload history: 完了 at the completed file's time, the newer file named apart
    login_as(client, HOSPITAL_A)
    row = history_row(hospital)
    assert (row["status"], row["date"], row["marks"]) == ("完了", before["date"], before["marks"])
    assert row["newer"] == "新しいファイル: 貸出履歴（列の対応付けが必要）"
    page = client.get("/upload/").get_data(as_text=True)
    history = section(page, 'id="upload-history"')
    month_row = history[history.index(f"<td>{due_month():%Y-%m}</td>"):][:700]
    assert "完了" in month_row and before["date"] in month_row and "列の対応付けが必要" in month_row
    # the API's history says the same
    api_history = client.get("/api/v1/uploads/").get_json()["history"]
    assert next(h for h in api_history if h["month"] == f"{due_month():%Y-%m}")["status"] == "完了"


def test_a_pending_upload_of_an_incomplete_month_still_shows_as_today(client, ctx):
    hospital = org("H0001").id
    complete_month(kinds=(LEDGER, FAILURE))
    login_as(client, HOSPITAL_A)
    stray_lending(client)
    assert not month_state(hospital, due_month()).complete
    status = section(client.get("/dashboard/").get_data(as_text=True), 'id="dashboard-status"', 1500)
    assert "そろっています" not in status and "貸出: 列の対応づけ待ち" in status and "新しいファイル" not in status
    row = next(r for r in start.incomplete_hospitals()["rows"] if r["hospital"].id == hospital)
    assert [str(t["status"]) for t in row["types"]] == ["取込完了", "列の対応づけ待ち", "取込完了"]
    assert history_row(hospital)["status"] == "一部完了（医療機器台帳・故障履歴）"
