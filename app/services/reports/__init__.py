"""Monthly reports: figures (SQL aggregates), Excel files, publication and downloads.

Entry points used elsewhere:
- :func:`after_data_change` — called when a hospital's data changed (an ingest succeeded, a
  ledger override): queues ONE job that publishes every month that became ready and is not
  yet published, checks the published months (revised when their figures changed) and sends
  one mail for all of them (app.services.reports.data_change);
- :func:`maybe_generate_after_upload` — queues one month's report once its files are in
  (also after a byte-identical re-upload);
- :func:`enqueue_report` — on demand (screen action, CLI);
- :func:`app.services.reports.service.attach_onprem_report` — files produced on-prem.
"""
from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select

from app.core.months import utc_now
from app.services.reports.service import mark_status

log = logging.getLogger(__name__)


def refresh_statistics() -> None:
    """On PostgreSQL, ANALYZE the tables the figures and screen 7 read. Right after a bulk
    load the planner's statistics are stale: the figures query was measured at 67 s instead
    of ~1.5 s with them (bench/report.py), and the mapping screen's first page at 0.7 s
    instead of 0.14 s (bench/mapping_page.py, a hospital's first 859 classifications);
    autovacuum may not have run yet when the report is queued or the screen opened.
    ANALYZE samples a bounded number of rows and blocks no reads or writes."""
    from sqlalchemy import text

    from app.extensions import db

    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("ANALYZE equipment, ledger_listing, lending, failure, classification"))
        db.session.commit()


def job_id(hospital_id: int, month: dt.date) -> str:
    return f"report-{hospital_id}-{month:%Y-%m}"


def month_ready(hospital_id: int, month: dt.date) -> bool:
    """The month's files are in: its lending and failure files and a ledger in force
    (app.services.uploads.month_status, the one rule every screen shows)."""
    from app.services.uploads.month_status import month_complete

    return month_complete(hospital_id, month)


def unpublished_ready_months(hospital_id: int) -> list[dt.date]:
    """Months whose files are in but that have no published report yet."""
    from app.extensions import db
    from app.models import UploadFile, UploadType
    from app.services.reports.service import report_months

    candidates = set(db.session.scalars(select(UploadFile.month).distinct().where(
        UploadFile.hospital_id == hospital_id, UploadFile.file_type == int(UploadType.failure))))
    published = set(report_months(hospital_id))
    return sorted(m for m in candidates if m not in published and month_ready(hospital_id, m))


def enqueue_report(hospital_id: int, month: dt.date, force: bool = False):
    """Queue the report job of a hospital-month; a job already waiting or running for it is
    reused (deterministic job id; also one scheduled again because another report run of
    the hospital held its turn), so repeated triggers do the work once. ``force``: a new
    version even if the figures did not change (an operator's explicit request)."""
    from rq.exceptions import NoSuchJobError
    from rq.job import Job, JobStatus

    from app.infra.queue import get_queue, redis_connection

    month = dt.date(month.year, month.month, 1)
    ident = job_id(hospital_id, month)
    try:
        job = Job.fetch(ident, connection=redis_connection())
        if job.get_status(refresh=True) in (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED,
                                            JobStatus.SCHEDULED):
            return job
        job.delete()
    except NoSuchJobError:
        pass
    mark_status(hospital_id, month, "queued")
    return get_queue().enqueue(
        "app.jobs.reports.generate_report_job", hospital_id, f"{month:%Y-%m}", force,
        job_id=ident, job_timeout=1800, result_ttl=86400, failure_ttl=7 * 86400,
    )


def revision_job_ids(hospital_id: int) -> tuple[str, str]:
    return f"revise-{hospital_id}-a", f"revise-{hospital_id}-b"


def enqueue_revision_check(hospital_id: int):
    """Queue the run after a data change (months that became ready, then the published
    months, one mail: app.jobs.reports.revise_reports_job). A run already waiting is reused
    (it reads the data when it starts); one already running may have read the data before
    this change, so another is queued behind it (two alternating job ids; it waits for the
    running one: app/jobs/reports.py takes the hospital's report lock)."""
    from rq.exceptions import NoSuchJobError
    from rq.job import Job, JobStatus

    from app.infra.queue import get_queue, redis_connection

    free = None
    for ident in revision_job_ids(hospital_id):
        try:
            job = Job.fetch(ident, connection=redis_connection())
            status = job.get_status(refresh=True)
        except NoSuchJobError:
            free = free or ident
            continue
        if status in (JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED):
            return job
        if status != JobStatus.STARTED:
            job.delete()
            free = free or ident
    if free is None:  # both running (two workers): a third, unnamed check
        free = f"revise-{hospital_id}-{utc_now():%Y%m%d%H%M%S%f}"
    return get_queue().enqueue(
        "app.jobs.reports.revise_reports_job", hospital_id,
        job_id=free, job_timeout=3600, result_ttl=86400, failure_ttl=7 * 86400,
    )


def after_data_change(hospital_id: int) -> list[dt.date]:
    """A hospital's data changed: queue one run (the revision job) that publishes the months
    that became ready and revises the published ones, with one mail for all of them — not
    a job and a mail per month. The ready months show as queued on the report screen until
    the run reaches them. Returns those months. The hospital's stored figures become stale
    here (the one place an ingest and a ledger setting change end); the run computes them
    again."""
    from app.extensions import db
    from app.services.reports.stored import mark_changed

    mark_changed(hospital_id)
    db.session.commit()
    months = unpublished_ready_months(hospital_id)
    for month in months:
        mark_status(hospital_id, month, "queued")
    enqueue_revision_check(hospital_id)
    return months


def queue_after_data_change(hospital_id: int) -> None:
    """:func:`after_data_change` for callers whose own work is already committed (an
    ingest, a ledger change): a queue problem is logged, never raised — the monthly command
    or an operator can still make and revise the reports."""
    try:
        after_data_change(hospital_id)
    except Exception:
        log.exception("could not queue the report checks of hospital %s", hospital_id)


def maybe_generate_after_upload(hospital_id: int, month: dt.date) -> bool:
    """Queue the month's report when its files are in; True if queued. For a month already
    published the job makes a new version only if the figures changed."""
    month = dt.date(month.year, month.month, 1)
    if not month_ready(hospital_id, month):
        return False
    refresh_statistics()
    enqueue_report(hospital_id, month)
    return True
