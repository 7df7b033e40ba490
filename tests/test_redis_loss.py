"""Redis holds only the jobs; the database holds the state of the work. Losing Redis (a
replaced ElastiCache node, FLUSHDB) between enqueue and work loses nothing: the recovery
sweep queues the work again from the database and it completes exactly once."""
from __future__ import annotations

import datetime as dt
import email
from pathlib import Path

from app.extensions import db
from app.infra.queue import get_queue, redis_connection
from app.jobs.worker import recover_stuck_work
from app.models import Organization, ReportFile
from app.services.reports import enqueue_report
from app.services.reports import job_id as report_job_id

from .ingest_helpers import LEDGER_HEADER, csv_bytes, ledger_rows
from .report_data import MONTH as REPORT_MONTH
from .report_data import make_dataset
from .test_jobs import equipment_count, start_worker, status


def outbox_subjects(app) -> list[str]:
    outbox = Path(app.config["MAIL_URL"].removeprefix("file://"))
    subjects = []
    for path in sorted(outbox.glob("*.eml")) if outbox.exists() else []:
        message = email.message_from_bytes(path.read_bytes())
        subjects.append(str(email.header.make_header(email.header.decode_header(message["Subject"]))))
    return subjects


def report_rows(hospital_id: int) -> list[ReportFile]:
    db.session.expire_all()
    rows = db.session.query(ReportFile).filter_by(hospital_id=hospital_id, month=REPORT_MONTH).all()
    db.session.commit()
    return rows


def test_work_survives_a_redis_flush_and_completes_exactly_once(app, ctx):
    connection = redis_connection()
    connection.flushdb()
    before = outbox_subjects(app)
    # An upload of one hospital and a report of another, both waiting for a worker.
    make_dataset("H0001")  # a month (2025-05) with devices, lendings and failures to report on
    h1 = db.session.query(Organization).filter_by(code="H0001").one()
    h1.notification_emails = "me-room@example.jp"
    h2 = db.session.query(Organization).filter_by(code="H0002").one()
    h2.notification_emails = "me-room@minato-hp.example.jp"
    db.session.commit()
    hospital_id = h1.id
    upload_id = queued_upload_for("H0002")
    enqueue_report(hospital_id, REPORT_MONTH)
    ingest_ident, report_ident = f"ingest-{upload_id}", report_job_id(hospital_id, REPORT_MONTH)
    assert get_queue().get_job_ids() == [ingest_ident, report_ident]

    connection.flushdb()  # Redis lost: no job, no queue, no registry
    assert get_queue().get_job_ids() == []
    assert status(upload_id).status == "queued"
    assert {row.status for row in report_rows(hospital_id)} == {"queued"}

    # The sweep rebuilds the jobs from the database; a second sweep finds them live.
    assert recover_stuck_work(get_queue()) == [
        (f"upload {upload_id}", "requeued"), (f"report {hospital_id}/{REPORT_MONTH:%Y-%m}", "requeued")]
    assert recover_stuck_work(get_queue()) == []
    assert sorted(get_queue().get_job_ids()) == sorted([ingest_ident, report_ident])

    worker = start_worker(app, burst=True)
    output, _ = worker.communicate(timeout=300)
    assert worker.returncode == 0, output
    assert "requeued" not in output  # the worker's own start-up sweep found nothing more to do
    assert output.count(f"Job OK ({ingest_ident})") == 1, output
    assert output.count(f"Job OK ({report_ident})") == 1, output

    upload = status(upload_id)
    assert upload.status == "succeeded", (upload.status, upload.message, output)
    assert upload.rows_imported == 7
    assert equipment_count("H0002") == 7  # imported once, not twice
    rows = report_rows(hospital_id)
    assert len(rows) == 3 and {row.status for row in rows} == {"published"}
    assert all(row.storage_key and row.sha256 for row in rows)
    new_mail = outbox_subjects(app)[len(before):]
    assert len([s for s in new_mail if "アップロードが完了しました" in s]) == 1, new_mail
    assert len([s for s in new_mail if "分析レポートを公開しました" in s]) == 1, new_mail
    assert recover_stuck_work(get_queue()) == []


def queued_upload_for(code: str) -> int:
    from app.models import UploadFile
    from app.services.uploads import records as uploads

    from .ingest_helpers import make_upload

    upload_id = make_upload(csv_bytes([LEDGER_HEADER] + ledger_rows(7)), 1, code=code)
    upload = db.session.get(UploadFile, upload_id)
    upload.status = "queued"
    db.session.commit()
    uploads.enqueue_ingest(upload_id)
    return upload_id


def test_a_report_left_running_by_a_lost_worker_is_requeued_then_failed(app, ctx):
    """A report whose worker died mid-run is retried a bounded number of times."""
    from app.jobs.worker import MAX_RECOVERIES

    redis_connection().flushdb()
    hospital_id = db.session.query(Organization.id).filter_by(code="H0001").scalar()
    enqueue_report(hospital_id, dt.date(2025, 5, 1))
    label = f"report {hospital_id}/2025-05"
    for _attempt in range(MAX_RECOVERIES):
        for row in report_rows(hospital_id):
            row.status = "running"  # as a worker leaves it when killed
        db.session.commit()
        get_queue().empty()
        assert recover_stuck_work(get_queue()) == [(label, "requeued")]
        assert {row.status for row in report_rows(hospital_id)} == {"queued"}
    for row in report_rows(hospital_id):
        row.status = "running"
    db.session.commit()
    get_queue().empty()
    assert recover_stuck_work(get_queue()) == [(label, "failed")]
    rows = report_rows(hospital_id)
    assert {row.status for row in rows} == {"failed"}
    assert all("管理者にお問い合わせください" in row.message for row in rows)
