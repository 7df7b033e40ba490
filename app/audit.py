"""Writing and verifying audit events.

Call :func:`record` inside the transaction that makes the change, so the event and the
change are committed (or rolled back) together.

The table is a hash chain: each row stores ``prev_hash`` (the ``row_hash`` of the row
before it, by id) and ``row_hash = SHA-256(prev_hash + canonical content)``. Editing,
deleting or reordering a row breaks the chain at that row, which :func:`verify_chain`
reports. On PostgreSQL writers take a transaction-scoped advisory lock so two concurrent
transactions cannot both chain onto the same row; SQLite serializes writers itself.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from flask import g, has_request_context, request
from sqlalchemy import text

from .extensions import db
from .models import AuditEvent

GENESIS = "0" * 64
_PG_LOCK_KEY = 0x0A0D17  # arbitrary constant naming "the audit chain" for pg_advisory_xact_lock


def client_ip() -> str | None:
    """The client address (after ProxyFix has applied ``TRUSTED_PROXY_COUNT``)."""
    return request.remote_addr if has_request_context() else None


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """``{field: [old, new]}`` for the fields whose value differs."""
    return {
        key: [before.get(key), after.get(key)]
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }


def _plain(value: Any) -> Any:
    """The JSON round-trip of ``value``: what the database gives back when verifying."""
    return json.loads(json.dumps(value, default=str, ensure_ascii=False))


def canonical(event: AuditEvent) -> str:
    content = {
        "created_on": event.created_on.isoformat(timespec="microseconds"),
        "actor_id": event.actor_id,
        "actor_email": event.actor_email,
        "organization_id": event.organization_id,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "changes": event.changes,
        "ip": event.ip,
    }
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def compute_hash(prev_hash: str, event: AuditEvent) -> str:
    return hashlib.sha256((prev_hash + canonical(event)).encode()).hexdigest()


def _last_hash() -> str:
    session = db.session
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    # Events are flushed as they are recorded, so those of this transaction are seen here;
    # no autoflush, so a half-validated object of the caller is not written by this query.
    with session.no_autoflush:
        last = session.query(AuditEvent.row_hash).order_by(AuditEvent.id.desc()).limit(1).scalar()
    return last or GENESIS


def record(
    action: str,
    obj: Any = None,
    *,
    changes: dict[str, Any] | None = None,
    organization_id: int | None = None,
    actor: Any = None,
    actor_email: str | None = None,
) -> AuditEvent:
    if actor is None and has_request_context():
        actor = getattr(g, "user", None)
        if actor is not None and not getattr(actor, "is_authenticated", False):
            actor = None
    if organization_id is None and obj is not None:
        organization_id = getattr(obj, "organization_id", None)
    event = AuditEvent(
        # Whole microseconds, no tz: what every supported database stores and returns.
        created_on=dt.datetime.utcnow(),
        actor_id=getattr(actor, "id", None),
        actor_email=actor_email or getattr(actor, "email", None),
        organization_id=organization_id,
        action=action,
        object_type=type(obj).__name__ if obj is not None else None,
        object_id=str(obj.id) if obj is not None and getattr(obj, "id", None) is not None else None,
        changes=_plain(changes) if changes else None,
        ip=client_ip(),
    )
    event.prev_hash = _last_hash()
    event.row_hash = compute_hash(event.prev_hash, event)
    db.session.add(event)
    db.session.flush([event])
    return event


def verify_chain() -> tuple[int, int | None]:
    """Walk the chain in id order; return (rows checked, id of the first broken row or None)."""
    expected_prev = GENESIS
    count = 0
    query = db.session.query(AuditEvent).order_by(AuditEvent.id).yield_per(500)
    for event in query:
        count += 1
        if event.prev_hash != expected_prev or compute_hash(expected_prev, event) != event.row_hash:
            return count, event.id
        expected_prev = event.row_hash
    return count, None
