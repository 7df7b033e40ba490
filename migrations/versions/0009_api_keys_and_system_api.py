"""API key daily reads, Idempotency-Key records, on-prem report notices, upload fetched_by

Revision ID: 0009
Revises: 0007
Create Date: 2026-11-30 02:45:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('api_key_daily_use',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('api_key_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('reads', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['api_key_id'], ['ab_api_key.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('api_key_id', 'day', name='uq_api_key_daily_use'),
    )
    op.create_table('idempotency_record',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('request_hash', sa.String(length=64), nullable=False),
        sa.Column('status', sa.SmallInteger(), nullable=False),
        sa.Column('response', sa.JSON(), nullable=False),
        sa.Column('created_on', sa.DateTime(), nullable=False),
        sa.Column('expires_on', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['ab_user.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('user_id', 'key', name='uq_idempotency_user_key'),
    )
    with op.batch_alter_table('idempotency_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_idempotency_record_expires_on'), ['expires_on'], unique=False)
    op.create_table('report_notice',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('hospital_id', sa.Integer(), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('file_type', sa.SmallInteger(), nullable=False),
        sa.Column('sent_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['hospital_id'], ['organization.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('hospital_id', 'month', 'file_type', name='uq_report_notice'),
    )
    with op.batch_alter_table('upload_file', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fetched_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_upload_file_fetched_by_id_ab_user', 'ab_user', ['fetched_by_id'], ['id'])


def downgrade():
    with op.batch_alter_table('upload_file', schema=None) as batch_op:
        batch_op.drop_constraint('fk_upload_file_fetched_by_id_ab_user', type_='foreignkey')
        batch_op.drop_column('fetched_by_id')
    op.drop_table('report_notice')
    with op.batch_alter_table('idempotency_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_idempotency_record_expires_on'))
    op.drop_table('idempotency_record')
    op.drop_table('api_key_daily_use')
