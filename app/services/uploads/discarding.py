"""Withdrawing an upload that was never imported: a wrong file sent by mistake (one waiting for
its columns to be mapped, or one that failed) is set aside, and the month is again what the
earlier files made it (app.services.uploads.month_status ignores a discarded upload).

Nothing else changes: such an upload wrote no rows (an ingest is all or nothing), so the data
of earlier successful uploads stay as they are; the row and its stored file are kept for the
record (the upload history's CSV lists it as 取り消し済み), and the on-prem systems no longer
fetch it. An imported upload cannot be withdrawn: its rows are the month's data.
"""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import update

from app.core.months import format_jst, utc_now
from app.extensions import db
from app.models import UploadFile, UploadStatus
from app.services.stored_messages import part, set_message

# Only uploads whose work is over and wrote nothing: a queued or running one has a live job.
DISCARDABLE = frozenset({UploadStatus.needs_mapping.value, UploadStatus.failed.value})


class NotDiscardable(ValueError):
    """The upload cannot be withdrawn; the message is shown to the user."""


def can_discard(upload: UploadFile) -> bool:
    return upload.status in DISCARDABLE


def discard_upload(upload: UploadFile, actor=None) -> UploadFile:
    """Set ``upload`` (already checked to be in the caller's scope) aside and audit it; flushed,
    the caller commits. ``actor``: who did it (None: the request's user, app/views/request_audit.py)."""
    from app.services.audit import trail as audit

    before = upload.status
    if before not in DISCARDABLE:
        raise NotDiscardable(_("取り込み済みまたは処理中のファイルは取り消せません。"))
    # Conditional on the status read above: a column mapping saved meanwhile in another tab
    # re-queued the upload, and its job must not be undercut.
    now = utc_now()
    changed = db.session.execute(
        update(UploadFile).where(UploadFile.id == upload.id, UploadFile.status == before)
        .values(status=UploadStatus.discarded.value, finished_at=now)
        .execution_options(synchronize_session=False)).rowcount
    db.session.refresh(upload)
    if not changed:
        raise NotDiscardable(_("取り込み済みまたは処理中のファイルは取り消せません。"))
    set_message(upload, part("upload.discarded", when=format_jst(now)))
    audit.record("upload.discarded", upload, organization_id=upload.hospital_id, actor=actor, changes={
        "status": [before, UploadStatus.discarded.value], "month": f"{upload.month:%Y-%m}",
        "file_type": upload.file_type, "original_name": upload.original_name,
    })
    db.session.flush()
    return upload
