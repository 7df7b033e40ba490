"""sync_change: index (entity, key, seq) for the retention's batched prune

Revision ID: 0012_prune
Revises: 0011_h14self
Create Date: 2026-11-30 10:00:00

"""
from alembic import op

revision = '0012_prune'
down_revision = '0011_h14self'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_sync_change_entity_key_seq", "sync_change", ["entity", "key", "seq"])


def downgrade():
    op.drop_index("ix_sync_change_entity_key_seq", table_name="sync_change")
