"""The daily retention job of the change log (app.services.sync.retention).

Every worker, long-running or burst, calls :func:`schedule_prune_if_due` in its maintenance
cycle (at start, then every 10 minutes): it enqueues :func:`prune_job` unless one was
enqueued in the last 24 hours by any worker (a Redis key with that expiry is the shared
clock). So a long-running worker prunes once a day, and on AWS the daily sweep's burst worker
does. ``flask optiserve changes prune`` does the same by hand or from cron.
"""
from __future__ import annotations

import logging

from flask import current_app, has_app_context

from app.core.months import utc_now

log = logging.getLogger(__name__)

SCHEDULE_KEY = "optiserve:change-log-prune-due"
INTERVAL_SECONDS = 24 * 3600


def schedule_prune_if_due(queue) -> bool:
    if not queue.connection.set(SCHEDULE_KEY, utc_now().isoformat(), nx=True, ex=INTERVAL_SECONDS):
        return False
    queue.enqueue(prune_job, job_timeout=3600, result_ttl=86400)
    return True


def prune_job() -> int:
    """Prune the entries older than ``CHANGE_LOG_RETENTION_DAYS``; returns how many went."""
    if has_app_context():
        return _prune()
    from app import create_app

    with create_app().app_context():
        return _prune()


def _prune() -> int:
    from app.extensions import db
    from app.services.sync.retention import prune_changes
    from app.services.unit_of_work import unit_of_work

    try:
        with unit_of_work() as session:
            result = prune_changes(session, current_app.config["CHANGE_LOG_RETENTION_DAYS"])
    finally:
        db.session.remove()
    log.info("change log: %s entries older than %s removed %s", result.total, result.cutoff, result.removed)
    return result.total
