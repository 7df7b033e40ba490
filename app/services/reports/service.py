"""Report files of a hospital-month: generate, store, publish, attach on-prem files, and the
download history. Plain functions (no request, no Redis): the job and views call these.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app.core.months import first_of_month, utc_now
from app.extensions import db
from app.infra.storage import get_storage
from app.models import (
    Download,
    Organization,
    ReportFile,
    ReportType,
    ReportVersion,
)
from app.services.reports import stored
from app.services.reports.figures import compute_figures
from app.services.reports.lists import (
    build_failure_list,
    build_no_activity_list,
    failure_rows,
    no_activity_rows,
)
from app.services.reports.notices import notify_publications, notify_published
from app.services.reports.revisions import (
    compare,
    describe,  # noqa: F401  (screen 4 reads service.describe)
    take_snapshot,
)
from app.services.reports.workbook import build_analysis_workbook
from app.services.stored_messages import set_message
from app.services.uploads.month_status import month_state

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


def storage_key(hospital_id: int, month: dt.date, file_type: int, extension: str = "xlsx", version: int = 1) -> str:
    folder = f"reports/{hospital_id}/{month:%Y-%m}"
    if version > 1:
        folder += f"/v{version}"
    return f"{folder}/{int(file_type)}.{extension}"


def latest_version(hospital_id: int, month: dt.date) -> ReportVersion | None:
    return db.session.scalars(select(ReportVersion).where(
        ReportVersion.hospital_id == hospital_id, ReportVersion.month == month)
        .order_by(ReportVersion.version.desc()).limit(1)).first()


def latest_row(hospital_id: int, month: dt.date, file_type: int) -> ReportFile | None:
    """The newest version of a hospital-month-type (older versions stay, downloadable)."""
    return db.session.scalars(select(ReportFile).where(
        ReportFile.hospital_id == hospital_id, ReportFile.month == month,
        ReportFile.file_type == int(file_type)).order_by(ReportFile.version.desc()).limit(1)).first()


def report_row(hospital_id: int, month: dt.date, file_type: int) -> ReportFile:
    """The newest row of a hospital-month-type; made if missing (version 1)."""
    row = latest_row(hospital_id, month, file_type)
    if row is None:
        row = ReportFile(hospital_id=hospital_id, month=month, file_type=int(file_type), version=1,
                         source="generated", status="queued")
        db.session.add(row)
    return row


def mark_status(hospital_id: int, month: dt.date, status: str, message: dict | None = None) -> None:
    """Set the status of the month's newest generated report rows (on-prem files are left
    alone). A published file stays downloadable whatever the status says. ``message`` is a
    part (app.services.stored_messages.part), shown in the reader's language."""
    for file_type in ReportType:
        row = report_row(hospital_id, month, file_type)
        if row.source == "generated":
            row.status = status
            set_message(row, *([message] if message else []))
    db.session.commit()


def _store(row: ReportFile, data: bytes, extension: str, content_type: str, file_name: str) -> None:
    key = storage_key(row.hospital_id, row.month, row.file_type, extension, row.version)
    get_storage().put_bytes(key, data)
    row.storage_key, row.size, row.sha256 = key, len(data), hashlib.sha256(data).hexdigest()
    row.content_type, row.file_name = content_type, file_name


def file_name(hospital: Organization, month: dt.date, file_type: int, extension: str, version: int = 1) -> str:
    suffix = f"_第{version}版" if version > 1 else ""
    return f"{TYPE_NAMES[ReportType(file_type)]}_{hospital.name}_{month:%Y-%m}{suffix}.{extension}"


@dataclass
class Publication:
    """The outcome of :func:`publish_month`: ``published`` (the month's first version),
    ``revised`` (a new version: ``changes`` against the one before) or ``unchanged``."""

    outcome: str
    version: int
    rows: list[ReportFile] = field(default_factory=list)
    changes: list[dict] = field(default_factory=list)

    def __str__(self) -> str:
        if self.outcome == "unchanged":
            return f"unchanged (version {self.version})"
        if self.outcome == "revised":
            return f"revised {len(self.rows)} (version {self.version})"
        return f"published {len(self.rows)}"


def publish_month(hospital_id: int, month: dt.date, notify: bool = True, force: bool = False) -> Publication:
    """Compute the month's figures and publish its reports.

    The month's first publication is version 1. A published month gets a new version only
    when its figures differ from the snapshot of its newest version (or ``force``): the
    old files stay downloadable with their download history, and the mail says 改訂 with
    what changed. Unchanged figures: nothing is written or mailed. A type whose newest
    file came from on-prem is not regenerated (the on-prem file is the published one).
    """
    month = first_of_month(month)
    hospital = db.session.get(Organization, hospital_id)
    # The files whose data the figures read (a repeat's is its original's): a newer upload that
    # has not succeeded wrote nothing.
    uploads = month_state(hospital_id, month).in_force
    sources = [{"id": u.duplicate_of_id or u.id, "file_type": u.file_type, "sha256": u.sha256}
               for _, u in sorted(uploads.items())]
    started = stored.now()
    figures = compute_figures(hospital_id, month)
    stored.save(figures, started)  # the dashboard reads these (committed with the publication)
    failures, idle = failure_rows(hospital_id, month), no_activity_rows(hospital_id, month)
    snapshot = take_snapshot(figures, failures, idle)
    current = latest_version(hospital_id, month)
    newest = {t: latest_row(hospital_id, month, t) for t in ReportType}
    already_published = any(r is not None and r.published_at for r in newest.values())
    now = utc_now()
    if current is None and already_published:
        # Published before versions were recorded: today's figures become its baseline.
        current = ReportVersion(hospital_id=hospital_id, month=month, version=max(
            r.version for r in newest.values() if r is not None), snapshot=None, published_at=now)
        db.session.add(current)
    changes: list[dict] = []
    revising = False
    if current is not None:
        if current.snapshot is None:
            current.snapshot = snapshot
        else:
            changes = compare(current.snapshot, snapshot)
        revising = bool(changes) or force
    onprem = {int(t) for t, r in newest.items() if r is not None and r.source != "generated"}
    unpublished = {int(t) for t, r in newest.items()
                   if (r is None or r.published_at is None) and int(t) not in onprem}
    if current is not None and not revising and not unpublished:
        _restore_published(newest.values())
        db.session.commit()
        return Publication("unchanged", current.version, [r for r in newest.values() if r is not None])
    # A new version (first or revised); else the same version, only its missing types (a
    # month whose first file was published on-prem).
    version = current.version + 1 if revising else current.version if current is not None else 1
    wanted = {int(t) for t in ReportType} - onprem if revising or current is None else unpublished
    builders = {
        ReportType.analysis: lambda: build_analysis_workbook(figures, version=version),
        ReportType.failure_list: lambda: build_failure_list(hospital_id, month, failures),
        ReportType.no_activity_list: lambda: build_no_activity_list(hospital_id, month, idle),
    }
    # Build everything first (reads only), then store and update the rows in one short
    # transaction: workers of other hospitals are never blocked by a long write lock.
    db.session.commit()
    contents = {t: build() for t, build in builders.items() if int(t) in wanted}
    rows = []
    for file_type, data in contents.items():
        row = newest[file_type]
        if row is None or row.published_at is not None:
            row = ReportFile(hospital_id=hospital_id, month=month, file_type=int(file_type), version=version,
                             source="generated")
            db.session.add(row)
        row.version = version
        _store(row, data, "xlsx", XLSX, file_name(hospital, month, file_type, "xlsx", version))
        row.source_uploads, row.generated_at = sources, now
        row.status, row.published_at = PUBLISHED, now
        set_message(row)
        rows.append(row)
    _restore_published(r for r in newest.values() if r is not None and r not in rows)
    if revising or current is None:
        db.session.add(ReportVersion(hospital_id=hospital_id, month=month, version=version, snapshot=snapshot,
                                     changes=changes if revising else None, published_at=now))
    db.session.commit()
    if notify:
        notify_published(hospital, month, version if revising else 1, changes)
    return Publication("revised" if revising else "published", version, rows, changes)


def revise_published_months(hospital_id: int, since: dt.date | None = None, notify: bool = True
                            ) -> dict[dt.date, Publication]:
    """Recompute every published month of the hospital (from ``since`` on, if given) and
    publish a new version of those whose figures changed. A change of one month's data
    also changes later months' comparisons (前月, 前年同月, 12か月平均), so every published
    month after the earliest one a change can touch is checked. ``notify``: one mail names
    every month revised (not one mail per month)."""
    months = [m for m in report_months(hospital_id) if since is None or m >= first_of_month(since)]
    outcomes: dict[dt.date, Publication] = {}
    try:
        for month in sorted(months):
            outcomes[month] = publish_month(hospital_id, month, notify=False)
    except Exception:
        db.session.rollback()
        if notify and outcomes:  # what was revised before the error is announced too
            notify_publications(db.session.get(Organization, hospital_id), outcomes)
        raise
    if notify and outcomes:
        notify_publications(db.session.get(Organization, hospital_id), outcomes)
    return outcomes


def _restore_published(rows) -> None:
    """Rows marked queued / running while a version was being made are published again."""
    for row in rows:
        if row is not None and row.published_at is not None and row.source == "generated":
            row.status = PUBLISHED
            set_message(row)


def generate_reports(hospital_id: int, month: dt.date, notify: bool = True, force: bool = False
                     ) -> list[ReportFile]:
    """:func:`publish_month`, returning the rows of the month's newest version."""
    return publish_month(hospital_id, month, notify=notify, force=force).rows


def attach_onprem_report(hospital_id: int, month: dt.date, file_type: int, data: bytes, extension: str,
                         source_uploads: list | None = None, notify: bool = True) -> ReportFile:
    """Publish a file produced on-prem (PDF/PPTX/XLSX) as type 1–3 of a hospital-month. It
    replaces the newest file of that type in place; the download history stays."""
    extension = extension.lower().lstrip(".")
    if extension not in ONPREM_TYPES:
        raise ValueError(f"on-prem reports must be PDF, PPTX or XLSX, not {extension!r}")
    month = first_of_month(month)
    hospital = db.session.get(Organization, hospital_id)
    row = report_row(hospital_id, month, ReportType(file_type))
    old_key = row.storage_key
    _store(row, data, extension, ONPREM_TYPES[extension],
           file_name(hospital, month, file_type, extension, row.version))
    if old_key and old_key != row.storage_key:
        get_storage().delete(old_key)
    now = utc_now()
    row.source, row.status = "onprem", PUBLISHED
    set_message(row)
    row.source_uploads, row.generated_at, row.published_at = source_uploads, now, now
    db.session.commit()
    if notify:
        notify_published(hospital, month)
    return row


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
                        downloaded_at=utc_now())
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
        .order_by(ReportFile.month.desc(), ReportFile.file_type, ReportFile.version.desc())).all()
    who = downloaders([f.id for f, *_rest in rows])
    return [{"file": f, "count": count or 0, "first": first, "last": last, "who": who.get(f.id, [])}
            for f, count, first, last in rows]


def downloaders(report_file_ids: list[int], limit: int = 10) -> dict[int, list[dict]]:
    """Who downloaded each file and when (newest first, at most ``limit`` per file); a
    download by a since-deleted or machine account shows as —."""
    from app.models import User

    if not report_file_ids:
        return {}
    rows = db.session.execute(
        select(Download.report_file_id, User.first_name, Download.downloaded_at)
        .outerjoin(User, User.id == Download.user_id)
        .where(Download.report_file_id.in_(report_file_ids))
        .order_by(Download.report_file_id, Download.downloaded_at.desc(), Download.id.desc()))
    result: dict[int, list[dict]] = {}
    for file_id, name, at in rows:
        entries = result.setdefault(file_id, [])
        if len(entries) < limit:
            entries.append({"name": name or "—", "at": at})
    return result


def month_files(hospital_id: int, month: dt.date) -> tuple[dict[int, ReportFile], dict[int, list[ReportFile]]]:
    """The month's published files by type: the newest version of each, and the older ones
    (newest first)."""
    rows = db.session.scalars(published_query(ReportFile.hospital_id == hospital_id)
                              .where(ReportFile.month == month).order_by(ReportFile.version)).all()
    newest: dict[int, ReportFile] = {}
    older: dict[int, list[ReportFile]] = {}
    for row in rows:
        if row.file_type in newest:
            older.setdefault(row.file_type, []).insert(0, newest[row.file_type])
        newest[row.file_type] = row
    return newest, older


UNFINISHED = ("queued", "running", "failed")


def unfinished_reports(hospital_id: int, limit: int = 6) -> list[ReportFile]:
    """Reports being made or that failed, newest month first (the screen's job list)."""
    return list(db.session.scalars(
        select(ReportFile).where(ReportFile.hospital_id == hospital_id, ReportFile.status.in_(UNFINISHED))
        .order_by(ReportFile.month.desc(), ReportFile.file_type).limit(limit)))


def recent_generated_reports(hospital_id: int, limit: int = 6) -> list[ReportFile]:
    """The latest generated report files, finished or not, newest first (the job status list,
    which says when they are done)."""
    return list(db.session.scalars(
        select(ReportFile).where(ReportFile.hospital_id == hospital_id, ReportFile.source == "generated")
        .order_by(ReportFile.id.desc()).limit(limit)))


def month_versions(hospital_id: int, month: dt.date) -> list[ReportVersion]:
    """The month's published versions, newest first, with what each changed."""
    return list(db.session.scalars(select(ReportVersion).where(
        ReportVersion.hospital_id == hospital_id, ReportVersion.month == month)
        .order_by(ReportVersion.version.desc())))


def last_downloader(report_file_id: int):
    from app.models import User

    return db.session.execute(
        select(User.first_name, Download.downloaded_at).join(User, User.id == Download.user_id)
        .where(Download.report_file_id == report_file_id)
        .order_by(Download.downloaded_at.desc()).limit(1)).first()
