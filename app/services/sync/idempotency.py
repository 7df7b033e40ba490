"""``Idempotency-Key``: a System write sent again with the same key gets the first answer.

The first request with a key reserves it (a row with status 0, unique per user and key)
before doing anything, so a concurrent duplicate is refused (409) instead of running twice.
When the write answers, the status and JSON body are stored; the same key with the same
request (same hash) is answered from the row, with another request → 409. A write that
fails with a server error releases the key, so the client may retry. Rows expire after
``IDEMPOTENCY_HOURS`` (removed by the next System write).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from app.core.months import utc_now
from app.extensions import db
from app.models import IdempotencyRecord

IN_PROGRESS = 0
MAX_KEY_LENGTH = 200


class IdempotencyConflict(Exception):
    """The key was used with another request, or its first request is still running."""

    def __init__(self, in_progress: bool):
        super().__init__("in progress" if in_progress else "another request")
        self.in_progress = in_progress


def request_hash(method: str, path: str, fields: dict, files: dict[str, tuple[str, bytes]] | None = None,
                 body: bytes = b"") -> str:
    """A hash of what the request asks for: form fields, files (name and content hash) and the
    raw body of a non-form request — never a multipart boundary, which differs on every send."""
    content = {
        "method": method, "path": path,
        "fields": {k: sorted(v) for k, v in sorted(fields.items())},
        "files": {k: [name, hashlib.sha256(data).hexdigest()] for k, (name, data) in sorted((files or {}).items())},
        "body": hashlib.sha256(body).hexdigest(),
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def reserve(user_id: int, key: str, req_hash: str, hours: int) -> IdempotencyRecord | None:
    """The stored answer for a repeat of the same request (None: the key is now reserved and
    the caller performs the write). Raises :class:`IdempotencyConflict`."""
    now = utc_now()
    # Expired answers go here, on the next write (indexed; no separate clean-up job needed).
    db.session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.expires_on <= now))
    record = IdempotencyRecord(user_id=user_id, key=key, request_hash=req_hash, status=IN_PROGRESS,
                               response={}, created_on=now, expires_on=now + dt.timedelta(hours=hours))
    try:
        db.session.add(record)
        db.session.commit()
        return None
    except IntegrityError:
        db.session.rollback()
    existing = db.session.scalar(select(IdempotencyRecord).where(
        IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key))
    if existing is None:  # expired and removed meanwhile: reserve again
        return reserve(user_id, key, req_hash, hours)
    if existing.request_hash != req_hash:
        raise IdempotencyConflict(in_progress=False)
    if existing.status == IN_PROGRESS:
        raise IdempotencyConflict(in_progress=True)
    return existing


def complete(user_id: int, key: str, status: int, response: dict) -> None:
    """Store the answer; a server error releases the key instead."""
    db.session.rollback()  # whatever a failed write left behind is not ours to commit
    record = db.session.scalar(select(IdempotencyRecord).where(
        IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key))
    if record is None:
        return
    if status >= 500:
        db.session.delete(record)
    else:
        record.status, record.response = status, response
    db.session.commit()
