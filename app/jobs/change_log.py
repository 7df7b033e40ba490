"""The daily retention job of the change log (app.services.sync.retention).

Every worker, long-running or burst, calls :func:`schedule_prune_if_due` in its maintenance
cycle (at start, then every 10 minutes). Two Redis keys, shared by all workers, make it run
once a day and retry a failure at the next cycle:
- ``DONE_KEY`` records a *successful* prune and expires after 24 hours: while it exists no
  worker enqueues another;
- ``CLAIM_KEY`` is taken (SET NX) by the one worker that enqueues the job, so two workers
  never both enqueue it. It is let go when the enqueue fails or the job fails (an exception,
  RQ's timeout included), so the next maintenance cycle of any worker tries again. If the
  work horse dies without running the ``except`` (killed, out of memory) the claim expires
  by itself after ``CLAIM_SECONDS``.
A job that starts when the day's prune is already done (a second one enqueued in the instant
the first finished, or after its claim expired in a long queue) does nothing.
So a long-running worker prunes once a day, and on AWS the daily sweep's burst worker
does. ``flask optiserve changes prune`` does the same by hand or from cron.
"""
from __future__ import annotations

import logging

from flask import current_app

from app.core.months import utc_now
from app.infra.queue import in_app_context

log = logging.getLogger(__name__)

DONE_KEY = "optiserve:change-log-prune-done"
CLAIM_KEY = "optiserve:change-log-prune-claimed"
INTERVAL_SECONDS = 24 * 3600
JOB_TIMEOUT_SECONDS = 3600
# Long enough for the job to wait in the queue behind others and then run to its timeout.
CLAIM_SECONDS = 2 * JOB_TIMEOUT_SECONDS


def schedule_prune_if_due(queue) -> bool:
    connection = queue.connection
    if connection.exists(DONE_KEY):
        return False
    if not connection.set(CLAIM_KEY, utc_now().isoformat(), nx=True, ex=CLAIM_SECONDS):
        return False  # another worker enqueued it and it has not finished yet
    try:
        queue.enqueue(prune_job, job_timeout=JOB_TIMEOUT_SECONDS, result_ttl=86400)
    except BaseException:
        connection.delete(CLAIM_KEY)
        raise
    return True


def prune_job() -> int:
    """Prune the entries older than ``CHANGE_LOG_RETENTION_DAYS``; returns how many went."""
    return in_app_context(_run_prune_job)


def _run_prune_job() -> int:
    from app.infra.queue import redis_connection

    connection = redis_connection()
    if connection.exists(DONE_KEY):
        log.info("change log: already pruned in the last 24 hours")
        return 0
    try:
        total = _prune()
    except BaseException:
        connection.delete(CLAIM_KEY)  # the next maintenance cycle enqueues it again
        raise
    connection.set(DONE_KEY, utc_now().isoformat(), ex=INTERVAL_SECONDS)
    connection.delete(CLAIM_KEY)
    return total


def _prune() -> int:
    from app.extensions import db
    from app.services.sync.retention import prune_changes

    # prune_changes commits batch by batch (a failure keeps the batches already done).
    try:
        result = prune_changes(db.session, current_app.config["CHANGE_LOG_RETENTION_DAYS"])
    except BaseException:
        db.session.rollback()
        raise
    finally:
        db.session.remove()
    log.info("change log: %s entries older than %s removed %s", result.total, result.cutoff, result.removed)
    return result.total
