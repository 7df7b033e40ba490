"""System APIs: unfetched uploads (cursor, download, acknowledge), report publish, and the
Idempotency-Key of every System write."""
from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path
from urllib.parse import urlparse

import pytest
from flask import current_app
from sqlalchemy import func, select

from app.extensions import db
from app.infra.locks import REPORTS_LOCK
from app.infra.queue import redis_connection
from app.infra.storage import get_storage
from app.models import AuditEvent, IdempotencyRecord, Organization, ReportFile, UploadFile, UploadStatus

from .conftest import HOSPITAL_A, HOSPITAL_B, login_as
from .ingest_helpers import LEDGER_HEADER, csv_bytes, ledger_rows, make_upload
from .test_api_keys import bearer, key_for

SYSTEM = "system@smds.example"
PDF = b"%PDF-1.7\n% on-prem analysis report\n"


@pytest.fixture()
def system_key(app, ctx):
    return key_for(app, SYSTEM)


def _hospital(code):
    return db.session.scalars(select(Organization).where(Organization.code == code)).one()


def pptx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        # a fixed time stamp: the same bytes on every call
        archive.writestr(zipfile.ZipInfo("[Content_Types].xml", date_time=(2026, 8, 1, 0, 0, 0)), "<Types/>")
    return buffer.getvalue()


def outbox() -> set[Path]:
    folder = Path(urlparse(current_app.config["MAIL_URL"]).path)
    return set(folder.glob("*.eml")) if folder.exists() else set()


def ack(client, key, upload_id, idem):
    return client.post(f"/api/v1/system/uploads/{upload_id}/ack", headers={**bearer(key), "Idempotency-Key": idem})


def test_unfetched_list_pages_by_cursor_and_ack_removes(client, system_key):
    ids = [make_upload(csv_bytes([LEDGER_HEADER] + ledger_rows(2, start=i * 10)), 1, code=code)
           for i, code in enumerate(["H0001", "H0002", "H0003"])]
    h = bearer(system_key)
    first = client.get("/api/v1/system/uploads/?page_size=2", headers=h).get_json()
    assert [u["id"] for u in first["result"]] == ids[:2]
    assert first["next_cursor"] == ids[1]
    assert {u["hospital_code"] for u in first["result"]} == {"H0001", "H0002"}
    second = client.get(f"/api/v1/system/uploads/?page_size=2&cursor={first['next_cursor']}", headers=h).get_json()
    assert [u["id"] for u in second["result"]] == ids[2:]
    empty = client.get(f"/api/v1/system/uploads/?cursor={ids[2]}", headers=h).get_json()
    assert empty["result"] == [] and empty["next_cursor"] == ids[2]
    assert client.get("/api/v1/system/uploads/?cursor=-1", headers=h).status_code == 400
    assert client.get("/api/v1/system/uploads/?page_size=501", headers=h).status_code == 400

    stored = get_storage().open(db.session.get(UploadFile, ids[1]).storage_key).read()
    download = client.get(f"/api/v1/system/uploads/{ids[1]}/file", headers=h)
    assert download.status_code == 200 and download.data == stored

    answer = ack(client, system_key, ids[1], "ack-1")
    assert answer.status_code == 200 and answer.get_json()["result"]["fetched_at"]
    upload = db.session.get(UploadFile, ids[1])
    db.session.refresh(upload)
    assert upload.fetched_at is not None and upload.fetched_by_id is not None
    remaining = client.get("/api/v1/system/uploads/", headers=h).get_json()["result"]
    assert [u["id"] for u in remaining] == [ids[0], ids[2]]
    assert client.get("/api/v1/system/uploads/99999/file", headers=h).status_code == 404
    assert ack(client, system_key, 99999, "ack-missing").status_code == 404


def test_reupload_of_same_month_and_type_shows_again(client, system_key):
    h = bearer(system_key)
    first = make_upload(csv_bytes([LEDGER_HEADER] + ledger_rows(2)), 1)
    assert ack(client, system_key, first, "k1").status_code == 200
    assert client.get("/api/v1/system/uploads/", headers=h).get_json()["result"] == []
    again = make_upload(csv_bytes([LEDGER_HEADER] + ledger_rows(3)), 1)
    listed = client.get("/api/v1/system/uploads/", headers=h).get_json()["result"]
    assert [u["id"] for u in listed] == [again]
    # a duplicate (same content, no new file) is not offered
    duplicate = db.session.get(UploadFile, again)
    db.session.add(UploadFile(hospital_id=duplicate.hospital_id, month=duplicate.month, file_type=1,
                              original_name="same.csv", sha256=duplicate.sha256, storage_key=duplicate.storage_key,
                              status=UploadStatus.duplicate.value, duplicate_of_id=again))
    db.session.commit()
    assert [u["id"] for u in client.get("/api/v1/system/uploads/", headers=h).get_json()["result"]] == [again]


def test_idempotency_key_same_body_one_effect_other_body_409(client, system_key):
    first, second = (make_upload(csv_bytes([LEDGER_HEADER] + ledger_rows(2, start=s)), 1) for s in (1, 50))
    one = ack(client, system_key, first, "same-key")
    two = ack(client, system_key, first, "same-key")
    assert one.status_code == two.status_code == 200
    assert one.get_json() == two.get_json() and two.headers.get("Idempotent-Replayed") == "true"
    fetched = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "upload.fetched")).all()
    assert len(fetched) == 1
    conflict = ack(client, system_key, second, "same-key")
    assert conflict.status_code == 409
    db.session.expire_all()
    assert db.session.get(UploadFile, second).fetched_at is None
    missing = client.post(f"/api/v1/system/uploads/{second}/ack", headers=bearer(system_key))
    assert missing.status_code == 400 and "Idempotency-Key" in missing.get_json()["message"]
    assert db.session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 1


def publish(client, key, idem, data=PDF, name="analysis.pdf", code="H0001", month="2026-08", file_type="1"):
    form = {"organization_code": code, "month": month, "file_type": file_type, "file": (io.BytesIO(data), name)}
    return client.post("/api/v1/system/reports/", data=form, content_type="multipart/form-data",
                       headers={**bearer(key), "Idempotency-Key": idem})


def test_report_publish_shows_on_screen_4_and_mails_once(app, client, system_key):
    hospital = _hospital("H0001")
    hospital.notification_emails = "me-room@sakura-hp.example.jp"
    db.session.commit()
    before = outbox()
    first = publish(client, system_key, "pub-1")
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["result"]["notified"] is True
    # the same request again: one effect, the first answer
    assert publish(client, system_key, "pub-1").get_json() == first.get_json()
    # a corrected file of the same month and type: stored, but no second mail
    corrected = publish(client, system_key, "pub-2", data=pptx_bytes(), name="analysis.pptx")
    assert corrected.status_code == 201 and corrected.get_json()["result"]["notified"] is False
    # another type of the month is mailed once too
    assert publish(client, system_key, "pub-3", file_type="2").get_json()["result"]["notified"] is True
    mails = outbox() - before
    assert len(mails) == 2
    assert all("me-room@sakura-hp.example.jp" in m.read_text(errors="replace") for m in mails)

    row = db.session.scalars(select(ReportFile).where(ReportFile.hospital_id == hospital.id,
                                                      ReportFile.file_type == 1)).one()
    assert row.source == "onprem" and row.file_name.endswith(".pptx")
    assert get_storage().open(row.storage_key).read() == pptx_bytes()
    login_as(client, HOSPITAL_A)
    page = client.get("/reports/?month=2026-08").get_data(as_text=True)
    assert row.file_name in page
    download = client.get(f"/reports/download/{row.id}")
    assert download.status_code == 200 and download.data == pptx_bytes()
    # hospital B sees none of it
    login_as(client, HOSPITAL_B)
    assert client.get(f"/reports/download/{row.id}").status_code == 404


def test_a_publish_during_a_report_run_answers_503_and_the_same_request_succeeds_later(app, client, system_key,
                                                                                   monkeypatch):
    """The hospital's report run replaces the month's files too: a publish takes turns with
    it. Busy: 503 with Retry-After, nothing stored, and the Idempotency-Key is free again."""
    monkeypatch.setitem(app.config, "REPORT_LOCK_WAIT_SECONDS", 0.2)
    running = redis_connection().lock(REPORTS_LOCK.format(_hospital("H0001").id), timeout=60)
    assert running.acquire(blocking=False)
    busy = publish(client, system_key, "pub-busy")
    assert busy.status_code == 503 and busy.headers["Retry-After"] == "60"
    assert "レポートを作成中" in busy.get_json()["message"]
    assert db.session.scalars(select(ReportFile)).all() == []
    running.release()
    again = publish(client, system_key, "pub-busy")
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
    assert db.session.scalars(select(ReportFile)).one().source == "onprem"


@pytest.mark.parametrize("field, value, status, words", [
    ("code", "H9999", 404, "H9999"),
    ("month", "2026-13", 400, "YYYY-MM"),
    ("file_type", "4", 400, "1・2・3"),
    ("name", "analysis.exe", 400, "PDF"),
    ("data", b"not a pdf", 400, "PDF"),
])
def test_report_publish_refuses_bad_input(client, system_key, field, value, status, words):
    kwargs = {field: value}
    response = publish(client, system_key, f"bad-{field}", **kwargs)
    assert response.status_code == status and words in response.get_json()["message"]
    assert db.session.scalars(select(ReportFile)).all() == []


def test_only_system_and_admin_reach_the_system_api(app, client, ctx):
    for owner in (HOSPITAL_A, "operator@smds.example"):
        key = key_for(app, owner)
        assert client.get("/api/v1/system/uploads/", headers=bearer(key)).status_code == 403
        assert publish(client, key, "x").status_code == 403
    # a System key reaches no screen API
    system = key_for(app, SYSTEM)
    for url in ("/api/v1/uploads/", "/api/v1/ledger/", "/api/v1/reports/", "/api/v1/users/", "/api/v1/apikeys/"):
        assert client.get(url, headers=bearer(system)).status_code == 403, url


def test_expired_idempotency_key_runs_again(app, client, system_key):
    upload_id = make_upload(csv_bytes([LEDGER_HEADER] + ledger_rows(2)), 1)
    assert ack(client, system_key, upload_id, "old-key").status_code == 200
    record = db.session.scalars(select(IdempotencyRecord)).one()
    record.expires_on = record.created_on - dt.timedelta(seconds=1)
    db.session.commit()
    other = make_upload(csv_bytes([LEDGER_HEADER] + ledger_rows(2, start=40)), 1)
    # the old key is free again: a different request with it is performed, not refused
    assert ack(client, system_key, other, "old-key").status_code == 200
    db.session.expire_all()
    assert db.session.get(UploadFile, other).fetched_at is not None
    assert db.session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 1


def test_the_first_publication_mail_is_sent_after_the_report_lock_is_let_go(app, client, system_key, monkeypatch):
    """A slow mail server must not hold the hospital's report runs."""
    from app.services.reports import service as report_service

    hospital_id = _hospital("H0001").id
    lock_held_when_mailing = []

    def record(hospital, month, *args, **kwargs):
        lock_held_when_mailing.append(redis_connection().exists(REPORTS_LOCK.format(hospital_id)) == 1)

    monkeypatch.setattr(report_service, "notify_published", record)
    assert publish(client, system_key, "pub-mail").get_json()["result"]["notified"] is True
    assert lock_held_when_mailing == [False]
