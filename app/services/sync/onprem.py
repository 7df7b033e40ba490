"""What the on-prem systems (role System) pull from and publish to OptiServe.

Operator-wide by design (the scope of a System account is every hospital); plain functions
taking the actor as an argument, called by :mod:`app.views.system_api`.

- Uploads not yet fetched: every stored upload (a duplicate of an earlier file is not a new
  file and is left out) with no ``fetched_at``, by id ascending after a cursor. Acknowledging
  sets ``fetched_at``/``fetched_by_id``; a later re-upload is a new row, so it appears again.
- Report publish: a finished PDF/PPTX/XLSX for a hospital (by code), month and type, stored
  through :func:`app.services.reports.service.attach_onprem_report`; the hospital's notification list is
  mailed on the first publication of that month and type only (``report_notice``).
"""
from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.core.months import parse_month, utc_now
from app.extensions import db
from app.models import Organization, OrganizationKind, ReportFile, ReportNotice, ReportType, UploadFile, UploadStatus
from app.services.audit import trail as audit
from app.services.reports import service as reports
from app.services.uploads.records import TYPE_SLUGS

MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 100
# The first bytes of each accepted report format (PPTX and XLSX are zip containers).
MAGIC = {"pdf": b"%PDF-", "pptx": b"PK\x03\x04", "xlsx": b"PK\x03\x04"}


class SyncError(ValueError):
    def __init__(self, message: str, status: int = 400, errors: list[str] | None = None):
        super().__init__(message)
        self.message, self.status, self.errors = message, status, errors


# ---------------------------------------------------------------- uploads

def parse_cursor(value, name: str = "cursor") -> int:
    if value in (None, ""):
        return 0
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = -1
    if number < 0:
        raise SyncError(_("%(name)s には0以上の整数を指定してください。", name=name))
    return number


def parse_page_size(value) -> int:
    if value in (None, ""):
        return DEFAULT_PAGE_SIZE
    size = parse_cursor(value, "page_size")
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise SyncError(_("page_size には1から%(max)sまでの整数を指定してください。", max=MAX_PAGE_SIZE))
    return size


def unfetched_uploads(cursor: int, page_size: int) -> tuple[list[UploadFile], int]:
    """One page of uploads not yet fetched with an id above ``cursor``, and the next cursor
    (the last id of the page, or ``cursor`` itself when the page is empty)."""
    rows = list(db.session.scalars(
        select(UploadFile).where(
            UploadFile.id > cursor, UploadFile.fetched_at.is_(None), UploadFile.storage_key.isnot(None),
            # a repeat has its original's file; a discarded upload was a mistake, withdrawn
            UploadFile.status.not_in([UploadStatus.duplicate.value, UploadStatus.discarded.value]))
        .order_by(UploadFile.id).limit(page_size)))
    return rows, (rows[-1].id if rows else cursor)


def upload_payload(upload: UploadFile) -> dict:
    return {
        "id": upload.id, "hospital_id": upload.hospital_id, "hospital_code": upload.hospital.code,
        "month": f"{upload.month:%Y-%m}", "file_type": upload.file_type,
        "file_kind": TYPE_SLUGS.get(upload.file_type), "original_name": upload.original_name,
        "size": upload.size, "sha256": upload.sha256, "status": upload.status,
        "uploaded_at": upload.uploaded_at.isoformat() + "Z",
        "fetched_at": upload.fetched_at.isoformat() + "Z" if upload.fetched_at else None,
    }


def acknowledge(upload: UploadFile, actor) -> UploadFile:
    """Mark ``upload`` fetched by ``actor`` (again: the first acknowledgement is kept)."""
    if upload.fetched_at is None:
        upload.fetched_at, upload.fetched_by_id = utc_now(), actor.id
        audit.record("upload.fetched", upload, organization_id=upload.hospital_id, actor=actor,
                     changes={"month": f"{upload.month:%Y-%m}", "file_type": upload.file_type})
        db.session.commit()
    return upload


# ---------------------------------------------------------------- report publish

def hospital_by_code(code: str | None) -> Organization:
    hospital = db.session.scalar(select(Organization).where(
        Organization.code == (code or "").strip(), Organization.kind == OrganizationKind.hospital.value))
    if hospital is None:
        raise SyncError(_("医療機関コード %(code)s の医療機関が見つかりません。", code=code or ""), 404)
    if not hospital.is_active:  # deactivated by a full masters push
        raise SyncError(_("医療機関コード %(code)s の医療機関は無効になっています。", code=hospital.code))
    return hospital


def check_report_file(filename: str | None, data: bytes) -> str:
    extension = (filename or "").rsplit(".", 1)[-1].lower() if "." in (filename or "") else ""
    if extension not in reports.ONPREM_TYPES:
        raise SyncError(_("レポートファイルは PDF・PPTX・XLSX のいずれかにしてください。"))
    if not data.startswith(MAGIC[extension]):
        raise SyncError(_("ファイルの内容が拡張子（%(ext)s）の形式ではありません。", ext=extension.upper()))
    return extension


def publish_report(actor, hospital_code: str | None, month_text: str | None, file_type,
                   filename: str | None, data: bytes) -> tuple[ReportFile, bool]:
    """Store an on-prem report file; returns the report row and whether this is the month and
    type's first publication, which the caller announces with :func:`notify_first_publication`
    (after it let go of the report lock: a slow mail server must not hold the hospital's runs)."""
    hospital = hospital_by_code(hospital_code)
    month = parse_month(month_text)
    if month is None:
        raise SyncError(_("対象年月は YYYY-MM の形式で指定してください。"))
    try:
        report_type = ReportType(int(file_type))
    except (TypeError, ValueError):
        raise SyncError(_("レポート種別には 1・2・3 のいずれかを指定してください。")) from None
    extension = check_report_file(filename, data)
    row = reports.attach_onprem_report(hospital.id, month, int(report_type), data, extension, notify=False)
    audit.record("report.onprem_published", row, organization_id=hospital.id, actor=actor, changes={
        "month": f"{month:%Y-%m}", "file_type": int(report_type), "sha256": row.sha256, "size": row.size})
    db.session.commit()
    return row, _first_publication(hospital, month, int(report_type))


def _first_publication(hospital: Organization, month: dt.date, file_type: int) -> bool:
    """Record the month and type as announced; False if it was before."""
    try:
        with db.session.begin_nested():
            db.session.add(ReportNotice(hospital_id=hospital.id, month=month, file_type=file_type,
                                        sent_at=utc_now()))
        db.session.commit()
    except IntegrityError:  # this month and type was mailed before
        db.session.rollback()
        return False
    return True


def notify_first_publication(hospital: Organization, month: dt.date) -> None:
    reports.notify_published(hospital, month)


def report_payload(row: ReportFile, hospital: Organization, notified: bool) -> dict:
    return {
        "id": row.id, "hospital_code": hospital.code, "month": f"{row.month:%Y-%m}",
        "file_type": row.file_type, "file_name": row.file_name, "content_type": row.content_type,
        "size": row.size, "sha256": row.sha256, "source": row.source, "notified": notified,
    }
