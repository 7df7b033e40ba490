"""Files uploaded together get ONE mail once every one of them is processed, listing each
file with its outcome; a file that fails (in its data, or its job) never keeps the others'
mail back; a file uploaded alone keeps its own mail."""
from __future__ import annotations

import io

import pytest

from app.core.months import month_label
from app.extensions import db
from app.infra import mail
from app.infra.queue import get_queue
from app.jobs import ingest as ingest_jobs
from app.jobs.ingest import NOTIFIED_MESSAGE
from app.models import Organization, UploadFile
from app.services.stored_messages import japanese
from app.services.uploads import records as uploads

from .conftest import HOSPITAL_A, login_as
from .ingest_helpers import LEDGER_HEADER, csv_bytes, ledger_rows
from .test_jobs import run_burst_worker, start_worker, status

LEDGER_CSV = csv_bytes([LEDGER_HEADER] + ledger_rows(5))
LENDING_CSV = csv_bytes([["機器番号", "貸出日時", "返却日時", "貸出先"], ["ME00001", "2025/10/01 09:00", "", "ICU"],
                         ["ME00002", "2025/10/02 10:00", "2025/10/02 15:00", "HCU"]])
# Every row refers to a device no ledger has and has no valid date: nothing to import.
BAD_FAILURE_CSV = csv_bytes([["機器番号", "故障日", "修理完了日", "故障内容"], ["ZZ-1", "いつか", "", "異音"],
                             ["ZZ-2", "不明", "", "破損"]])


pytestmark = pytest.mark.usefixtures("empty_queue")


def month() -> str:
    return f"{uploads.default_month():%Y-%m}"


def submit(client, **files) -> list[UploadFile]:
    """One submission of the upload screen; its uploads in file-type order."""
    data = {"month": month()}
    for slug, (content, name) in files.items():
        data[slug] = (io.BytesIO(content), name)
    assert client.post("/upload/", data=data, content_type="multipart/form-data").status_code == 302
    return db.session.query(UploadFile).order_by(UploadFile.file_type).all()


def three_files(client) -> list[UploadFile]:
    login_as(client, HOSPITAL_A)
    return submit(client, ledger=(LEDGER_CSV, "台帳.csv"), lending=(LENDING_CSV, "貸出.csv"),
                  failure=(BAD_FAILURE_CSV, "故障.csv"))


def run_job(upload: UploadFile) -> str:
    """The upload's queued job, run here with the arguments it was queued with."""
    job = get_queue().fetch_job(f"ingest-{upload.id}")
    return ingest_jobs.ingest_job(*job.args, **job.kwargs)


def new_mails(before: int) -> list[tuple[str, str, str]]:
    return [(m["Subject"], m["To"], m.get_content()) for m in mail.outbox_messages()[before:]]


def test_three_files_one_rejected_get_one_mail_when_the_last_is_done(client, ctx):
    ledger, lending, failure = three_files(client)
    ids = sorted(u.id for u in (ledger, lending, failure))
    for upload in (ledger, lending, failure):
        assert get_queue().fetch_job(f"ingest-{upload.id}").kwargs == {"batch": ids}
    before = len(mail.outbox_messages())
    assert run_job(ledger) == "succeeded"
    assert run_job(lending) == "succeeded"
    assert new_mails(before) == []  # the failure history is still waiting
    assert run_job(failure) == "failed"
    (subject, to, body), = new_mails(before)
    assert subject == f"【OptiServe】{month_label(uploads.default_month())}分のアップロード（3ファイル）の処理が完了しました"
    assert "me-center@sakura-hp.example.jp" in to
    assert "■ 医療機器台帳（台帳.csv）: 完了\n取り込み件数: 5 件（取り込めなかった行: 0 件）" in body
    assert "■ 貸出履歴（貸出.csv）: 完了\n取り込み件数: 2 件" in body
    assert "■ 故障履歴（故障.csv）: 失敗\n有効な行がありません" in body
    assert body.index("台帳.csv") < body.index("貸出.csv") < body.index("故障.csv")
    for upload in (ledger, lending, failure):
        assert status(upload.id).message.endswith(japanese([NOTIFIED_MESSAGE]))
    # A second delivery of a job sends nothing more.
    assert run_job(failure) == "failed"
    assert new_mails(before)[1:] == []


def test_the_last_file_to_finish_mails_whatever_its_type(client, ctx):
    ledger, lending, failure = three_files(client)
    before = len(mail.outbox_messages())
    assert run_job(ledger) == "succeeded"
    assert run_job(failure) == "failed"
    assert new_mails(before) == []
    assert run_job(lending) == "succeeded"
    assert len(new_mails(before)) == 1


def test_a_job_that_fails_for_good_does_not_keep_the_others_mail_back(client, ctx, monkeypatch):
    ledger, lending, failure = three_files(client)
    before = len(mail.outbox_messages())
    from app.services.ingest import pipeline

    run_ingest = pipeline.run_ingest

    def database_gone_for_the_lending(upload_id):
        if upload_id == lending.id:
            raise RuntimeError("database is gone")
        return run_ingest(upload_id)

    monkeypatch.setattr(pipeline, "run_ingest", database_gone_for_the_lending)
    assert run_job(ledger) == "succeeded"
    with pytest.raises(RuntimeError):
        run_job(lending)  # no RQ job around it: no retry, failed for good
    assert new_mails(before) == []
    assert run_job(failure) == "failed"
    (_subject, _to, body), = new_mails(before)
    assert "■ 医療機器台帳（台帳.csv）: 完了" in body
    assert f"■ 貸出履歴（貸出.csv）: 失敗\n{japanese([ingest_jobs.FAILED_MESSAGE])}" in body
    assert "■ 故障履歴（故障.csv）: 失敗" in body


def test_nothing_imported_sends_no_mail_and_one_file_keeps_its_own(client, ctx):
    login_as(client, HOSPITAL_A)
    bad = BAD_FAILURE_CSV.replace(b"ZZ-1", b"ZZ-3")
    first, second = submit(client, lending=(bad, "貸出.csv"), failure=(BAD_FAILURE_CSV, "故障.csv"))
    before = len(mail.outbox_messages())
    assert [run_job(first), run_job(second)] == ["needs_mapping", "failed"]
    assert new_mails(before) == []
    # One file alone: its job has no batch and mails as soon as it is imported.
    db.session.query(UploadFile).delete()
    db.session.commit()
    (ledger,) = submit(client, ledger=(LEDGER_CSV, "台帳.csv"))
    job = get_queue().fetch_job(f"ingest-{ledger.id}")
    assert job.args == (ledger.id,) and job.kwargs == {}
    assert run_job(ledger) == "succeeded"
    (subject, _to, body), = new_mails(before)
    assert subject == f"【OptiServe】{month_label(uploads.default_month())}分 医療機器台帳のアップロードが完了しました"


def test_rq_runs_the_submission_and_mails_once(client, ctx):
    """The jobs as RQ runs them (the ledger first: the other two wait for it)."""
    ledger, lending, failure = three_files(client)
    before = len(mail.outbox_messages())
    run_burst_worker()
    assert [status(u.id).status for u in (ledger, lending, failure)] == ["succeeded", "succeeded", "failed"]
    assert len(new_mails(before)) == 1


def test_the_worker_process_with_the_embedded_redis_mails_once(app, client, ctx):
    hospital = db.session.query(Organization).filter_by(code="H0001").one()
    ledger, lending, failure = three_files(client)
    before = len(mail.outbox_messages())
    worker = start_worker(app, burst=True)
    output, _ = worker.communicate(timeout=300)
    assert worker.returncode == 0, output
    assert [status(u.id).status for u in (ledger, lending, failure)] == ["succeeded", "succeeded", "failed"]
    (subject, to, body), = new_mails(before)
    assert "3ファイル" in subject and hospital.name in body and "故障.csv" in body


def test_recovery_keeps_the_submission_and_a_file_abandoned_still_lets_the_mail_go(client, ctx):
    from rq.job import JobStatus

    from app.jobs.worker import MAX_RECOVERIES, recover_stuck_uploads

    ledger, lending, failure = three_files(client)
    ids = sorted(u.id for u in (ledger, lending, failure))
    before = len(mail.outbox_messages())
    assert run_job(ledger) == "succeeded" and run_job(failure) == "failed"
    queue = get_queue()

    def worker_died_during_the_lending():
        queue.fetch_job(f"ingest-{lending.id}").set_status(JobStatus.STARTED)  # no worker behind it
        upload = db.session.get(UploadFile, lending.id)
        upload.status = "processing"
        db.session.commit()
        return recover_stuck_uploads(queue)

    for _attempt in range(MAX_RECOVERIES):
        assert worker_died_during_the_lending() == [(lending.id, "requeued")]
        assert queue.fetch_job(f"ingest-{lending.id}").kwargs == {"batch": ids}
    assert new_mails(before) == []
    assert worker_died_during_the_lending() == [(lending.id, "failed")]
    (_subject, _to, body), = new_mails(before)
    assert "■ 貸出履歴（貸出.csv）: 失敗\n処理中に作業プロセスが停止しました（3 回）" in body
