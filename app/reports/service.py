"""Report files of a hospital-month: generate, store, publish, attach on-prem files, and the
download history. Plain functions (no request, no Redis): the job and views call these.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..extensions import db
from ..mail import send_mail
from ..months import first_of_month
from ..models import (
    Download,
    Organization,
    ReportFile,
    ReportType,
    UploadFile,
    UploadStatus,
)
from ..storage import get_storage
from .figures import compute_figures
from .lists import build_failure_list, build_no_activity_list
from .workbook import build_analysis_workbook, month_label

log = logging.getLogger(__name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ONPREM_TYPES = {
    "pdf": "application/pdf",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "xlsx": XLSX,
}
# Lazy: shown in the user's language on screens; Japanese (the default) in file names.
TYPE_NAMES = {
    ReportType.analysis: _l("分析レポート"),
    ReportType.failure_list: _l("故障リスト"),
    ReportType.no_activity_list: _l("未実績リスト"),
}
TYPE_DESCRIPTIONS = {
    ReportType.analysis: _l("貸出・故障の集計（前月・前年同月・過去12か月平均との比較、13か月推移）、"
                            "残耐用年数、更新対象機種、貸出時間上位機種、稼働率ランキング。"),
    ReportType.failure_list: _l("当月に故障期間がある故障の一覧（機器ごと）。"),
    ReportType.no_activity_list: _l("当月に貸出実績のない機器の一覧。"),
}
PUBLISHED = "published"
SUCCEEDED_UPLOADS = (UploadStatus.succeeded.value, UploadStatus.succeeded_with_rejections.value)


def storage_key(hospital_id: int, month: dt.date, file_type: int, extension: str = "xlsx") -> str:
    return f"reports/{hospital_id}/{month:%Y-%m}/{int(file_type)}.{extension}"


def report_row(hospital_id: int, month: dt.date, file_type: int) -> ReportFile:
    """The one row of a hospital-month-type; made if missing. Regeneration updates it in
    place, so the download history (rows pointing at it) is kept."""
    row = db.session.scalars(select(ReportFile).where(
        ReportFile.hospital_id == hospital_id, ReportFile.month == month,
        ReportFile.file_type == int(file_type))).first()
    if row is None:
        row = ReportFile(hospital_id=hospital_id, month=month, file_type=int(file_type), source="generated",
                         status="queued")
        db.session.add(row)
    return row


def latest_uploads(hospital_id: int, month: dt.date) -> dict[int, UploadFile]:
    """The newest upload of each type for the month (re-uploads replace the month's data)."""
    uploads = db.session.scalars(select(UploadFile).where(
        UploadFile.hospital_id == hospital_id, UploadFile.month == month)
        .order_by(UploadFile.uploaded_at, UploadFile.id)).all()
    latest = {}
    for upload in uploads:
        latest[upload.file_type] = upload
    return latest


def mark_status(hospital_id: int, month: dt.date, status: str, message: str | None = None) -> None:
    """Set the status of the month's generated report rows (on-prem files are left alone)."""
    for file_type in ReportType:
        row = report_row(hospital_id, month, file_type)
        if row.source == "generated":
            row.status, row.message = status, message
    db.session.commit()


def _store(row: ReportFile, data: bytes, extension: str, content_type: str, file_name: str) -> None:
    key = storage_key(row.hospital_id, row.month, row.file_type, extension)
    get_storage().put_bytes(key, data)
    row.storage_key, row.size, row.sha256 = key, len(data), hashlib.sha256(data).hexdigest()
    row.content_type, row.file_name = content_type, file_name


def file_name(hospital: Organization, month: dt.date, file_type: int, extension: str) -> str:
    return f"{TYPE_NAMES[ReportType(file_type)]}_{hospital.name}_{month:%Y-%m}.{extension}"


def generate_reports(hospital_id: int, month: dt.date, notify: bool = True) -> list[ReportFile]:
    """Compute the figures, write the three files, store them and publish. A type whose row
    came from on-prem is not overwritten (the on-prem file is the published one)."""
    month = first_of_month(month)
    hospital = db.session.get(Organization, hospital_id)
    uploads = latest_uploads(hospital_id, month)
    sources = [{"id": u.id, "file_type": u.file_type, "sha256": u.sha256}
               for _, u in sorted(uploads.items()) if u.status in SUCCEEDED_UPLOADS]
    now = dt.datetime.utcnow()
    builders = {
        ReportType.analysis: lambda: build_analysis_workbook(compute_figures(hospital_id, month)),
        ReportType.failure_list: lambda: build_failure_list(hospital_id, month),
        ReportType.no_activity_list: lambda: build_no_activity_list(hospital_id, month),
    }
    # Build everything first (reads only), then store and update the rows in one short
    # transaction: workers of other hospitals are never blocked by a long write lock.
    onprem = set(db.session.scalars(select(ReportFile.file_type).where(
        ReportFile.hospital_id == hospital_id, ReportFile.month == month, ReportFile.source != "generated")))
    db.session.commit()
    contents = {t: build() for t, build in builders.items() if int(t) not in onprem}
    rows = []
    for file_type, data in contents.items():
        row = report_row(hospital_id, month, file_type)
        _store(row, data, "xlsx", XLSX, file_name(hospital, month, file_type, "xlsx"))
        row.source_uploads, row.generated_at = sources, now
        row.status, row.message, row.published_at = PUBLISHED, None, now
        rows.append(row)
    db.session.commit()
    if notify:
        notify_published(hospital, month)
    return rows


def attach_onprem_report(hospital_id: int, month: dt.date, file_type: int, data: bytes, extension: str,
                         source_uploads: list | None = None, notify: bool = True) -> ReportFile:
    """Publish a file produced on-prem (PDF/PPTX/XLSX) as type 1–3 of a hospital-month. It
    replaces a generated file of that type; the download history stays."""
    extension = extension.lower().lstrip(".")
    if extension not in ONPREM_TYPES:
        raise ValueError(f"on-prem reports must be PDF, PPTX or XLSX, not {extension!r}")
    month = first_of_month(month)
    hospital = db.session.get(Organization, hospital_id)
    row = report_row(hospital_id, month, ReportType(file_type))
    old_key = row.storage_key
    _store(row, data, extension, ONPREM_TYPES[extension], file_name(hospital, month, file_type, extension))
    if old_key and old_key != row.storage_key:
        get_storage().delete(old_key)
    now = dt.datetime.utcnow()
    row.source, row.status, row.message = "onprem", PUBLISHED, None
    row.source_uploads, row.generated_at, row.published_at = source_uploads, now, now
    db.session.commit()
    if notify:
        notify_published(hospital, month)
    return row


def notify_published(hospital: Organization, month: dt.date) -> None:
    """E-mail the hospital's notification list; a mail failure never unpublishes."""
    subject = f"【OptiServe】{month_label(month)}の分析レポートを公開しました"
    body_ja = (f"{hospital.name} ご担当者様\n\n{month_label(month)}の分析レポート・故障リスト・未実績リストを"
               "公開しました。OptiServe の「分析レポートのダウンロード」画面からダウンロードしてください。")
    body_en = (f"The reports of {month:%Y-%m} for {hospital.name} are published. Download them from the "
               "report download screen of OptiServe.")
    try:
        send_mail(hospital.notification_email_list, subject, body_ja, body_en)
    except Exception:
        log.exception("report notification for hospital %s failed", hospital.id)


# ------------------------------------------------------------------ listing and downloads

def is_published():
    """A file once published stays downloadable while a regeneration runs (status then says
    queued/running); the new file replaces it when done."""
    return ReportFile.published_at.isnot(None) & ReportFile.storage_key.isnot(None)


def published_query(scope_clause):
    return select(ReportFile).where(scope_clause, is_published())


def report_months(hospital_id: int) -> list[dt.date]:
    """Months with published reports, newest first."""
    return list(db.session.scalars(select(ReportFile.month).where(
        ReportFile.hospital_id == hospital_id, is_published())
        .distinct().order_by(ReportFile.month.desc())))


def record_download(row: ReportFile, user_id: int | None) -> Download:
    download = Download(report_file_id=row.id, hospital_id=row.hospital_id, user_id=user_id,
                        downloaded_at=dt.datetime.utcnow())
    db.session.add(download)
    db.session.commit()
    return download


def download_history(hospital_id: int, months: int = 6) -> list[dict]:
    """Published files of the last ``months`` report months, with download count and the
    first and last download."""
    recent = report_months(hospital_id)[:months]
    if not recent:
        return []
    stats = (select(Download.report_file_id, func.count(Download.id).label("count"),
                    func.min(Download.downloaded_at).label("first"), func.max(Download.downloaded_at).label("last"))
             .group_by(Download.report_file_id).subquery())
    rows = db.session.execute(
        select(ReportFile, stats.c.count, stats.c.first, stats.c.last)
        .outerjoin(stats, stats.c.report_file_id == ReportFile.id)
        .where(ReportFile.hospital_id == hospital_id, ReportFile.month.in_(recent), is_published())
        .order_by(ReportFile.month.desc(), ReportFile.file_type)).all()
    return [{"file": f, "count": count or 0, "first": first, "last": last} for f, count, first, last in rows]


def last_downloader(report_file_id: int):
    from ..models import User

    return db.session.execute(
        select(User.first_name, Download.downloaded_at).join(User, User.id == Download.user_id)
        .where(Download.report_file_id == report_file_id)
        .order_by(Download.downloaded_at.desc()).limit(1)).first()
