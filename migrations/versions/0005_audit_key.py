"""audit chain keyed with AUDIT_KEY (HMAC-SHA256): key_id column, existing rows resealed

Rows written before this revision were chained with plain SHA-256 (anyone able to edit the
table could recompute it) and concurrent writers on SQLite could fork it. The upgrade links
the existing rows again in id order and seals them with the current ``AUDIT_KEY``; tampering
that happened before the upgrade is therefore not detectable afterwards (write an anchor,
``flask optiserve audit-anchor``, right after upgrading). The downgrade keeps the rows and
drops only the key id (their hashes then no longer verify as plain SHA-256).

Revision ID: 0005
Revises: 0003
"""
import hashlib
import hmac
import json

import sqlalchemy as sa
from alembic import op
from flask import current_app

revision = "0005"
down_revision = "0003"
branch_labels = None
depends_on = None

GENESIS = "0" * 64

# The table as of this revision (not the model, which may gain columns later).
audit_event = sa.table(
    "audit_event",
    sa.column("id", sa.Integer),
    sa.column("created_on", sa.DateTime),
    sa.column("actor_id", sa.Integer),
    sa.column("actor_email", sa.String),
    sa.column("organization_id", sa.Integer),
    sa.column("action", sa.String),
    sa.column("object_type", sa.String),
    sa.column("object_id", sa.String),
    sa.column("changes", sa.JSON),
    sa.column("ip", sa.String),
    sa.column("prev_hash", sa.String),
    sa.column("row_hash", sa.String),
    sa.column("key_id", sa.String),
)


def _canonical(row) -> str:
    # Same content and form as app.services.audit.trail.canonical at this revision.
    content = {
        "created_on": row.created_on.isoformat(timespec="microseconds"),
        "actor_id": row.actor_id,
        "actor_email": row.actor_email,
        "organization_id": row.organization_id,
        "action": row.action,
        "object_type": row.object_type,
        "object_id": row.object_id,
        "changes": row.changes,
        "ip": row.ip,
    }
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _reseal() -> None:
    key = current_app.config["AUDIT_KEY"].encode()
    key_id = hmac.new(key, b"optiserve-audit-key-id", hashlib.sha256).hexdigest()[:16]
    connection = op.get_bind()
    previous = GENESIS
    rows = connection.execute(sa.select(audit_event).order_by(audit_event.c.id)).all()
    for row in rows:
        row_hash = hmac.new(key, (previous + _canonical(row)).encode(), hashlib.sha256).hexdigest()
        connection.execute(
            audit_event.update().where(audit_event.c.id == row.id)
            .values(prev_hash=previous, row_hash=row_hash, key_id=key_id)
        )
        previous = row_hash


def upgrade():
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key_id", sa.String(length=16), nullable=True))
    _reseal()


def downgrade():
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_column("key_id")
