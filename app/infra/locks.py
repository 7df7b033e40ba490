"""Locks across workers, in Redis (the app always has one: embedded or a server).

:func:`hospital_reports_lock` — one report run of a hospital at a time. Several RQ workers
may start the report runs of one hospital together (an on-demand month, the run after each
of two uploads); each run reads the month's newest version and publishes the next, so two
at once built the same version and one failed on the unique constraint, marking the month
the other had just published as failed. The jobs (app/jobs/reports.py) hold this lock for
the run; the services stay lock-free (callable from a test or the shell without Redis).
"""
from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from redis.exceptions import LockError

from app.infra.queue import redis_connection

log = logging.getLogger(__name__)

REPORTS_LOCK = "optiserve:reports-lock:{}"
# A run in a worker holds the lock for its own time limit (RQ's job timeout); a holder outside
# RQ (the CLI's --now, the demo seed, an API request, tests) for this long at most.
DEFAULT_HOLD_SECONDS = 3600


@contextlib.contextmanager
def hospital_reports_lock(hospital_id: int, hold_seconds: float, wait_seconds: float) -> Iterator[bool]:
    """Hold the hospital's report lock for the block; yields False (and holds nothing) if
    another run kept it for ``wait_seconds``. ``hold_seconds``: the lock frees itself then,
    should its holder die without releasing it (a killed worker) — give the run's own time
    limit, so a live run never outlasts its lock."""
    lock = redis_connection().lock(REPORTS_LOCK.format(hospital_id), timeout=hold_seconds,
                                   blocking_timeout=wait_seconds)
    acquired = lock.acquire()
    try:
        yield acquired
    finally:
        if acquired:
            try:
                lock.release()
            except LockError:  # expired meanwhile (the run outlasted hold_seconds); nothing to free
                log.warning("the report lock of hospital %s expired before the run ended", hospital_id)
