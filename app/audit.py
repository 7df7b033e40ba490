"""Writing audit events. Call :func:`record` inside the transaction that makes the change,
so the event and the change are committed (or rolled back) together."""
from __future__ import annotations

from typing import Any

from flask import g, has_request_context, request

from .extensions import db
from .models import AuditEvent


def client_ip() -> str | None:
    return request.remote_addr if has_request_context() else None


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """``{field: [old, new]}`` for the fields whose value differs."""
    return {
        key: [before.get(key), after.get(key)]
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }


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
        actor_id=getattr(actor, "id", None),
        actor_email=actor_email or getattr(actor, "email", None),
        organization_id=organization_id,
        action=action,
        object_type=type(obj).__name__ if obj is not None else None,
        object_id=str(obj.id) if obj is not None and getattr(obj, "id", None) is not None else None,
        changes=changes or None,
        ip=client_ip(),
    )
    db.session.add(event)
    return event
