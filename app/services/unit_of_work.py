"""The transaction rule: services flush, the caller owns the transaction.

A web handler or a job wraps its call into the services in :func:`unit_of_work`: the block's
changes are committed together when it ends and rolled back when it raises (the exception goes
on to the caller, which turns a domain error into a message). What must happen only once the
change is stored — a mail, a queued job — is registered by the service with
:func:`after_commit` and runs after the commit, never after a rollback.

Long jobs that record progress in stages (the ingest pipeline, report generation) commit at
those stage boundaries themselves; their modules say so.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.orm import Session

from app.extensions import db

log = logging.getLogger(__name__)
_PENDING = "optiserve_after_commit"


@contextmanager
def unit_of_work(session=None) -> Iterator:
    """Commit ``session`` (default: ``db.session``) when the block ends; roll back if it raises."""
    session = session or db.session
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


def after_commit(session, callback: Callable[[], None]) -> None:
    """Run ``callback`` once ``session``'s current transaction commits (dropped on rollback).
    It runs outside the transaction: give it plain values, not ORM objects to lazy-load."""
    target = session() if hasattr(session, "registry") else session  # a scoped_session → its Session
    target.info.setdefault(_PENDING, []).append(callback)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session) -> None:
    for callback in session.info.pop(_PENDING, []):
        try:
            callback()
        except Exception:  # the change is stored; a failed follow-up is logged, not raised
            log.exception("after-commit callback failed")


@event.listens_for(Session, "after_soft_rollback")
def _drop_after_rollback(session, previous_transaction) -> None:
    session.info.pop(_PENDING, None)
