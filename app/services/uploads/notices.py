"""The mail to a hospital's notification list once its uploaded files are processed.

A file uploaded alone is mailed about when its import succeeds ("the ledger of 2026-10 is
imported: 97 rows, 3 not"). Files uploaded together (one submission of the upload screen or
of the upload API: up to a ledger, a lending and a failure history) get ONE mail, once each of
them has its outcome, listing every file with that outcome — a failed or rejected file
included, so one bad file never keeps the others' mail back. Nothing is mailed when no file of
the submission was imported (a failed single file is not mailed either: the upload screen says
why).

Which files were submitted together is what their ingest jobs carry (``batch``: the ids of
the submission's files, given at enqueue; recovery re-queues a job with it). There is no
column for it: each job, as it ends — imported, failed, needing a column mapping, failed for
good after its retries, killed —, adds its file to a Redis set of the submission's finished
files; the job that completes the set sends the mail, claimed once (``SET NX``) when two end
at the same moment. A byte-identical file of the submission runs no job: it is finished from
the start. A file processed again later (after its columns are mapped) is a submission of its
own: its own mail.
"""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from app.core.months import month_label
from app.extensions import db
from app.infra.queue import redis_connection
from app.models import Organization, UploadFile, UploadStatus, UploadType
from app.services.uploads.records import STATUS_LABELS, SUCCEEDED, TYPE_LABELS, batch_of

FINISHED_KEY = "optiserve:upload-batch:{}:finished"
MAILED_KEY = "optiserve:upload-batch:{}:mailed"
# Longer than any wait of a submission's jobs (retries within minutes, failed jobs kept 7 days).
KEY_SECONDS = 14 * 86400


def file_finished(upload: UploadFile, batch: Sequence[int] | None) -> list[UploadFile]:
    """Send the mail that is due now that ``upload`` has its outcome (module docstring).
    Returns the uploads the mail sent reported on ([] when none was sent)."""
    ids = batch_of(batch)
    if not ids:
        if upload.status in SUCCEEDED and notify_success(upload):
            return [upload]
        return []
    connection = redis_connection()
    finished_key = FINISHED_KEY.format(ids[0])
    connection.sadd(finished_key, upload.id)
    connection.expire(finished_key, KEY_SECONDS)
    uploads = list(db.session.scalars(
        select(UploadFile).where(UploadFile.id.in_(ids)).order_by(UploadFile.file_type, UploadFile.id)))
    finished = {int(i) for i in connection.smembers(finished_key)}
    finished |= {u.id for u in uploads if u.status == UploadStatus.duplicate.value}
    if not set(ids) <= finished:
        return []  # the submission's last file to finish sends the mail
    if not connection.set(MAILED_KEY.format(ids[0]), "1", nx=True, ex=KEY_SECONDS):
        return []  # another file finishing at the same moment sent it
    if not any(u.status in SUCCEEDED for u in uploads):
        return []
    return uploads if notify_submission(uploads) else []


def notify_success(upload: UploadFile) -> str | None:
    """E-mail the hospital's notification list that a file of the month was imported."""
    from app.infra.mail import render as render_mail
    from app.infra.mail import send_mail

    hospital = db.session.get(Organization, upload.hospital_id)
    if hospital is None:
        return None
    subject, body = render_mail("upload_done", hospital=hospital, month=month_label(upload.month),
                                label=str(TYPE_LABELS[UploadType(upload.file_type)]),
                                imported=upload.rows_imported or 0, rejected=upload.rows_rejected or 0)
    return send_mail(hospital.notification_email_list, subject, body)


def notify_submission(uploads: list[UploadFile]) -> str | None:
    """E-mail the hospital's notification list each file of one submission with its outcome."""
    from app.infra.mail import render as render_mail
    from app.infra.mail import send_mail

    hospital = db.session.get(Organization, uploads[0].hospital_id)
    if hospital is None:
        return None
    files = [{
        "label": str(TYPE_LABELS[UploadType(u.file_type)]),
        "name": u.original_name,
        "outcome": str(STATUS_LABELS.get(u.status, u.status)),
        "imported": (u.rows_imported or 0) if u.status in SUCCEEDED else None,
        "rejected": u.rows_rejected or 0,
        # Why it was not imported, as the upload screen says it.
        "reason": None if u.status in SUCCEEDED else (u.message or "").strip(),
    } for u in uploads]
    months = [month_label(m) for m in sorted({u.month for u in uploads})]
    subject, body = render_mail("upload_batch_done", hospital=hospital, month="・".join(months), files=files)
    return send_mail(hospital.notification_email_list, subject, body)
