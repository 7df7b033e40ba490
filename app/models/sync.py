"""The change log read by the on-prem systems (GET /api/v1/system/changes).

One row per changed thing per transaction, written in that transaction by
:mod:`app.services.sync.changes`; ``seq`` is the feed's cursor. ``payload`` is the thing's
state at commit (``None`` when it was deleted), keyed by natural keys (organization codes,
user names, classification paths), never by this database's ids alone.
"""
from __future__ import annotations

import datetime as dt

from flask_appbuilder import Model
from sqlalchemy import JSON, BigInteger, DateTime, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column


class SyncChange(Model):
    __tablename__ = "sync_change"
    # AUTOINCREMENT: SQLite never hands out a seq again, even after the highest row is removed.
    # The retention's probes for an older / a newer entry of the same thing
    # (app.services.sync.retention) are ranges of ix_sync_change_entity_key_seq.
    __table_args__ = (Index("ix_sync_change_entity_key_seq", "entity", "key", "seq"),
                      {"sqlite_autoincrement": True})

    # BIGINT on PostgreSQL; SQLite's INTEGER PRIMARY KEY is its 64-bit rowid.
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                     autoincrement=True)
    entity: Mapped[str] = mapped_column(String(40), nullable=False)
    key: Mapped[str] = mapped_column(String(400), nullable=False)
    # The hospital (or other organization) the change belongs to, when there is one.
    organization_id: Mapped[int | None] = mapped_column(Integer, index=True)
    payload: Mapped[dict | None] = mapped_column(JSON)
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
