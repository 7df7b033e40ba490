"""Monthly reports: figures (SQL aggregates), Excel files, publication and downloads.

Entry points used elsewhere:
- :func:`maybe_generate_after_upload` — called by the ingest when an upload of a month
  succeeded; queues the month's report once all three files (ledger, lending, failure) did;
- :func:`enqueue_report` — on demand (screen action, CLI);
- :func:`app.reports.service.attach_onprem_report` — files produced on-prem.
"""
from __future__ import annotations

import datetime as dt

from .service import SUCCEEDED_UPLOADS, latest_uploads, mark_status


def refresh_statistics() -> None:
    """On PostgreSQL, ANALYZE the tables the figures read. Right after a bulk load the
    planner's statistics are stale, and the figures query was measured at 67 s instead of
    ~1.5 s with them (bench/report.py); autovacuum may not have run yet when the report is
    queued. ANALYZE samples a bounded number of rows and blocks no reads or writes."""
    from sqlalchemy import text

    from ..extensions import db

    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("ANALYZE equipment, lending, failure"))
        db.session.commit()


def job_id(hospital_id: int, month: dt.date) -> str:
    return f"report-{hospital_id}-{month:%Y-%m}"


def month_ready(hospital_id: int, month: dt.date) -> bool:
    """All three uploads of the month have succeeded (their newest upload, each)."""
    latest = latest_uploads(hospital_id, month)
    return all(t in latest and latest[t].status in SUCCEEDED_UPLOADS for t in (1, 2, 3))


def enqueue_report(hospital_id: int, month: dt.date):
    """Queue the report job of a hospital-month; a job already waiting or running for it is
    reused (deterministic job id), so repeated triggers do the work once."""
    from rq.exceptions import NoSuchJobError
    from rq.job import Job, JobStatus

    from ..queue import get_queue, redis_connection

    month = dt.date(month.year, month.month, 1)
    ident = job_id(hospital_id, month)
    try:
        job = Job.fetch(ident, connection=redis_connection())
        if job.get_status(refresh=True) in (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED):
            return job
        job.delete()
    except NoSuchJobError:
        pass
    mark_status(hospital_id, month, "queued")
    return get_queue().enqueue(
        "app.jobs.reports.generate_report_job", hospital_id, f"{month:%Y-%m}",
        job_id=ident, job_timeout=1800, result_ttl=86400, failure_ttl=7 * 86400,
    )


def maybe_generate_after_upload(hospital_id: int, month: dt.date) -> bool:
    """Queue the month's report when its three uploads have succeeded; True if queued."""
    month = dt.date(month.year, month.month, 1)
    if not month_ready(hospital_id, month):
        return False
    refresh_statistics()
    enqueue_report(hospital_id, month)
    return True
