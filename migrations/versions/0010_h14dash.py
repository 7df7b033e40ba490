"""Stored figures of a hospital-month and the moment a hospital's data last changed (issue 14)

Revision ID: 0010_h14dash
Revises: 0010_h13feed
Create Date: 2026-11-30 05:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0010_h14dash'
down_revision = "0010_h13feed"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('stored_figures',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('hospital_id', sa.Integer(), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('version_key', sa.String(length=64), nullable=False),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.Column('computed_from', sa.DateTime(), nullable=False),
        sa.Column('computed_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['hospital_id'], ['organization.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('hospital_id', 'month', 'version_key', name='uq_stored_figures'),
    )
    with op.batch_alter_table('stored_figures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stored_figures_hospital_id'), ['hospital_id'], unique=False)
    op.create_table('figures_change',
        sa.Column('hospital_id', sa.Integer(), nullable=False),
        sa.Column('changed_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['hospital_id'], ['organization.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('hospital_id'),
    )


def downgrade():
    op.drop_table('figures_change')
    with op.batch_alter_table('stored_figures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stored_figures_hospital_id'))
    op.drop_table('stored_figures')
