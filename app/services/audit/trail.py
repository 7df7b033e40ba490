"""Writing and verifying audit events.

Call :func:`record` inside the transaction that makes the change, so the event and the
change are committed (or rolled back) together.

The table is a keyed hash chain: each row stores ``prev_hash`` (the ``row_hash`` of the row
before it, by id) and ``row_hash = HMAC-SHA256(AUDIT_KEY, prev_hash + canonical content)``.
The key is not in the database, so someone who can edit the table cannot recompute the
hashes after an edited or deleted row; :func:`verify_chain` names the first broken row.
``key_id`` (a fingerprint of the key) lets the key be rotated: new rows use ``AUDIT_KEY``,
older rows are checked with the key of ``AUDIT_PREVIOUS_KEYS`` whose fingerprint they carry.
Deleting the newest rows leaves a valid shorter chain; the anchors written outside the
database (:mod:`app.services.audit.anchors`) catch that.

Appending is serialized: a writer locks the chain head for the rest of its transaction
before reading the last hash (PostgreSQL: a transaction-scoped advisory lock; SQLite: the
database write lock, taken with ``BEGIN IMMEDIATE`` if the transaction has not written yet),
so two concurrent transactions can never chain onto the same row.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from typing import Any, NamedTuple

from flask import current_app
from sqlalchemy import text

from app.core.months import utc_now
from app.extensions import db
from app.models import AuditEvent

log = logging.getLogger(__name__)

GENESIS = "0" * 64
_PG_LOCK_KEY = 0x0A0D17  # arbitrary constant naming "the audit chain" for pg_advisory_xact_lock


class Acting(NamedTuple):
    """A dealer acting for a hospital: the hospital, and the dealer's organization as a
    hospital's administrator should read it (name and code)."""

    hospital_id: int
    dealer_organization: str


class Origin(NamedTuple):
    """Who makes the change being recorded, from which address, and for which hospital if
    the actor is a dealer acting for one."""

    actor: Any
    ip: str | None
    acting: Acting | None = None


def _no_origin() -> Origin | None:
    return None


def _forget(action: str) -> None:
    return None


# Where an event comes from when the caller does not say. Services never read the request:
# the web layer installs a provider that does (app.views.request_audit); in a job or a plain
# test there is none, and the caller passes ``actor`` itself. ``note_recorded`` lets the web
# layer know which actions a request already recorded.
origin_provider: Callable[[], Origin | None] = _no_origin
note_recorded: Callable[[str], None] = _forget


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """``{field: [old, new]}`` for the fields whose value differs. An optional field never
    filled (NULL) and one a form sends back empty ("") are the same value: saving a form
    unchanged logged {"phone": [null, ""]}."""
    def value(values, key):
        found = values.get(key)
        return None if found == "" else found

    return {
        key: [before.get(key), after.get(key)]
        for key in sorted(set(before) | set(after))
        if value(before, key) != value(after, key)
    }


def _plain(value: Any) -> Any:
    """The JSON round-trip of ``value``: what the database gives back when verifying."""
    return json.loads(json.dumps(value, default=str, ensure_ascii=False))


# --- keys -------------------------------------------------------------------------------

def key_id_of(key: bytes) -> str:
    """A public fingerprint of a key (derived with HMAC, so it says nothing about the key)."""
    return hmac.new(key, b"optiserve-audit-key-id", hashlib.sha256).hexdigest()[:16]


def current_key() -> tuple[str, bytes]:
    key = current_app.config["AUDIT_KEY"].encode()
    return key_id_of(key), key


def keyring() -> dict[str, bytes]:
    """Every key a row may have been sealed with: ``AUDIT_KEY`` and ``AUDIT_PREVIOUS_KEYS``."""
    config = current_app.config
    keys = [config["AUDIT_KEY"]] + [k.strip() for k in (config.get("AUDIT_PREVIOUS_KEYS") or "").split(",")]
    return {key_id_of(k.encode()): k.encode() for k in keys if k}


def mac(key: bytes, message: str) -> str:
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


# --- the chain --------------------------------------------------------------------------

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


def compute_hash(prev_hash: str, event: AuditEvent, key: bytes) -> str:
    return mac(key, prev_hash + canonical(event))


def lock_chain_head(session) -> None:
    """Hold the right to append to the chain until ``session``'s transaction ends."""
    connection = session.connection()
    dialect = connection.dialect.name
    if dialect == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    elif dialect == "sqlite":
        # pysqlite opens a (deferred) transaction only at the first INSERT/UPDATE/DELETE, so a
        # transaction that has not written yet would read the head outside any lock and two
        # writers would both chain onto it. BEGIN IMMEDIATE takes the write lock first (waiting
        # for other writers); a transaction that has already written holds it already.
        raw = connection.connection.dbapi_connection
        if not raw.in_transaction:
            raw.execute("BEGIN IMMEDIATE")


def _last_hash(session) -> str:
    lock_chain_head(session)
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
    session=None,
) -> AuditEvent:
    """Append one event in ``session``'s transaction (default: the request's ``db.session``)."""
    session = session or db.session
    origin = origin_provider()
    if actor is None and origin is not None:
        actor = origin.actor
    if organization_id is None and obj is not None:
        organization_id = getattr(obj, "organization_id", None)
    acting = origin.acting if origin is not None else None
    if acting is not None and organization_id == acting.hospital_id:
        # A row of the hospital's log about a dealer's work on its data: the actor's address
        # names the user, this names its company, which the hospital's administrators cannot
        # look up (another organization's users are outside their scope).
        changes = {**(changes or {}), "dealer_organization": acting.dealer_organization}
    key_id, key = current_key()
    event = AuditEvent(
        created_on=utc_now(),
        actor_id=getattr(actor, "id", None),
        actor_email=actor_email or getattr(actor, "email", None),
        organization_id=organization_id,
        action=action,
        object_type=type(obj).__name__ if obj is not None else None,
        object_id=str(obj.id) if obj is not None and getattr(obj, "id", None) is not None else None,
        changes=_plain(changes) if changes else None,
        ip=origin.ip if origin is not None else None,
        key_id=key_id,
    )
    event.prev_hash = _last_hash(session)
    event.row_hash = compute_hash(event.prev_hash, event, key)
    session.add(event)
    session.flush([event])
    note_recorded(action)
    return event


def record_apart(action: str, obj: Any = None, **kwargs) -> None:
    """Record an event about something that was refused: the request's own transaction is
    rolled back first (a refused request changes nothing), then the event is committed.
    Never raises: a failure to audit a refusal must not turn it into a 500."""
    try:
        db.session.rollback()
        record(action, obj, **kwargs)
        db.session.commit()
    except Exception:
        log.exception("could not audit %s", action)
        db.session.rollback()


class ChainCheck(NamedTuple):
    """What :func:`verify_chain` found."""

    count: int
    broken_id: int | None  # the first row that does not verify
    reason: str | None
    last_id: int | None  # the newest row, and its hash
    last_hash: str | None
    watched_hash: str | None  # the hash of row ``watch_id`` (None: no such row)


def verify_chain(watch_id: int | None = None, start: tuple[int, str] | None = None) -> ChainCheck:
    """Walk the chain in id order and check every link and HMAC; also report the hash of
    row ``watch_id`` (an anchored row) if it exists.

    ``start=(id, hash)`` (an anchor) checks only from that row on: it must still exist with
    that hash, and the rows after it must chain onto it."""
    keys = keyring()
    expected_prev = GENESIS
    count = 0
    last_id = watched = None
    query = db.session.query(AuditEvent).order_by(AuditEvent.id)
    if start is not None:
        query = query.filter(AuditEvent.id >= start[0])
    for event in query.yield_per(1000):
        count += 1
        key = keys.get(event.key_id or "")
        reason = None
        if start is not None and count == 1:
            if event.id != start[0] or event.row_hash != start[1]:
                reason = "anchored row missing or changed"
        elif key is None:
            reason = "unknown key" if event.key_id else "unkeyed row"
        elif event.prev_hash != expected_prev:
            reason = "previous hash does not link"
        elif not hmac.compare_digest(compute_hash(expected_prev, event, key), event.row_hash or ""):
            reason = "row hash does not match its content"
        if reason:
            return ChainCheck(count, event.id, reason, last_id, expected_prev, watched)
        if event.id == watch_id:
            watched = event.row_hash
        expected_prev, last_id = event.row_hash, event.id
    if start is not None and count == 0:
        return ChainCheck(0, start[0], "anchored row missing or changed", None, None, None)
    return ChainCheck(count, None, None, last_id, expected_prev if count else None, watched)
