"""Audit events: who did what to which object, with the changed fields.

Append-only and hash-chained: ``row_hash`` is HMAC-SHA256, under the audit key named by
``key_id``, over ``prev_hash`` (the previous row's ``row_hash``) and the row's canonical
content (see :mod:`app.services.audit.trail`)."""
from __future__ import annotations

import datetime as dt

from flask_appbuilder import Model
from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column


class AuditEvent(Model):
    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_on: Mapped[dt.datetime] = mapped_column(
        DateTime, nullable=False, default=dt.datetime.utcnow, index=True
    )
    actor_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("ab_user.id"))
    actor_email: Mapped[str | None] = mapped_column(String(320))
    organization_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("organization.id"), index=True
    )
    action: Mapped[str] = mapped_column(String(50), nullable=False, index=True)
    object_type: Mapped[str | None] = mapped_column(String(50))
    object_id: Mapped[str | None] = mapped_column(String(50))
    changes: Mapped[dict | None] = mapped_column(JSON)
    ip: Mapped[str | None] = mapped_column(String(45))
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    row_hash: Mapped[str | None] = mapped_column(String(64))
    # Which AUDIT_KEY sealed the row (a fingerprint, not the key), so keys can be rotated.
    key_id: Mapped[str | None] = mapped_column(String(16))
