"""Accepting ME-system files (screen 3): target hospital and month, storage, duplicates,
queuing, status for the screen and history (the mails after processing: notices.py).

The view and the REST API are thin wrappers over these functions.
"""
from __future__ import annotations

import datetime as dt
import logging

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.core.months import add_months, first_of_month, format_jst, jst_today, previous_month, utc_now
from app.core.months import parse_month as parse_any_month
from app.extensions import db
from app.infra.storage import get_storage
from app.models import Organization, UploadFile, UploadStatus, UploadType
from app.services.stored_messages import codes, display, part, set_message
from app.services.uploads.checks import CheckedFile, UploadRejected, check_upload, clean_filename, discard
from app.services.uploads.discarding import DISCARDABLE
from app.services.uploads.month_status import SUCCEEDED, due_date, month_states

log = logging.getLogger(__name__)

TYPE_LABELS = {
    UploadType.ledger: _l("医療機器台帳"),
    UploadType.lending: _l("貸出履歴"),
    UploadType.failure: _l("故障履歴"),
}
TYPE_SLUGS = {UploadType.ledger: "ledger", UploadType.lending: "lending", UploadType.failure: "failure"}
STATUS_LABELS = {
    UploadStatus.queued.value: _l("待機中"),
    UploadStatus.processing.value: _l("処理中"),
    UploadStatus.succeeded.value: _l("完了"),
    UploadStatus.succeeded_with_rejections.value: _l("完了（取り込めない行あり）"),
    UploadStatus.needs_mapping.value: _l("列の対応付けが必要"),
    UploadStatus.failed.value: _l("失敗"),
    UploadStatus.duplicate.value: _l("同一ファイル（処理済み）"),
    UploadStatus.discarded.value: _l("取り消し済み"),
}
PENDING = {UploadStatus.queued.value, UploadStatus.processing.value}
# Uploads whose file is (or will be) the month's data: a new identical file adds nothing.
EFFECTIVE = SUCCEEDED | PENDING | {UploadStatus.needs_mapping.value}
HISTORY_MONTHS = 6
BACKFILL_MONTHS = 36  # complete months before the current one (DESIGN §9, decision 5)


def parse_file_type(value) -> UploadType | None:
    if value is None:
        return None
    text = str(value).strip().lower()
    for file_type, slug in TYPE_SLUGS.items():
        if text in (slug, str(int(file_type))):
            return file_type
    return None


# ---------------------------------------------------------------- months


def selectable_months(on: dt.date | None = None) -> list[dt.date]:
    """Japan's current month and the 36 complete months before it, newest first: a hospital
    back-fills up to three years when it starts (a first report needs 13 months)."""
    current = first_of_month(on or jst_today())
    return [add_months(current, -i) for i in range(BACKFILL_MONTHS + 1)]


def default_month(on: dt.date | None = None) -> dt.date:
    """The last complete month in Japan (the month a monthly export is usually for)."""
    return previous_month(first_of_month(on or jst_today()))


def parse_month(text: str | None, on: dt.date | None = None) -> dt.date:
    """``YYYY-MM`` within :func:`selectable_months`, else :class:`UploadRejected` saying why."""
    value = parse_any_month(text) if text and len(str(text).strip()) <= 10 else None
    if value is None:
        raise UploadRejected(_("対象年月を YYYY-MM の形式で指定してください（例: 2025-05）。"))
    current = first_of_month(on or jst_today())
    if value > current:
        raise UploadRejected(_("%(month)s は未来の月のためアップロードできません。"
                               "対象年月は %(current)s 以前を指定してください。",
                               month=f"{value:%Y-%m}", current=f"{current:%Y-%m}"))
    oldest = add_months(current, -BACKFILL_MONTHS)
    if value < oldest:
        raise UploadRejected(_("対象年月は過去36か月（%(oldest)s〜%(current)s）の範囲で指定してください。",
                               oldest=f"{oldest:%Y-%m}", current=f"{current:%Y-%m}"))
    return value


# ---------------------------------------------------------------- lookup


def upload_in_scope(scope, upload_id) -> UploadFile | None:
    try:
        upload_id = int(upload_id)
    except (TypeError, ValueError):
        return None
    return db.session.scalar(
        select(UploadFile).where(UploadFile.id == upload_id, scope.clause(UploadFile.hospital_id))
    )


# ---------------------------------------------------------------- accepting files


def storage_key(upload: UploadFile, extension: str) -> str:
    slug = TYPE_SLUGS[UploadType(upload.file_type)]
    return f"uploads/{upload.hospital_id}/{upload.month:%Y-%m}/{upload.id}/{slug}.{extension}"


def check_files(files: dict[UploadType, tuple], config) -> tuple[dict, dict]:
    """Check every (stream, filename) first: ``(checked, errors)`` keyed by type."""
    checked: dict[UploadType, tuple[CheckedFile, str]] = {}
    errors: dict[UploadType, UploadRejected] = {}
    for file_type, (stream, filename) in files.items():
        try:
            checked[file_type] = (check_upload(stream, filename, config), filename)
        except UploadRejected as exc:
            errors[file_type] = UploadRejected(f"{TYPE_LABELS[file_type]}: {exc.message}", exc.status)
    return checked, errors


def previous_effective(hospital_id: int, month: dt.date, file_type: int) -> UploadFile | None:
    return db.session.scalar(
        select(UploadFile)
        .where(
            UploadFile.hospital_id == hospital_id, UploadFile.month == month,
            UploadFile.file_type == int(file_type), UploadFile.status.in_(EFFECTIVE),
        )
        .order_by(UploadFile.id.desc())
        .limit(1)
    )


def store_checked(hospital: Organization, month: dt.date, file_type: UploadType,
                  checked: CheckedFile, filename: str, user_id: int | None) -> UploadFile:
    """Record one checked file: a duplicate is recorded without storing anything; otherwise
    the file is stored under an id-built key and the row committed ``queued`` (the caller
    queues its job: :func:`enqueue_ingest`)."""
    try:
        upload = UploadFile(
            hospital_id=hospital.id, month=month, file_type=int(file_type),
            original_name=clean_filename(filename), size=checked.size, sha256=checked.sha256,
            detected_format=checked.fmt, uploaded_by_id=user_id, uploaded_at=utc_now(),
        )
        previous = previous_effective(hospital.id, month, file_type)
        if previous is not None and previous.sha256 == checked.sha256:
            upload.status = UploadStatus.duplicate.value
            upload.duplicate_of_id = previous.id
            upload.storage_key = previous.storage_key
            upload.rows_total, upload.rows_imported = previous.rows_total, previous.rows_imported
            upload.rows_rejected = previous.rows_rejected
            set_message(upload, part("upload.duplicate", when=format_jst(previous.uploaded_at), id=previous.id))
            db.session.add(upload)
            db.session.flush()
            _audit(upload)
            db.session.commit()
            _report_after_duplicate(upload)
            return upload
        upload.status = UploadStatus.queued.value
        set_message(upload, part("upload.queued"))
        db.session.add(upload)
        db.session.flush()  # the id is part of the storage key
        upload.storage_key = storage_key(upload, checked.extension)
        with open(checked.path, "rb") as source:
            get_storage().put_file(upload.storage_key, source)
        _audit(upload)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    finally:
        discard(checked.path)
    return upload


def _report_after_duplicate(upload: UploadFile) -> None:
    """A byte-identical re-upload changes no data, but is how a hospital asks again for the
    month: its report is made if it is missing (an unchanged published month stays as is)."""
    from app.services.reports import maybe_generate_after_upload

    try:
        maybe_generate_after_upload(upload.hospital_id, upload.month)
    except Exception:
        log.exception("could not queue the report after duplicate upload %s", upload.id)


def _audit(upload: UploadFile) -> None:
    from app.services.audit import trail as audit

    audit.record("upload.accepted", upload, organization_id=upload.hospital_id, changes={
        "month": f"{upload.month:%Y-%m}", "file_type": upload.file_type, "status": upload.status,
        "sha256": upload.sha256, "size": upload.size, "original_name": upload.original_name,
    })


def accept_files(hospital: Organization, month_text: str | None,
                 files: dict[UploadType, tuple], user_id: int | None, config
                 ) -> tuple[list[UploadFile], list[UploadRejected]]:
    """All files of one request are checked before any is stored: one bad file → nothing stored.
    The files stored are then queued, each job knowing the others (``batch``): files uploaded
    together get one mail once all are processed (app/services/uploads/notices.py)."""
    month = parse_month(month_text)
    if not files:
        raise UploadRejected(_("アップロードするファイルを選択してください"))
    checked, errors = check_files(files, config)
    if errors:
        for item, _name in checked.values():
            discard(item.path)
        return [], list(errors.values())
    uploads = []
    try:
        for file_type in sorted(checked):
            item, filename = checked.pop(file_type)
            uploads.append(store_checked(hospital, month, file_type, item, filename, user_id))
    finally:
        for item, _name in checked.values():
            discard(item.path)
        # In file-type order (a lending file's job waits for the ledger's), also when storing a
        # later file failed: what is stored is processed.
        batch = [u.id for u in uploads]
        for upload in uploads:
            if upload.status == UploadStatus.queued.value:
                enqueue_ingest(upload.id, batch)
    return uploads, []


def pending_ledger_job(upload_id: int) -> str | None:
    """The job of an earlier ledger upload of the same hospital still waiting or running.

    Lending and failure rows are checked against the ledger, so with several workers their
    ingest must wait for a ledger uploaded before them (one worker runs jobs in order anyway).
    """
    upload = db.session.get(UploadFile, upload_id)
    if upload is None or upload.file_type == UploadType.ledger:
        return None
    ledger_id = db.session.scalar(
        select(UploadFile.id)
        .where(UploadFile.hospital_id == upload.hospital_id,
               UploadFile.file_type == int(UploadType.ledger),
               UploadFile.status.in_([UploadStatus.queued.value, UploadStatus.processing.value]),
               UploadFile.id < upload.id)
        .order_by(UploadFile.id.desc()).limit(1)
    )
    return None if ledger_id is None else f"ingest-{ledger_id}"


def batch_of(upload_ids) -> list[int]:
    """The ids of a submission of several files, sorted; [] for a file uploaded alone."""
    ids = sorted({int(i) for i in upload_ids or ()})
    return ids if len(ids) > 1 else []


def enqueue_ingest(upload_id: int, batch: list[int] | None = None):
    """Queue the upload's ingest job; ``batch``: the ids of all files submitted with it (its
    job then mails once for all of them, notices.py), None or one id for a file alone."""
    from rq import Retry
    from rq.job import Dependency, Job

    from app.infra.queue import get_queue, redis_connection

    depends_on = None
    ledger_job = pending_ledger_job(upload_id)
    if ledger_job and Job.exists(ledger_job, connection=redis_connection()):
        # allow_failure: a failed ledger must not leave this upload waiting for ever.
        depends_on = Dependency(jobs=[ledger_job], allow_failure=True)
    together = {"batch": batch_of(batch)} if batch_of(batch) else {}
    return get_queue().enqueue(
        "app.jobs.ingest.ingest_job", upload_id, **together,
        job_id=f"ingest-{upload_id}", depends_on=depends_on,
        retry=Retry(max=2, interval=[10, 60]),
        job_timeout=current_app.config["INGEST_JOB_TIMEOUT"],
        result_ttl=86400, failure_ttl=7 * 86400,
    )


# ---------------------------------------------------------------- status and history


def status_payload(upload: UploadFile, url_for=None, locale=None) -> dict:
    """An upload as the screen's polling and the REST API show it; ``message`` in ``locale``
    (None: Japanese), ``message_codes`` its stable codes (empty for a row
    stored as text)."""
    data = {
        "id": upload.id,
        "month": f"{upload.month:%Y-%m}",
        "file_type": upload.file_type,
        "file_type_label": str(TYPE_LABELS[UploadType(upload.file_type)]),
        "original_name": upload.original_name,
        "uploaded_at": format_jst(upload.uploaded_at),
        "status": upload.status,
        "status_label": str(STATUS_LABELS.get(upload.status, upload.status)),
        "message": display(upload.message_parts, upload.message, locale),
        "message_codes": codes(upload.message_parts, upload.message),
        "rows_total": upload.rows_total,
        "rows_imported": upload.rows_imported,
        "rows_rejected": upload.rows_rejected,
        "duplicate_of": upload.duplicate_of_id,
        "done": upload.status not in PENDING,
        # withdrawn by POST …/discard (app/services/uploads/discarding.py)
        "discardable": upload.status in DISCARDABLE,
    }
    if url_for is not None:
        data["rejected_url"] = url_for("UploadView.rejected", pk=upload.id) if upload.rejected_key else None
        data["mapping_url"] = (
            url_for("UploadView.mapping", pk=upload.id)
            if upload.status == UploadStatus.needs_mapping.value else None
        )
        data["discard_url"] = url_for("UploadView.discard", pk=upload.id) if upload.status in DISCARDABLE else None
    return data


def recent_uploads(hospital_id: int, limit: int = 20) -> list[UploadFile]:
    return list(db.session.scalars(
        select(UploadFile).where(UploadFile.hospital_id == hospital_id)
        .order_by(UploadFile.id.desc()).limit(limit)
    ))


def history(hospital_id: int, on: dt.date | None = None) -> list[dict]:
    """One row per month of the last six: ○/- per type, status and the date of the latest
    upload — of a complete month, its latest file in force: a newer upload that has not
    succeeded leaves the month 完了 and is named in ``newer`` (app.services.uploads.month_status)."""
    today = on or jst_today()
    current = first_of_month(today)
    months = [add_months(current, -i) for i in range(HISTORY_MONTHS)]
    states = month_states([hospital_id], months)
    rows = []
    for month in months:
        state = states[hospital_id, month]
        counted = [k.latest for k in state.kinds.values() if k.latest is not None]
        done = {t for t, k in state.kinds.items() if k.done}
        marks = {int(t): ("○" if int(t) in done else "-") for t in UploadType}
        if state.complete:  # its ledger may be an earlier month's (DESIGN §5 "Ledgers over time")
            status = _("完了")
            counted = list(state.in_force.values())
        elif any(k.newer_status in PENDING for k in state.kinds.values()):
            status = _("処理中")
        elif done:  # e.g. only the ledger: imported, the other files still to come
            status = _("一部完了（%(types)s）", types="・".join(
                str(TYPE_LABELS[t]) for t in UploadType if int(t) in done))
        elif counted:
            status = _("取込エラー")
        elif today <= (due := due_date(month)):  # nothing sent yet, and not late: not an alarm
            status = _("提出期限前（%(month)d/%(day)d まで）", month=due.month, day=due.day)
        else:
            status = _("未実施")
        newer = [_("%(status)s（%(detail)s）", status=TYPE_LABELS[UploadType(k.file_type)],
                   detail=STATUS_LABELS.get(k.newer_status, k.newer_status)) for k in state.pending_after_in_force]
        rows.append({
            "month": f"{month:%Y-%m}",
            "date": format_jst(max(u.uploaded_at for u in counted)) if counted else "",
            "marks": marks,
            "status": status,
            "newer": _("新しいファイル: %(files)s", files=_("、").join(newer)) if newer else "",
        })
    return rows


def history_uploads(hospital_id: int, on: dt.date | None = None) -> list[UploadFile]:
    """Every file of the history's months (the CSV of the upload history), newest first."""
    current = first_of_month(on or jst_today())
    months = [add_months(current, -i) for i in range(HISTORY_MONTHS)]
    return list(db.session.scalars(
        select(UploadFile).where(UploadFile.hospital_id == hospital_id, UploadFile.month.in_(months))
        .order_by(UploadFile.month.desc(), UploadFile.id.desc())))
