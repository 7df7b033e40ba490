"""Screen 3 and its API: checks before queuing, storage keys, duplicates, status, history,
downloads, needs-mapping, notification, and hospital A never reaching hospital B's files."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import types
from pathlib import Path

import pytest

from app.core import months
from app.extensions import db
from app.infra.queue import get_queue
from app.infra.storage import get_storage
from app.models import ColumnProfile, Organization, UploadFile, UploadStatus
from app.services.uploads import notices
from app.services.uploads import records as uploads
from app.services.uploads.checks import UploadRejected

from .conftest import ADMIN, HOSPITAL_A, HOSPITAL_B, login_as
from .ingest_helpers import (
    LEDGER_HEADER,
    csv_bytes,
    declared_rows_xlsx,
    ledger_rows,
    lying_shared_strings_xlsx,
    xlsx_bytes,
    zip_bomb_xlsx,
)

LEDGER_CSV = csv_bytes([LEDGER_HEADER] + ledger_rows(5))
LENDING_CSV = csv_bytes([["機器番号", "貸出日時", "返却日時", "貸出先"], ["ME00001", "2025/10/01 09:00", "", "ICU"]])
FAILURE_CSV = csv_bytes([["機器番号", "故障日", "修理完了日", "故障内容"], ["ME00001", "2025/10/02", "", "異音"]])


pytestmark = pytest.mark.usefixtures("empty_queue")


def month() -> str:
    return f"{uploads.default_month():%Y-%m}"


def org(code):
    return db.session.query(Organization).filter_by(code=code).one()


def post(client, month_text=None, url="/upload/", **files):
    data = {"month": month_text or month()}
    for slug, (content, name) in files.items():
        data[slug] = (io.BytesIO(content), name)
    return client.post(url, data=data, content_type="multipart/form-data")


def stored_files(app) -> list[str]:
    root = Path(app.config["STORAGE_URL"].removeprefix("file://")) / "uploads"
    return sorted(str(p) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def uploads_count():
    db.session.expire_all()
    return db.session.query(UploadFile).count()


def test_page_shows_form_guidance_and_months(client, ctx):
    login_as(client, HOSPITAL_A)
    page = client.get("/upload/").get_data(as_text=True)
    assert "毎月10日までに、最新のファイルをアップロードしてください。" in page
    assert f'<option value="{month()}" selected>' in page
    assert page.count('<option value="20') == 37  # the current month and 36 complete ones
    for label in ("医療機器台帳", "貸出履歴", "故障履歴", "一括アップロード"):
        assert label in page
    assert "upload.js" in page and "<script>" not in page


def test_upload_stores_under_id_key_and_queues(app, client, ctx):
    login_as(client, HOSPITAL_A)
    response = post(client, ledger=(LEDGER_CSV, "../../etc/機器台帳 2025.csv"))
    assert response.status_code == 302
    upload = db.session.query(UploadFile).one()
    hospital = org("H0001")
    assert upload.hospital_id == hospital.id and upload.status == "queued"
    assert upload.storage_key == f"uploads/{hospital.id}/{month()}/{upload.id}/ledger.csv"
    assert upload.sha256 == hashlib.sha256(LEDGER_CSV).hexdigest()
    assert upload.original_name == "機器台帳 2025.csv"  # the name only, never a path
    with get_storage().open(upload.storage_key) as handle:
        assert handle.read() == LEDGER_CSV
    job = get_queue().fetch_job(f"ingest-{upload.id}")
    assert job is not None and job.args == (upload.id,)


def test_three_files_at_once(client, ctx):
    login_as(client, HOSPITAL_A)
    response = post(client, ledger=(LEDGER_CSV, "a.csv"), lending=(LENDING_CSV, "b.csv"),
                    failure=(xlsx_bytes([["機器番号", "故障日"], ["ME00001", "2025/10/02"]]), "c.xlsx"))
    assert response.status_code == 302
    rows = db.session.query(UploadFile).order_by(UploadFile.file_type).all()
    assert [r.file_type for r in rows] == [1, 2, 3]
    assert rows[2].storage_key.endswith("/failure.xlsx")


def test_lending_and_failure_jobs_wait_for_the_ledger_uploaded_with_them(client, ctx):
    login_as(client, HOSPITAL_A)
    post(client, ledger=(LEDGER_CSV, "a.csv"), lending=(LENDING_CSV, "b.csv"),
         failure=(FAILURE_CSV, "c.csv"))
    ledger, lending, failure = db.session.query(UploadFile).order_by(UploadFile.file_type).all()
    queue = get_queue()
    assert queue.fetch_job(f"ingest-{ledger.id}").dependency_ids == []
    for upload in (lending, failure):
        job = queue.fetch_job(f"ingest-{upload.id}")
        assert job.dependency_ids == [f"ingest-{ledger.id}"]
        assert job.allow_dependency_failures is True


EXE = b"MZ\x90\x00" + b"\x00" * 200


@pytest.mark.parametrize("slug, content, name, expected", [
    ("ledger", LEDGER_CSV, "ledger.txt", "ファイル形式が無効です（xlsx, xls, csvのみ）"),
    ("ledger", EXE, "ledger.xlsx", "Excel（xlsx / xls）や CSV ではないファイル"),
    ("ledger", EXE, "ledger.csv", "Excel（xlsx / xls）や CSV ではないファイル"),
    ("lending", b"", "lending.csv", "ファイルが空です"),
    ("ledger", b"PK\x03\x04" + b"garbage" * 50, "ledger.xlsx", "ファイルが壊れているため読み取れません"),
    ("ledger", zip_bomb_xlsx(450), "ledger.xlsx", "圧縮爆弾"),
    ("ledger", lying_shared_strings_xlsx(), "ledger.xlsx", "共有文字列の件数"),
    ("ledger", declared_rows_xlsx(2_000_000), "ledger.xlsx", "シートの行数が多すぎます"),
    ("failure", LEDGER_CSV, "failure.xls", "内容が Excel ファイルではありません"),
    ("failure", b"\x01\x02\x00\x00binary\x00data" * 10, "failure.csv", "内容がテキストではありません"),
])
def test_bad_file_refused_with_message_and_nothing_stored(app, client, ctx, slug, content, name, expected):
    login_as(client, HOSPITAL_A)
    before = stored_files(app)
    response = post(client, **{slug: (content, name)})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert expected in page
    assert str(uploads.TYPE_LABELS[uploads.parse_file_type(slug)]) in page  # says which file
    assert uploads_count() == 0
    assert stored_files(app) == before


def test_one_bad_file_among_three_stores_nothing(app, client, ctx):
    login_as(client, HOSPITAL_A)
    before = stored_files(app)
    response = post(client, ledger=(LEDGER_CSV, "a.csv"), lending=(EXE, "b.xlsx"), failure=(FAILURE_CSV, "c.csv"))
    assert response.status_code == 400
    assert "貸出履歴" in response.get_data(as_text=True)
    assert uploads_count() == 0 and stored_files(app) == before


def test_too_large_is_413_with_configured_size(app, client, ctx, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_UPLOAD_MB", 1)
    login_as(client, HOSPITAL_A)
    big = LEDGER_CSV + b"ME99999,ICU,x,y,z,s,2020/04/01,,c\r\n" * 40000
    assert len(big) > 1024 * 1024
    before = stored_files(app)
    response = post(client, ledger=(big, "big.csv"))
    assert response.status_code == 413
    assert "ファイルサイズが大きすぎます。1MB以下のファイルを選択してください。" in response.get_data(as_text=True)
    assert uploads_count() == 0 and stored_files(app) == before


def test_upload_window_is_36_complete_months_and_the_current_one(ctx):
    on = dt.date(2026, 11, 15)
    assert uploads.parse_month("2023-11", on) == dt.date(2023, 11, 1)  # 36 months back
    assert uploads.parse_month("2026-11", on) == dt.date(2026, 11, 1)  # the current month
    with pytest.raises(UploadRejected) as old:
        uploads.parse_month("2023-10", on)  # 37 months back
    assert old.value.message == "対象年月は過去36か月（2023-11〜2026-11）の範囲で指定してください。"
    with pytest.raises(UploadRejected) as future:
        uploads.parse_month("2026-12", on)
    assert future.value.message == ("2026-12 は未来の月のためアップロードできません。"
                                    "対象年月は 2026-11 以前を指定してください。")
    with pytest.raises(UploadRejected) as garbage:
        uploads.parse_month("abc", on)
    assert "YYYY-MM" in garbage.value.message
    assert uploads.selectable_months(on)[0] == dt.date(2026, 11, 1)
    assert uploads.selectable_months(on)[-1] == dt.date(2023, 11, 1)
    assert len(uploads.selectable_months(on)) == 37


def test_screen_refuses_next_month_and_37_months_back(client, ctx):
    login_as(client, HOSPITAL_A)
    current = months.current_month()
    cases = {months.add_months(current, 1): "未来の月のためアップロードできません",
             months.add_months(current, -37): "過去36か月"}
    for value, message in cases.items():
        response = post(client, month_text=f"{value:%Y-%m}", ledger=(LEDGER_CSV, "a.csv"))
        assert response.status_code == 400
        assert message in response.get_data(as_text=True)
    assert uploads_count() == 0
    accepted = post(client, month_text=f"{months.add_months(current, -36):%Y-%m}", ledger=(LEDGER_CSV, "a.csv"))
    assert accepted.status_code == 302 and uploads_count() == 1


def test_month_is_japans_on_a_utc_server_in_the_first_hours_of_the_1st(client, ctx, monkeypatch):
    # 2026-11-30 20:00 UTC is 2026-12-01 05:00 in Japan: a UTC clock would still say November.
    fake_clock(monkeypatch, dt.datetime(2026, 11, 30, 20, 0, tzinfo=dt.UTC))
    assert uploads.default_month() == dt.date(2026, 11, 1)
    assert uploads.selectable_months()[0] == dt.date(2026, 12, 1)
    login_as(client, HOSPITAL_A)
    page = client.get("/upload/").get_data(as_text=True)
    assert '<option value="2026-11" selected>' in page and '<option value="2026-12"' in page
    assert uploads.parse_month("2026-12") == dt.date(2026, 12, 1)
    with pytest.raises(UploadRejected):
        uploads.parse_month("2027-01")


def fake_clock(monkeypatch, instant: dt.datetime) -> None:
    """Stop app.core.months' clock at ``instant`` (whatever the machine's zone)."""
    class Frozen(dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return instant.astimezone(tz) if tz else instant.astimezone(dt.UTC).replace(tzinfo=None)

    clock = types.SimpleNamespace(**{name: getattr(dt, name) for name in dir(dt) if not name.startswith("__")})
    clock.datetime = Frozen
    monkeypatch.setattr(months, "dt", clock)


def test_no_file_chosen(client, ctx):
    login_as(client, HOSPITAL_A)
    response = post(client)
    assert response.status_code == 400
    assert "アップロードするファイルを選択してください" in response.get_data(as_text=True)


def test_duplicate_accepted_without_work_and_says_so(app, client, ctx):
    login_as(client, HOSPITAL_A)
    post(client, ledger=(LEDGER_CSV, "first.csv"))
    first = db.session.query(UploadFile).one()
    files_before = stored_files(app)
    response = post(client, ledger=(LEDGER_CSV, "again.csv"))
    assert response.status_code == 302
    page = client.get("/upload/").get_data(as_text=True)
    assert "同じ内容のファイルが" in page and "再処理は行いません" in page
    db.session.expire_all()
    second = db.session.query(UploadFile).order_by(UploadFile.id.desc()).first()
    assert second.id != first.id
    assert second.status == UploadStatus.duplicate.value and second.duplicate_of_id == first.id
    assert stored_files(app) == files_before  # not stored twice
    assert get_queue().fetch_job(f"ingest-{second.id}") is None  # not queued
    # Another month, or other content, is new work.
    post(client, ledger=(LEDGER_CSV + b"ME77777,ICU,,,,,,,\r\n", "changed.csv"))
    db.session.expire_all()
    assert db.session.query(UploadFile).order_by(UploadFile.id.desc()).first().status == "queued"


def test_status_json_and_history(client, ctx):
    login_as(client, HOSPITAL_A)
    post(client, ledger=(LEDGER_CSV, "a.csv"), lending=(LENDING_CSV, "b.csv"), failure=(FAILURE_CSV, "c.csv"))
    rows = db.session.query(UploadFile).order_by(UploadFile.id).all()
    rows[0].status, rows[0].rows_total, rows[0].rows_imported, rows[0].rows_rejected = "succeeded_with_rejections", 5, 4, 1
    rows[0].rejected_key = "uploads/x/rejected.xlsx"
    rows[1].status = "succeeded"
    db.session.commit()
    data = client.get(f"/upload/status?ids={rows[0].id},{rows[1].id},{rows[2].id}").get_json()
    by_id = {item["id"]: item for item in data["uploads"]}
    assert by_id[rows[0].id]["rows_rejected"] == 1 and by_id[rows[0].id]["done"] is True
    assert by_id[rows[0].id]["rejected_url"] == f"/upload/{rows[0].id}/rejected"
    assert by_id[rows[2].id]["status"] == "queued" and by_id[rows[2].id]["done"] is False
    history = uploads.history(rows[0].hospital_id)
    assert len(history) == 6
    row = next(h for h in history if h["month"] == month())
    assert row["marks"] == {1: "○", 2: "○", 3: "-"} and row["status"] == "処理中"
    rows[2].status = "succeeded"
    db.session.commit()
    row = next(h for h in uploads.history(rows[0].hospital_id) if h["month"] == month())
    assert row["status"] == "完了"
    page = client.get("/upload/").get_data(as_text=True)
    assert 'id="upload-history"' in page and "○" in page


def make_rejected(upload_id):
    upload = db.session.get(UploadFile, upload_id)
    upload.rejected_key = f"uploads/{upload.hospital_id}/{upload.month:%Y-%m}/{upload.id}/rejected.xlsx"
    upload.status = "succeeded_with_rejections"
    get_storage().put_bytes(upload.rejected_key, xlsx_bytes([["行", "列", "理由"], [3, "機器番号", "必須"]]))
    db.session.commit()
    return upload


def test_rejected_rows_download(client, ctx):
    login_as(client, HOSPITAL_A)
    post(client, ledger=(LEDGER_CSV, "a.csv"))
    upload = make_rejected(db.session.query(UploadFile).one().id)
    response = client.get(f"/upload/{upload.id}/rejected")
    assert response.status_code == 200
    assert response.data.startswith(b"PK")
    assert "rejected_" in response.headers["Content-Disposition"]


def test_the_original_file_comes_back_as_sent_without_a_charset_it_may_not_have(client, ctx):
    """An original CSV is whatever encoding the hospital's system wrote (often Shift_JIS):
    its download names no charset rather than a wrong one, and its bytes are unchanged."""
    login_as(client, HOSPITAL_A)
    sent = LEDGER_CSV.decode("utf-8").encode("cp932")
    post(client, ledger=(sent, "台帳_sjis.csv"))
    upload = db.session.query(UploadFile).one()
    for url in (f"/upload/{upload.id}/file", f"/api/v1/uploads/{upload.id}/file"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers.getlist("Content-Type") == ["text/csv"], url
        assert response.data == sent


def test_hospital_b_cannot_reach_a_uploads(client, ctx):
    login_as(client, HOSPITAL_A)
    post(client, ledger=(LEDGER_CSV, "secret-name-A.csv"))
    upload = make_rejected(db.session.query(UploadFile).one().id)
    login_as(client, HOSPITAL_B)
    for url in (f"/upload/{upload.id}/rejected", f"/upload/{upload.id}/file", f"/upload/{upload.id}/mapping",
                f"/api/v1/uploads/{upload.id}", f"/api/v1/uploads/{upload.id}/rejected",
                f"/api/v1/uploads/{upload.id}/file"):
        assert client.get(url).status_code == 404, url
    assert client.get(f"/upload/status?ids={upload.id}").get_json() == {"uploads": []}
    assert "secret-name-A" not in client.get("/upload/").get_data(as_text=True)
    listing = client.get("/api/v1/uploads/").get_json()
    assert listing["result"] == []
    # B cannot upload for A by naming A's hospital either.
    a_id = org("H0001").id
    response = post(client, url=f"/upload/?hospital_id={a_id}", ledger=(LENDING_CSV, "x.csv"))
    assert response.status_code == 404
    assert db.session.query(UploadFile).filter_by(hospital_id=a_id).count() == 1


def test_admin_chooses_hospital(client, ctx):
    login_as(client, ADMIN)
    b = org("H0002")
    page = client.get(f"/upload/?hospital_id={b.id}").get_data(as_text=True)
    assert "みなと中央病院" in page and 'name="hospital_id"' in page
    response = post(client, url=f"/upload/?hospital_id={b.id}", ledger=(LEDGER_CSV, "a.csv"))
    assert response.status_code == 302
    assert db.session.query(UploadFile).one().hospital_id == b.id


def test_api_upload_status_and_errors(client, ctx):
    login_as(client, HOSPITAL_A)
    response = client.post("/api/v1/uploads/", data={
        "month": month(), "file_type": "2", "file": (io.BytesIO(LENDING_CSV), "lend.csv"),
    }, content_type="multipart/form-data")
    assert response.status_code == 201, response.get_data(as_text=True)
    item = response.get_json()["result"][0]
    assert item["status"] == "queued" and item["file_type"] == 2
    assert client.get(f"/api/v1/uploads/{item['id']}").get_json()["result"]["id"] == item["id"]
    bad = client.post("/api/v1/uploads/", data={
        "month": month(), "ledger": (io.BytesIO(EXE), "x.xlsx"),
    }, content_type="multipart/form-data")
    assert bad.status_code == 400 and "Excel" in bad.get_json()["message"]
    assert uploads_count() == 1


def test_api_refuses_a_future_month_in_japanese(client, ctx):
    login_as(client, HOSPITAL_A)
    upcoming = months.add_months(months.current_month(), 1)
    response = client.post("/api/v1/uploads/", data={
        "month": f"{upcoming:%Y-%m}", "ledger": (io.BytesIO(LEDGER_CSV), "a.csv")}, content_type="multipart/form-data")
    assert response.status_code == 400
    assert f"{upcoming:%Y-%m} は未来の月のためアップロードできません。" in response.get_json()["message"]
    assert uploads_count() == 0


def test_api_requires_upload_permission(client, ctx):
    from .conftest import MANUFACTURER

    login_as(client, MANUFACTURER)
    response = client.post("/api/v1/uploads/", data={"month": month(), "ledger": (io.BytesIO(LEDGER_CSV), "a.csv")},
                           content_type="multipart/form-data")
    assert response.status_code in (401, 403)
    assert uploads_count() == 0


def test_needs_mapping_screen_saves_profile_and_requeues(client, ctx):
    login_as(client, HOSPITAL_A)
    data = csv_bytes([["No", "設置", "品目"], ["A-1", "ICU", "ポンプ"], ["A-2", "OPE", "モニタ"]])
    post(client, ledger=(data, "odd.csv"))
    upload = db.session.query(UploadFile).one()
    upload.status, upload.message = "needs_mapping", "必須の列（機器番号）が見つかりません。"
    db.session.commit()
    page = client.get(f"/upload/{upload.id}/mapping").get_data(as_text=True)
    assert "機器番号" in page and "<option value=\"No\"" in page and "品目" in page
    response = client.post(f"/upload/{upload.id}/mapping", data={"field_device_number": ""})
    assert response.status_code == 400 and "機器番号" in response.get_data(as_text=True)
    response = client.post(f"/upload/{upload.id}/mapping", data={
        "field_device_number": "No", "field_product_name": "品目", "field_department_use": "設置"})
    assert response.status_code == 302
    db.session.expire_all()
    profile = db.session.query(ColumnProfile).one()
    assert profile.mapping["No"] == "device_number" and profile.mapping["品目"] == "product_name"
    assert db.session.get(UploadFile, upload.id).status == "queued"
    assert get_queue().fetch_job(f"ingest-{upload.id}") is not None


def test_notification_mail_on_success(app, ctx):
    outbox = Path(app.config["MAIL_URL"].removeprefix("file://"))
    before = set(outbox.glob("*.eml")) if outbox.exists() else set()
    hospital = org("H0001")
    upload = UploadFile(hospital_id=hospital.id, month=uploads.default_month(), file_type=1, original_name="a.csv",
                        sha256="0" * 64, size=1, status="succeeded", rows_imported=97, rows_rejected=3)
    db.session.add(upload)
    db.session.commit()
    notices.notify_success(upload)
    new = set(outbox.glob("*.eml")) - before
    assert len(new) == 1
    import email
    from email import policy

    message = email.message_from_bytes(next(iter(new)).read_bytes(), policy=policy.default)
    assert "me-center@sakura-hp.example.jp" in message["To"]
    assert "97" in message.get_content()
    os.unlink(next(iter(new)))
