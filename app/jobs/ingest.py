"""The ingest job: load the upload, call the domain code, record the outcome.

Bad data never raises here (:func:`app.services.ingest.pipeline.run_ingest` records it on the upload);
only infrastructure errors do, and those are retried by RQ (``Retry`` given at enqueue). An
upload is never left "processing": an exception is recorded before it propagates, a killed
work horse is recorded by :class:`app.jobs.worker.AppWorker`, and a killed worker is found by
:func:`app.jobs.worker.recover_stuck_uploads` when a worker starts.
"""
from __future__ import annotations

import logging

from flask import current_app
from sqlalchemy import update

from app.core.months import utc_now
from app.infra.queue import in_app_context
from app.models import UploadFile, UploadStatus
from app.services.stored_messages import append_message, japanese, part, set_message

log = logging.getLogger(__name__)

RUNNABLE = {UploadStatus.queued.value, UploadStatus.processing.value}
# Stored as codes (app/services/stored_messages.py), shown in the reader's language.
RETRY_MESSAGE = part("upload.retrying")
NOTIFIED_MESSAGE = part("upload.notified")
FAILED_MESSAGE = part("upload.failed_temporarily")
PROCESSING_MESSAGE = part("upload.processing")


def job_id(upload_id: int) -> str:
    return f"ingest-{upload_id}"


def ingest_job(upload_id: int, batch: list[int] | None = None) -> str:
    """``batch``: the ids of the files submitted with this one (the mail waits for all of
    them: app/services/uploads/notices.py); absent for a file uploaded alone."""
    return in_app_context(_run, upload_id, batch)


def _run(upload_id: int, batch: list[int] | None = None) -> str:
    from app.extensions import db
    from app.services.ingest.pipeline import run_ingest

    # Claim the upload atomically: a second delivery of the job (two workers recovering the
    # same upload, a duplicate enqueue) finds it no longer queued and does no work twice.
    claimed = db.session.execute(
        update(UploadFile)
        .where(UploadFile.id == upload_id, UploadFile.status == UploadStatus.queued.value)
        .values(status=UploadStatus.processing.value, started_at=utc_now(),
                message=japanese([PROCESSING_MESSAGE]), message_parts=[PROCESSING_MESSAGE])
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    if not claimed:
        upload = db.session.get(UploadFile, upload_id)
        return "missing" if upload is None else upload.status
    try:
        run_ingest(upload_id)
    except Exception:
        log.exception("ingest of upload %s failed", upload_id)
        db.session.rollback()
        record_infrastructure_failure(upload_id, will_retry=_will_retry(), batch=batch)
        raise
    finally:
        db.session.expire_all()
    upload = db.session.get(UploadFile, upload_id)
    if upload.status in RUNNABLE:
        # run_ingest sets the outcome itself; a status left behind would mean a stuck upload.
        upload.status = UploadStatus.failed.value
        set_message(upload, FAILED_MESSAGE)
        upload.finished_at = utc_now()
        db.session.commit()
    _notify(upload, batch)
    if upload.status in {UploadStatus.succeeded.value, UploadStatus.succeeded_with_rejections.value}:
        _queue_report_when_month_complete(upload)
    status = upload.status
    db.session.remove()
    return status


def _will_retry() -> bool:
    from rq import get_current_job

    job = get_current_job()
    return bool(job is not None and job.should_retry)


def record_infrastructure_failure(upload_id: int, will_retry: bool, message: dict | None = None,
                                  batch: list[int] | None = None) -> None:
    """Record that the job failed: queued again when it will be retried, else failed for
    good — an outcome the mail of the files submitted with it (``batch``) waits for.
    ``message``: a part (app.services.stored_messages.part) said instead of the default."""
    from app.extensions import db

    upload = db.session.get(UploadFile, upload_id)
    if upload is None or upload.status not in RUNNABLE:
        return
    if will_retry:
        upload.status = UploadStatus.queued.value
        set_message(upload, message or RETRY_MESSAGE)
    else:
        upload.status = UploadStatus.failed.value
        set_message(upload, message or FAILED_MESSAGE)
        upload.finished_at = utc_now()
    db.session.commit()
    if not will_retry:
        _notify(upload, batch)


def _queue_report_when_month_complete(upload: UploadFile) -> None:
    """The months this upload made ready get their report; published months whose figures
    it changed get a new version (app.services.reports.after_data_change). Never raises."""
    from app.services.reports import queue_after_data_change

    queue_after_data_change(upload.hospital_id)


def _notify(upload: UploadFile, batch: list[int] | None) -> None:
    """The upload has its outcome: the mail due now, if any (app/services/uploads/notices.py);
    each upload it reported on says so."""
    from app.extensions import db
    from app.services.uploads.notices import file_finished

    try:
        reported = file_finished(upload, batch)
    except Exception:
        # The outcome is committed; a mail problem must not turn it into a failed, retried job.
        log.exception("notification for upload %s failed (%s)", upload.id, current_app.config["MAIL_URL"])
        db.session.rollback()
        return
    for item in reported:
        append_message(item, NOTIFIED_MESSAGE)
    if reported:
        db.session.commit()
