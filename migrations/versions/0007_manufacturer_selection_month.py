"""manufacturer selection per month

A manufacturer's selection of hospitals applies from a month on (one selection per
manufacturer and month); existing selections become the first one, which covers every month.

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

FIRST_SELECTION_MONTH = "2000-01-01"


def upgrade():
    with op.batch_alter_table('manufacturer_selection', schema=None) as batch_op:
        batch_op.add_column(sa.Column('month', sa.Date(), nullable=True))
    op.execute(f"UPDATE manufacturer_selection SET month = '{FIRST_SELECTION_MONTH}'")
    with op.batch_alter_table('manufacturer_selection', schema=None) as batch_op:
        batch_op.alter_column('month', existing_type=sa.Date(), nullable=False)
        batch_op.drop_constraint('uq_manufacturer_selection_rank', type_='unique')
        batch_op.drop_constraint('uq_manufacturer_selection_hospital', type_='unique')
        batch_op.create_unique_constraint('uq_manufacturer_selection_month_rank',
                                          ['manufacturer_id', 'month', 'rank'])
        batch_op.create_unique_constraint('uq_manufacturer_selection_month_hospital',
                                          ['manufacturer_id', 'month', 'hospital_id'])


def downgrade():
    # Keep each manufacturer's latest selection only: the old schema holds one.
    op.execute(
        "DELETE FROM manufacturer_selection WHERE month < (SELECT MAX(s.month) FROM "
        "manufacturer_selection s WHERE s.manufacturer_id = manufacturer_selection.manufacturer_id)"
    )
    with op.batch_alter_table('manufacturer_selection', schema=None) as batch_op:
        batch_op.drop_constraint('uq_manufacturer_selection_month_hospital', type_='unique')
        batch_op.drop_constraint('uq_manufacturer_selection_month_rank', type_='unique')
        batch_op.create_unique_constraint('uq_manufacturer_selection_hospital',
                                          ['manufacturer_id', 'hospital_id'])
        batch_op.create_unique_constraint('uq_manufacturer_selection_rank',
                                          ['manufacturer_id', 'rank'])
        batch_op.drop_column('month')
