"""Messages stored on a row and read later (an upload's result, a report's failure) are shown in
the reader's language: Japanese by default, English after /lang/en (or ``_l_=en`` on an API
call), on the upload screen, its status JSON, its history CSV, the REST API and the reports
screen. A row stored as plain Japanese text (before app/services/stored_messages.py) still shows
that text."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from app.extensions import db
from app.jobs import ingest as ingest_job_module
from app.jobs.reports import generate_report_job
from app.models import Organization, ReportFile, UploadFile
from app.services import stored_messages
from app.services.uploads import records as uploads

from .conftest import ADMIN, HOSPITAL_A, login_as
from .ingest_helpers import LEDGER_HEADER, csv_bytes, ledger_rows
from .test_upload import post

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
IMPORTED_JA = "医療機器台帳を取り込みました（5 件）。取り込めなかった行が 1 件あります。"
IMPORTED_EN = "Medical equipment ledger imported (rows: 5). Rows that could not be imported: 1."
HEADER_ONLY_JA = "見出し行だけで、データ行がありません。"
HEADER_ONLY_EN = "There is only a header row and no data rows."
REPORT_FAILED_JA = "レポートの作成に失敗しました。管理者にお問い合わせください。"
REPORT_FAILED_EN = "The report could not be created. Please contact the administrator."


pytestmark = pytest.mark.usefixtures("empty_queue")


def hospital(code: str = "H0001") -> Organization:
    return db.session.query(Organization).filter_by(code=code).one()


def upload_and_ingest(client, **files) -> UploadFile:
    """Upload through the screen, then run the ingest job the upload queued (as a worker would)."""
    assert post(client, **files).status_code == 302
    upload = db.session.query(UploadFile).order_by(UploadFile.id.desc()).first()
    ingest_job_module.ingest_job(upload.id)
    return db.session.get(UploadFile, upload.id)


def status_json(client, upload_id: int) -> dict:
    return client.get(f"/upload/status?ids={upload_id}").get_json()["uploads"][0]


def test_an_import_with_rejected_rows_speaks_the_readers_language(client, ctx):
    login_as(client, HOSPITAL_A)
    rows = ledger_rows(5) + [ledger_rows(1)[0]]  # ME00001 twice: one row is refused
    upload = upload_and_ingest(client, ledger=(csv_bytes([LEDGER_HEADER] + rows), "ledger.csv"))
    assert upload.status == "succeeded_with_rejections"
    assert upload.message.startswith(IMPORTED_JA)  # the Japanese text is still stored
    assert upload.message_parts[0] == {"code": "ingest.imported",
                                       "params": {"label": {"t": "医療機器台帳"}, "count": 5}}

    assert IMPORTED_JA in client.get("/upload/").get_data(as_text=True)
    japanese = status_json(client, upload.id)
    assert japanese["message"].startswith(IMPORTED_JA)
    assert japanese["message_codes"][:2] == ["ingest.imported", "ingest.rows_rejected"]

    client.get("/lang/en")
    page = client.get("/upload/").get_data(as_text=True)
    assert IMPORTED_EN in page and IMPORTED_JA not in page
    english = status_json(client, upload.id)
    assert english["message"].startswith(IMPORTED_EN) and not JAPANESE.search(english["message"])
    assert english["message_codes"] == japanese["message_codes"]
    assert IMPORTED_EN in client.get("/upload/history.csv").get_data(as_text=True)


def test_a_refused_file_speaks_the_readers_language(client, ctx):
    login_as(client, HOSPITAL_A)
    upload = upload_and_ingest(client, ledger=(csv_bytes([LEDGER_HEADER]), "header-only.csv"))
    assert (upload.status, upload.message) == ("failed", HEADER_ONLY_JA)
    assert HEADER_ONLY_JA in client.get("/upload/").get_data(as_text=True)
    assert status_json(client, upload.id)["message"] == HEADER_ONLY_JA
    client.get("/lang/en")
    assert HEADER_ONLY_EN in client.get("/upload/").get_data(as_text=True)
    assert status_json(client, upload.id)["message"] == HEADER_ONLY_EN
    assert status_json(client, upload.id)["message_codes"] == ["ingest.header_only"]


def test_a_file_needing_its_columns_mapped_names_them_in_english(client, ctx):
    """Field labels and the list's separator are translated; the file's own headers are not."""
    login_as(client, HOSPITAL_A)
    lending = csv_bytes([["機器番号", "返却日時"], ["ME00001", ""]])
    upload = upload_and_ingest(client, lending=(lending, "lending.csv"))
    assert upload.status == "needs_mapping"
    assert upload.message == ("必須の列（貸出日時）が見つかりません。見出しの対応付けを指定してください。"
                              "ファイルの見出し: 機器番号、返却日時")
    client.get("/lang/en")
    assert status_json(client, upload.id)["message"] == (
        "Required columns (Lent at) were not found. Please map the headers. "
        "Headers in the file: 機器番号, 返却日時")
    assert "Required columns (Lent at)" in client.get(f"/upload/{upload.id}/mapping").get_data(as_text=True)


def test_a_file_refused_at_upload_is_explained_in_english(client, ctx):
    """The checks before storing share the ingest's reading messages; they follow the request."""
    login_as(client, HOSPITAL_A)
    client.get("/lang/en")
    ledger = csv_bytes([LEDGER_HEADER] + ledger_rows(2))
    page = post(client, failure=(ledger, "failure.xls")).get_data(as_text=True)
    assert ("Failure history: The extension is xls, but the content is not an Excel file. "
            "Please open it in Excel and save it again, or export it as CSV.") in page
    assert "内容が Excel ファイルではありません" not in page


def test_the_upload_api_answers_in_the_requests_language_with_the_codes(client, ctx):
    login_as(client, HOSPITAL_A)
    upload = upload_and_ingest(client, ledger=(csv_bytes([LEDGER_HEADER]), "header-only.csv"))
    english = client.get(f"/api/v1/uploads/{upload.id}?_l_=en").get_json()["result"]
    assert english["message"] == HEADER_ONLY_EN and english["message_codes"] == ["ingest.header_only"]
    japanese = client.get(f"/api/v1/uploads/{upload.id}").get_json()["result"]
    assert japanese["message"] == HEADER_ONLY_JA
    listed = client.get("/api/v1/uploads/?_l_=en").get_json()["result"]
    assert next(u for u in listed if u["id"] == upload.id)["message"] == HEADER_ONLY_EN


def test_a_row_stored_as_japanese_text_still_shows_that_text(client, ctx):
    login_as(client, HOSPITAL_A)
    old = UploadFile(hospital_id=hospital().id, month=uploads.default_month(), file_type=1,
                     original_name="old.csv", size=1, sha256="0" * 64, status="failed",
                     message="旧形式のメッセージです。", uploaded_at=dt.datetime(2026, 11, 1))
    db.session.add(old)
    db.session.commit()
    client.get("/lang/en")
    assert "旧形式のメッセージです。" in client.get("/upload/").get_data(as_text=True)
    answer = status_json(client, old.id)
    assert (answer["message"], answer["message_codes"]) == ("旧形式のメッセージです。", [])
    # Text written without its parts (by hand, say) is the truth, not the parts left behind.
    stored_messages.set_message(old, stored_messages.part("upload.queued"))
    old.message = "手で直したメッセージです。"
    db.session.commit()
    answer = status_json(client, old.id)
    assert (answer["message"], answer["message_codes"]) == ("手で直したメッセージです。", [])


def test_a_failed_report_speaks_the_readers_language(client, ctx, monkeypatch):
    h = hospital()
    month = dt.date(2025, 10, 1)

    def broken(*_args, **_kwargs):
        raise RuntimeError("figures broke")

    monkeypatch.setattr("app.services.reports.service.publish_month", broken)
    with pytest.raises(RuntimeError):
        generate_report_job(h.id, f"{month:%Y-%m}")
    rows = db.session.query(ReportFile).filter_by(hospital_id=h.id, month=month).all()
    assert rows and all(r.status == "failed" and r.message == REPORT_FAILED_JA for r in rows)

    login_as(client, ADMIN)
    page = client.get(f"/reports/?hospital_id={h.id}").get_data(as_text=True)
    assert REPORT_FAILED_JA in page
    client.get("/lang/en")
    page = client.get(f"/reports/?hospital_id={h.id}").get_data(as_text=True)
    assert REPORT_FAILED_EN in page and REPORT_FAILED_JA not in page
    jobs = client.get(f"/reports/jobs?hospital_id={h.id}").get_json()["jobs"]
    failed = [j for j in jobs if j["status"] == "failed"]
    assert failed and all(j["message"] == REPORT_FAILED_EN and j["message_codes"] == ["report.failed"]
                          for j in failed)
    assert REPORT_FAILED_EN in client.get("/").get_data(as_text=True)  # the operator's start page


def test_rendering_takes_the_locale_as_an_argument(app):
    """Outside a request (a job, a mail): the same parts in any language."""
    parts = [stored_messages.part("upload.abandoned", count=1200),
             stored_messages.part("ingest.ledger_dropped", count=3, year=2025, month=4)]
    assert stored_messages.japanese(parts) == (
        "処理中に作業プロセスが停止しました（1,200 回）。ファイルの内容を確認し、再度アップロードしてください。"
        "前の台帳にあって今回の台帳にない 3 台は、2025年4月からの集計に含まれません（それより前の月の集計は変わりません）。")
    with app.app_context():
        english = stored_messages.render(parts, "en")
        assert english.startswith("The worker process stopped during processing (1,200 times).")
        assert "from 4/2025 on" in english and not JAPANESE.search(english)
        assert stored_messages.render(parts, "ja_JP") == stored_messages.japanese(parts)
    with pytest.raises(KeyError):
        stored_messages.part("no.such.code")


def test_every_stored_message_has_an_english_translation(app):
    from babel.messages.pofile import read_po

    from .test_i18n import ROOT

    with open(ROOT / "app/translations/en/LC_MESSAGES/messages.po", "rb") as handle:
        catalog = read_po(handle)
    untranslated = [code for code, msgid in stored_messages.MESSAGES.items()
                    if not (catalog.get(msgid) and catalog.get(msgid).string)]
    assert untranslated == []
