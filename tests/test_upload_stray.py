"""A wrong file uploaded for a month that was already complete (exploratory QA: headers
``foo,bar`` sent as 貸出履歴 for a complete month) must not undo the month — the dashboard, the
start page, the upload history and the API keep saying it is complete, and show the newer file
apart — and the hospital can withdraw it (取り消す), audited, with nothing else changed. A
processed upload cannot be withdrawn, and another hospital's cannot be reached."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.jobs.ingest import ingest_job
from app.models import AuditEvent, Lending, Organization, UploadFile
from app.services import start
from app.services.sync.onprem import unfetched_uploads
from app.services.uploads import records as uploads
from app.services.uploads.month_status import month_state

from .conftest import ADMIN, DEALER, HOSPITAL_A, HOSPITAL_B, login_as, user_by_email
from .ingest_helpers import csv_bytes
from .test_dealer_screens import as_dealer, set_level
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
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "upload.discarded").order_by(AuditEvent.id)))


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
    assert "貸出: 取込完了" in status and "（新しいファイル: 列の対応付け待ち）" in status
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
    assert "そろっています" not in status and "貸出: 列の対応付け待ち" in status and "新しいファイル" not in status
    row = next(r for r in start.incomplete_hospitals()["rows"] if r["hospital"].id == hospital)
    assert [str(t["status"]) for t in row["types"]] == ["取込完了", "列の対応付け待ち", "取込完了"]
    assert history_row(hospital)["status"] == "一部完了（医療機器台帳・故障履歴）"


def test_the_stray_upload_is_discarded_from_the_mapping_page_and_the_month_is_as_before(client, ctx):
    hospital = org("H0001").id
    good = complete_month()
    login_as(client, HOSPITAL_A)
    before, stored_before = history_row(hospital), lendings(hospital)
    stray = stray_lending(client)

    mapping = client.get(f"/upload/{stray.id}/mapping").get_data(as_text=True)
    assert "保存して再処理" in mapping and "このファイルを取り消す" in mapping
    button = re.search(r'<button[^>]*id="upload-discard-button"[^>]*>', mapping).group(0)
    assert 'data-confirm="このファイルを取り消します。' in button and 'form="upload-discard"' in button
    assert f'action="/upload/{stray.id}/discard"' in mapping and 'name="csrf_token"' in mapping
    listing = section(client.get("/upload/").get_data(as_text=True), f'data-upload-id="{stray.id}"', 1500)
    assert f'action="/upload/{stray.id}/discard"' in listing and ">取り消す</button>" in listing

    response = client.post(f"/upload/{stray.id}/discard")
    assert response.status_code == 302 and "/upload/" in response.headers["Location"]
    db.session.expire_all()
    assert db.session.get(UploadFile, stray.id).status == "discarded"
    assert all(db.session.get(UploadFile, i).status == "succeeded" for i in good.values())
    assert lendings(hospital) == stored_before
    assert history_row(hospital) == before
    assert month_state(hospital, due_month()).kinds[LENDING].newer is None
    (event,) = discard_events()
    assert (event.organization_id, event.object_id, event.actor_id) == (
        hospital, str(stray.id), user_by_email(HOSPITAL_A).id)
    assert event.changes["status"] == ["needs_mapping", "discarded"]
    assert event.changes["month"] == f"{due_month():%Y-%m}" and event.changes["file_type"] == LENDING
    page = client.get("/upload/").get_data(as_text=True)
    assert "貸出履歴（受付番号" in page and "を取り消しました。" in page
    row = section(page, f'data-upload-id="{stray.id}"', 1500)
    assert "取り消し済み" in row and "/discard" not in row[:row.index("</tr>")]
    assert "そろっています" in client.get("/dashboard/").get_data(as_text=True)
    # the on-prem systems no longer fetch the withdrawn file
    assert stray.id not in [u.id for u in unfetched_uploads(0, 100)[0]]
    # and it cannot be withdrawn twice
    assert client.post(f"/upload/{stray.id}/discard").status_code == 302
    assert len(discard_events()) == 1


def test_a_failed_upload_is_discarded_by_the_api_admin_or_dealer(client, ctx):
    hospital = org("H0001").id
    complete_month()

    def failed(name):
        row = UploadFile(hospital_id=hospital, month=due_month(), file_type=FAILURE, original_name=name,
                         sha256="f" * 64, status="failed", uploaded_at=dt.datetime.utcnow())
        db.session.add(row)
        db.session.commit()
        return row.id

    login_as(client, HOSPITAL_A)
    first = failed("broken.csv")
    assert client.get(f"/api/v1/uploads/{first}").get_json()["result"]["discardable"] is True
    assert client.post(f"/api/v1/uploads/{first}/discard", data="x").status_code == 400  # not JSON
    response = client.post(f"/api/v1/uploads/{first}/discard", json={})
    assert response.status_code == 200
    assert response.get_json()["result"]["status"] == "discarded"
    assert response.get_json()["result"]["discardable"] is False
    second = failed("broken-2.csv")
    login_as(client, ADMIN)  # an operator's upload screen reaches every hospital
    assert client.post(f"/upload/{second}/discard").status_code == 302
    third = failed("broken-3.csv")
    set_level("H0001", 1, "アップロード代行")
    as_dealer(client, "H0001")
    assert client.post(f"/upload/{third}/discard").status_code == 302
    db.session.expire_all()
    assert [db.session.get(UploadFile, i).status for i in (first, second, third)] == ["discarded"] * 3
    assert [e.actor_id for e in discard_events()] == [user_by_email(e).id for e in (HOSPITAL_A, ADMIN, DEALER)]
    assert month_state(hospital, due_month()).complete


def test_a_processed_upload_cannot_be_discarded(client, ctx):
    good = complete_month()[LENDING]
    login_as(client, HOSPITAL_A)
    response = client.post(f"/upload/{good}/discard", follow_redirects=True)
    assert "取り込み済みまたは処理中のファイルは取り消せません。" in response.get_data(as_text=True)
    api = client.post(f"/api/v1/uploads/{good}/discard", json={})
    assert api.status_code == 400 and "取り消せません" in api.get_json()["message"]
    db.session.expire_all()
    assert db.session.get(UploadFile, good).status == "succeeded"
    assert discard_events() == []
    assert f"/upload/{good}/discard" not in client.get("/upload/").get_data(as_text=True)


def test_another_hospitals_upload_cannot_be_discarded(client, ctx):
    complete_month()
    login_as(client, HOSPITAL_A)
    stray = stray_lending(client)
    login_as(client, HOSPITAL_B)
    assert client.post(f"/upload/{stray.id}/discard").status_code == 404
    assert client.post(f"/api/v1/uploads/{stray.id}/discard", json={}).status_code == 404
    db.session.expire_all()
    assert db.session.get(UploadFile, stray.id).status == "needs_mapping"
    assert discard_events() == []
