"""The on-prem changes feed's change log (sync_change)

Revision ID: 0010_h13feed
Revises: 0010_h13push
Create Date: 2026-11-30 05:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0010_h13feed'
down_revision = "0010_h13push"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('sync_change',
        sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('entity', sa.String(length=40), nullable=False),
        sa.Column('key', sa.String(length=400), nullable=False),
        sa.Column('organization_id', sa.Integer(), nullable=True),
        sa.Column('payload', sa.JSON(), nullable=True),
        sa.Column('changed_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('seq'),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table('sync_change', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sync_change_organization_id'), ['organization_id'], unique=False)


def downgrade():
    with op.batch_alter_table('sync_change', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sync_change_organization_id'))
    op.drop_table('sync_change')
