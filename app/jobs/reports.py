"""The report jobs: one hospital-month (its status recorded on the report rows), and the
run after a hospital's data changed (months that became ready, revisions of published
ones, one mail: app.services.reports.data_change).

The report runs of one hospital take turns (app.infra.locks.hospital_reports_lock): a run
reads the month's newest version and publishes the next one, so two at once would build
the same version. A run that finds the lock taken waits ``REPORT_LOCK_WAIT_SECONDS``, then
goes back to the queue (it returns an RQ ``Retry``: the same job, scheduled again; its
report rows stay "queued" meanwhile, and the stuck-work sweep counts it as live)."""
from __future__ import annotations

import datetime as dt
import logging

from flask import current_app
from rq import Retry

from app.infra.locks import DEFAULT_HOLD_SECONDS, hospital_reports_lock
from app.infra.queue import in_app_context
from app.services.reports.data_change import REPORT_FAILED_MESSAGE as FAILED_MESSAGE

log = logging.getLogger(__name__)

# A run that lost the turn is scheduled again this much later, up to LOCK_RETRIES times:
# more than enough for the longest run a lock stands for (the revision job's 3600 s limit).
LOCK_RETRY_SECONDS = 60
LOCK_RETRIES = 90


def parse_month(text: str) -> dt.date:
    """``YYYY-MM`` (app.core.months.parse_month); ValueError for anything else."""
    from app.core.months import parse_month as parse

    month = parse(text)
    if month is None:
        raise ValueError(f"not a month: {text!r}")
    return month


def generate_report_job(hospital_id: int, month: str, force: bool = False) -> str | Retry:
    return in_app_context(_one_run_at_a_time, hospital_id, _run, hospital_id, parse_month(month), force)


def _one_run_at_a_time(hospital_id: int, run, *args) -> str | Retry:
    """``run(*args)`` holding the hospital's report lock; a ``Retry`` if another run kept it."""
    wait = current_app.config["REPORT_LOCK_WAIT_SECONDS"]
    with hospital_reports_lock(hospital_id, _time_limit(), wait) as acquired:
        if not acquired:
            log.info("reports of hospital %s: another run still going after %s s; scheduled again", hospital_id, wait)
            return Retry(max=LOCK_RETRIES, interval=LOCK_RETRY_SECONDS)
        return run(*args)


def _time_limit() -> int:
    from rq import get_current_job

    job = get_current_job()
    if job is not None and job.timeout and job.timeout > 0:
        return int(job.timeout)
    return DEFAULT_HOLD_SECONDS


def _run(hospital_id: int, month: dt.date, force: bool = False) -> str:
    from app.extensions import db
    from app.services.reports.service import mark_status, publish_month

    mark_status(hospital_id, month, "running")
    try:
        publication = publish_month(hospital_id, month, force=force)
    except Exception:
        log.exception("report of hospital %s for %s failed", hospital_id, month)
        db.session.rollback()
        mark_status(hospital_id, month, "failed", FAILED_MESSAGE)
        raise
    finally:
        db.session.expire_all()
    db.session.remove()
    return str(publication)


def revise_reports_job(hospital_id: int) -> str | Retry:
    """After a data change: publish the months that became ready, recompute the published
    ones (new versions of those that changed), one mail for all of them."""
    return in_app_context(_one_run_at_a_time, hospital_id, _revise, hospital_id)


def _revise(hospital_id: int) -> str:
    from app.extensions import db
    from app.services.reports import refresh_statistics
    from app.services.reports.data_change import publish_after_data_change

    try:
        refresh_statistics()  # it runs right after an ingest's bulk load
        run = publish_after_data_change(hospital_id)
        _warm_stored_figures(hospital_id)
    finally:
        db.session.rollback()
        db.session.expire_all()
    db.session.remove()
    if run.failed:  # marked failed on the report screen; the job shows as failed too
        raise RuntimeError(f"reports of hospital {hospital_id} failed: {run}")
    return str(run)


def _warm_stored_figures(hospital_id: int) -> None:
    """After a data change the dashboard's months (the newest month with data and the 12
    before it) are computed here, once, instead of on the next dashboard view."""
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import Lending
    from app.services.reports.stored import warm

    newest = db.session.scalar(select(func.max(Lending.month)).where(Lending.hospital_id == hospital_id))
    if newest is not None:
        try:
            warm(hospital_id, newest)
        except Exception:
            log.exception("stored figures of hospital %s could not be computed", hospital_id)
            db.session.rollback()
