"""Anchors of the audit chain outside the database, and the full check against them.

The keyed chain (:mod:`app.services.audit.trail`) stops anyone without ``AUDIT_KEY`` from rewriting rows,
but deleting the newest rows leaves a shorter chain that is still valid, and someone who has
the key could rewrite the chain. An anchor records the chain head (last id, last hash, time)
in the file storage: in production the S3 bucket, whose Object Lock keeps the write-once
objects from being changed or deleted; locally a read-only file under the storage folder.
:func:`verify` then checks that the anchored row still exists with the anchored hash, which
detects a deleted tail, a deleted or rewritten row before the anchor, and a recomputed chain.

Anchors are written by the worker (``flask optiserve worker`` enqueues :func:`anchor_job`
every ``AUDIT_ANCHOR_MINUTES``) and by ``flask optiserve audit-anchor`` (cron, EventBridge).
Keys: ``audit-anchors/<yyyy-mm>/<yyyymmddThhmmss>Z-<last id>.json`` (UTC), so the newest
anchor is found by listing the current month's folder, then the one before, and so on.
"""
from __future__ import annotations

import datetime as dt
import hmac
import json
import logging
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func

from app.core.months import add_months, first_of_month, utc_now
from app.extensions import db
from app.infra.queue import in_app_context
from app.infra.storage import KeyExistsError, get_storage
from app.models import AuditEvent
from app.services.audit import trail as audit

log = logging.getLogger(__name__)

PREFIX = "audit-anchors"
SCHEDULE_KEY = "optiserve:audit-anchor-due"
SEARCH_MONTHS_WITHOUT_ROWS = 120  # how far back to look for an anchor when the table is empty


class AnchorError(ValueError):
    """An anchor object that cannot be read or whose signature does not verify."""


class ChainBroken(RuntimeError):
    """The chain does not verify: no anchor is written over it."""


@dataclass(frozen=True)
class Anchor:
    last_id: int
    last_hash: str
    written_at: str  # ISO 8601, UTC
    storage_key: str = ""


def _message(last_id: int, last_hash: str, written_at: str) -> str:
    return f"optiserve-audit-anchor:{last_id}:{last_hash}:{written_at}"


def anchor_storage_key(written: dt.datetime, last_id: int) -> str:
    return f"{PREFIX}/{written:%Y-%m}/{written:%Y%m%dT%H%M%S}Z-{last_id:012d}.json"


def parse_anchor(storage_key: str, data: bytes) -> Anchor:
    """The anchor in ``data``; :class:`AnchorError` unless its HMAC verifies under a known key."""
    try:
        content = json.loads(data)
        anchor = Anchor(int(content["last_id"]), str(content["last_hash"]),
                        str(content["written_at"]), storage_key)
        key = audit.keyring().get(str(content["key_id"]))
        signature = str(content["mac"])
    except (ValueError, KeyError, TypeError) as exc:
        raise AnchorError(f"{storage_key}: unreadable anchor") from exc
    if key is None:
        raise AnchorError(f"{storage_key}: signed with an unknown key")
    expected = audit.mac(key, _message(anchor.last_id, anchor.last_hash, anchor.written_at))
    if not hmac.compare_digest(expected, signature):
        raise AnchorError(f"{storage_key}: signature does not verify")
    return anchor


def _oldest_month_to_search(today: dt.date) -> dt.date:
    first = db.session.query(func.min(AuditEvent.created_on)).scalar()
    if first is None:
        return add_months(first_of_month(today), -SEARCH_MONTHS_WITHOUT_ROWS)
    return first_of_month(first.date())


def newest_anchor(storage=None, now: dt.datetime | None = None) -> Anchor | None:
    storage = storage or get_storage()
    month = first_of_month((now or utc_now()).date())
    oldest = min(_oldest_month_to_search(month), month)
    while month >= oldest:
        keys = [k for k in storage.list_keys(f"{PREFIX}/{month:%Y-%m}") if k.endswith(".json")]
        if keys:
            with storage.open(keys[-1]) as handle:
                return parse_anchor(keys[-1], handle.read())
        month = add_months(month, -1)
    return None


def write_anchor(storage=None, now: dt.datetime | None = None) -> tuple[str, Anchor | None]:
    """Anchor the current head. Returns ``("written" | "unchanged" | "empty", anchor)``.

    The chain since the previous anchor is verified first, so an anchor never vouches for a
    broken chain (:class:`ChainBroken` then)."""
    storage = storage or get_storage()
    previous = newest_anchor(storage, now)
    check = audit.verify_chain(start=(previous.last_id, previous.last_hash) if previous else None)
    if check.broken_id is not None:
        raise ChainBroken(f"audit_event id={check.broken_id}: {check.reason}")
    if check.last_id is None:
        return "empty", None
    if previous is not None and previous.last_id == check.last_id:
        return "unchanged", previous
    written = now or utc_now()
    written_at = written.strftime("%Y-%m-%dT%H:%M:%SZ")
    key_id, key = audit.current_key()
    content = {
        "last_id": check.last_id, "last_hash": check.last_hash, "written_at": written_at,
        "key_id": key_id, "mac": audit.mac(key, _message(check.last_id, check.last_hash, written_at)),
    }
    storage_key = anchor_storage_key(written, check.last_id)
    try:
        storage.put_new(storage_key, json.dumps(content, sort_keys=True).encode())
    except KeyExistsError:
        return "unchanged", previous
    return "written", Anchor(check.last_id, check.last_hash, written_at, storage_key)


def verify(storage=None, now: dt.datetime | None = None) -> tuple[bool, list[str]]:
    """The whole chain against the newest anchor: (all good, lines to print)."""
    try:
        anchor = newest_anchor(storage, now)
    except AnchorError as exc:
        return False, [f"BROKEN anchor {exc}"]
    check = audit.verify_chain(watch_id=anchor.last_id if anchor else None)
    problems = []
    if check.broken_id is not None:
        problems.append(f"BROKEN at audit_event id={check.broken_id} (row {check.count}): {check.reason}")
    notes = []
    if anchor is None:
        notes.append("WARNING: no anchor found (run `flask optiserve audit-anchor`)")
    elif check.broken_id is None or check.broken_id > anchor.last_id:
        where = f"the anchor of {anchor.written_at} ({anchor.storage_key})"
        if check.watched_hash is None and (check.last_id or 0) < anchor.last_id:
            problems.append(
                f"TAIL DELETED: {where} names audit_event id={anchor.last_id}, "
                f"the newest row is id={check.last_id}"
            )
        elif check.watched_hash is None:
            problems.append(f"ROW MISSING: audit_event id={anchor.last_id} named by {where} is gone")
        elif not hmac.compare_digest(check.watched_hash, anchor.last_hash):
            problems.append(
                f"ANCHOR MISMATCH: audit_event id={anchor.last_id} no longer has the hash of {where}; "
                "rows up to it were rewritten"
            )
        else:
            notes.append(f"anchored at id={anchor.last_id} ({anchor.written_at}); "
                         f"newest row id={check.last_id}")
    if problems:
        return False, problems + notes
    return True, [f"OK ({check.count} rows)"] + notes


# --- the periodic job ---------------------------------------------------------------------

def anchor_job() -> str:
    return in_app_context(_run_anchor_job)


def _run_anchor_job() -> str:
    from app.infra.queue import redis_connection

    try:
        outcome, anchor = write_anchor()
    except BaseException:
        # Due again at the next maintenance cycle, not only after AUDIT_ANCHOR_MINUTES.
        redis_connection().delete(SCHEDULE_KEY)
        raise
    finally:
        db.session.remove()
    log.info("audit anchor: %s %s", outcome, anchor.storage_key if anchor else "")
    return outcome


def schedule_anchor_if_due(queue) -> bool:
    """Enqueue :func:`anchor_job` unless one was enqueued less than ``AUDIT_ANCHOR_MINUTES``
    ago by any worker (a Redis key with that expiry is the shared clock). Called from every
    worker's maintenance cycle, so anchoring resumes by itself after a failure or a restart.
    A failed enqueue or a failed job lets the key go, so the next cycle tries again (as the
    change-log retention does, app.jobs.change_log)."""
    seconds = max(60, current_app.config["AUDIT_ANCHOR_MINUTES"] * 60)
    if not queue.connection.set(SCHEDULE_KEY, utc_now().isoformat(), nx=True, ex=seconds):
        return False
    try:
        queue.enqueue(anchor_job, job_timeout=3600, result_ttl=86400)
    except BaseException:
        queue.connection.delete(SCHEDULE_KEY)
        raise
    return True
