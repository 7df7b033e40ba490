"""One data change, one report mail: the run after an upload publishes every month that
became ready and revises every published month whose figures changed, and the hospital gets
ONE mail naming them all (QA: one ledger upload on the demo sent twelve 「分析レポートを
公開しました」 mails, a job and a mail per ready month). A single month keeps its usual mail;
a mail failure never unpublishes."""
from __future__ import annotations

import datetime as dt
import email
import email.policy
from pathlib import Path
from urllib.parse import urlparse

import pytest
from flask import current_app

from app.extensions import db
from app.infra.queue import get_queue, redis_connection
from app.jobs.reports import revise_reports_job
from app.jobs.worker import recover_stuck_reports
from app.models import Lending, ReportFile, ReportVersion, UploadFile
from app.services.reports import after_data_change, job_id, notices, revision_job_ids
from app.services.reports.service import generate_reports

from .report_data import LEDGER_MONTH, MONTH, T, hospital, make_dataset

APRIL, JUNE = dt.date(2025, 4, 1), dt.date(2025, 6, 1)


def outbox() -> set[Path]:
    folder = Path(urlparse(current_app.config["MAIL_URL"]).path)
    return set(folder.glob("*.eml")) if folder.exists() else set()


def new_mails(before: set[Path]) -> list[tuple[str, str, str]]:
    mails = []
    for path in sorted(outbox() - before):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        mails.append((str(message["Subject"]), message["To"], message.get_content()))
    return mails


def link(month: dt.date) -> str:
    return f"{current_app.config['PUBLIC_BASE_URL']}/reports/?month={month:%Y-%m}"


pytestmark = pytest.mark.usefixtures("empty_queue")


@pytest.fixture()
def data(ctx):
    data = make_dataset()
    hospital().notification_emails = "me-room@sakura-hp.example.jp"
    db.session.commit()
    return data


def uploads_for(hospital_id: int, *months: dt.date) -> None:
    """Succeeded lending and failure files of each month (the ledger of 2024-05 is in force):
    the months are ready for their report."""
    db.session.add(UploadFile(hospital_id=hospital_id, month=LEDGER_MONTH, file_type=1, original_name="l.csv",
                              sha256="1" * 64, status="succeeded"))
    for month in months:
        for file_type in (2, 3):
            db.session.add(UploadFile(hospital_id=hospital_id, month=month, file_type=file_type,
                                      original_name="x.csv", sha256=str(file_type) * 64, status="succeeded"))
    db.session.commit()


def longer_april_lending(data) -> None:
    """April's L0 (D2, 24 h) is returned a day later (48 h): April's own figures change, and
    May's comparison with the month before."""
    lending = db.session.query(Lending).filter_by(equipment_id=data["devices"]["D2"], lent_at=T(2025, 4, 10)).one()
    lending.returned_at = T(2025, 4, 12)
    db.session.commit()


def published_versions(hospital_id: int, month: dt.date) -> list[int]:
    db.session.expire_all()
    return sorted(v for (v,) in db.session.query(ReportVersion.version).filter_by(hospital_id=hospital_id, month=month))


def test_revising_several_months_in_one_run_sends_one_mail_naming_them_all(data):
    h = data["hospital"]
    generate_reports(h, APRIL, notify=False)
    generate_reports(h, MONTH, notify=False)
    longer_april_lending(data)
    before = outbox()

    assert revise_reports_job(h) == "checked 2, revised 2: 2025-04 v2, 2025-05 v2"

    assert published_versions(h, APRIL) == [1, 2] and published_versions(h, MONTH) == [1, 2]
    mails = new_mails(before)
    assert len(mails) == 1, [subject for subject, _to, _body in mails]
    subject, to, body = mails[0]
    assert subject == "【OptiServe】2か月分の分析レポートを改訂しました"
    assert to == "me-room@sakura-hp.example.jp"
    assert f"■ 2025年4月（第2版）: {link(APRIL)}" in body
    assert f"■ 2025年5月（第2版）: {link(MONTH)}" in body
    # what changed, month by month
    april_part, may_part = body.split("■ 2025年5月")
    assert "全機器 合計貸出時間: 36.0時間 → 60.0時間" in april_part
    assert "比較対象（前月・過去12か月平均）の値" in may_part and "全機器 合計貸出時間" not in may_part
    assert "このメールは OptiServe から自動送信しています" in body

    # Checked again with nothing new: no version, no mail.
    again = outbox()
    assert revise_reports_job(h) == "checked 2, revised 0"
    assert outbox() == again


def test_the_revise_command_also_sends_one_mail(data, app):
    h = data["hospital"]
    generate_reports(h, APRIL, notify=False)
    generate_reports(h, MONTH, notify=False)
    longer_april_lending(data)
    before = outbox()
    result = app.test_cli_runner().invoke(args=["optiserve", "reports", "revise", "--hospital", "H0001"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["H0001 2025-04: revised 3 (version 2)", "H0001 2025-05: revised 3 (version 2)"]
    assert [subject for subject, _to, _body in new_mails(before)] == ["【OptiServe】2か月分の分析レポートを改訂しました"]


def test_one_upload_publishes_the_ready_months_and_revisions_in_one_run_with_one_mail(data):
    h = data["hospital"]
    generate_reports(h, MONTH, notify=False)  # May published; April and June have their files, no report
    uploads_for(h, APRIL, MONTH, JUNE)
    longer_april_lending(data)  # and the upload changed April's data: May is revised
    before = outbox()

    assert after_data_change(h) == [APRIL, JUNE]

    # One run queued for the hospital, no job per month; the months wait as queued.
    connection = redis_connection()
    assert not any(connection.exists(f"rq:job:{job_id(h, m)}") for m in (APRIL, MONTH, JUNE))
    assert connection.exists(f"rq:job:{revision_job_ids(h)[0]}")
    assert {r.status for r in db.session.query(ReportFile).filter_by(hospital_id=h, month=APRIL)} == {"queued"}

    assert revise_reports_job(h) == "published 2: 2025-04, 2025-06; checked 1, revised 1: 2025-05 v2"

    db.session.expire_all()
    for month in (APRIL, JUNE):
        rows = db.session.query(ReportFile).filter_by(hospital_id=h, month=month).all()
        assert len(rows) == 3 and all(r.status == "published" and r.published_at for r in rows)
    assert published_versions(h, MONTH) == [1, 2]
    mails = new_mails(before)
    assert len(mails) == 1, [subject for subject, _to, _body in mails]
    subject, _to, body = mails[0]
    assert subject == "【OptiServe】分析レポートを公開・改訂しました（公開 2か月分、改訂 1か月分）"
    assert "次の2か月分の分析レポート・故障リスト・未実績リストを公開しました。" in body
    assert f"・2025年4月: {link(APRIL)}" in body and f"・2025年6月: {link(JUNE)}" in body
    assert f"■ 2025年5月（第2版）: {link(MONTH)}" in body
    assert "比較対象（前月・過去12か月平均）の値" in body


def test_a_mail_failure_never_unpublishes(data, monkeypatch):
    h = data["hospital"]
    uploads_for(h, APRIL, MONTH)

    def broken(*_args, **_kwargs):
        raise ConnectionError("mail server down")

    monkeypatch.setattr(notices, "send_mail", broken)
    before = outbox()
    assert after_data_change(h) == [APRIL, MONTH]
    assert revise_reports_job(h) == "published 2: 2025-04, 2025-05; checked 0, revised 0"
    db.session.expire_all()
    for month in (APRIL, MONTH):
        rows = db.session.query(ReportFile).filter_by(hospital_id=h, month=month).all()
        assert len(rows) == 3 and all(r.status == "published" and r.published_at and r.storage_key for r in rows)
        assert published_versions(h, month) == [1]
    assert outbox() == before


def test_queued_ready_months_are_recovered_as_one_run_not_a_job_each(data):
    h = data["hospital"]
    uploads_for(h, APRIL, MONTH)
    assert after_data_change(h) == [APRIL, MONTH]
    queue = get_queue()
    assert recover_stuck_reports(queue) == []  # the hospital's run is live: nothing to do

    redis_connection().flushdb()  # Redis lost before the run
    assert recover_stuck_reports(queue) == [(f"report {h}/2025-04", "requeued"), (f"report {h}/2025-05", "requeued")]
    assert queue.get_job_ids() == [revision_job_ids(h)[0]]
    before = outbox()
    assert revise_reports_job(h) == "published 2: 2025-04, 2025-05; checked 0, revised 0"
    assert [subject for subject, _to, _body in new_mails(before)] == ["【OptiServe】2か月分の分析レポートを公開しました"]
