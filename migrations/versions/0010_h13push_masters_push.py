"""Masters push: the on-prem ids (external_id) of organizations, classifications and makers,
and an active flag on organizations and makers (a full push deactivates, never deletes)

Revision ID: 0010_h13push
Revises: 0010_h10
Create Date: 2026-11-30 05:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0010_h13push'
down_revision = "0010_h10"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('organization', schema=None) as batch_op:
        batch_op.add_column(sa.Column('external_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('is_active', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.create_unique_constraint('uq_organization_external_id', ['kind', 'external_id'])
    with op.batch_alter_table('classification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('external_id', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint('uq_classification_external_id', ['hospital_id', 'external_id'])
    with op.batch_alter_table('maker', schema=None) as batch_op:
        batch_op.add_column(sa.Column('external_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('is_active', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.create_unique_constraint('uq_maker_external_id', ['external_id'])


def downgrade():
    with op.batch_alter_table('maker', schema=None) as batch_op:
        batch_op.drop_constraint('uq_maker_external_id', type_='unique')
        batch_op.drop_column('is_active')
        batch_op.drop_column('external_id')
    with op.batch_alter_table('classification', schema=None) as batch_op:
        batch_op.drop_constraint('uq_classification_external_id', type_='unique')
        batch_op.drop_column('external_id')
    with op.batch_alter_table('organization', schema=None) as batch_op:
        batch_op.drop_constraint('uq_organization_external_id', type_='unique')
        batch_op.drop_column('is_active')
        batch_op.drop_column('external_id')
