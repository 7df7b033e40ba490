"""ledger listings: which devices each ledger month listed

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 02:10:00

Existing devices are listed at the month of the ledger upload that last listed them (devices
never uploaded — demo data — at 2000-01, so they stay in force until a real ledger). The
default "counts" flag no longer follows the latest ledger: it becomes true for every device,
and an override that now equals the default is removed (DESIGN §9, decision 8).
"""
import datetime as dt

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

BEFORE_ANY_LEDGER = dt.date(2000, 1, 1)


def upgrade():
    op.create_table('ledger_listing',
    sa.Column('hospital_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('equipment_id', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('hospital_id', 'month', 'equipment_id')
    )
    bind = op.get_bind()
    bind.execute(sa.text(
        "INSERT INTO ledger_listing (hospital_id, month, equipment_id) "
        "SELECT e.hospital_id, u.month, e.id FROM equipment e JOIN upload_file u ON u.id = e.upload_id "
        "WHERE u.file_type = 1"
    ))
    bind.execute(sa.text(
        "INSERT INTO ledger_listing (hospital_id, month, equipment_id) "
        "SELECT e.hospital_id, :m, e.id FROM equipment e "
        "WHERE NOT EXISTS (SELECT 1 FROM upload_file u WHERE u.id = e.upload_id AND u.file_type = 1)"
    ).bindparams(sa.bindparam("m", BEFORE_ANY_LEDGER, type_=sa.Date())))
    bind.execute(sa.text(
        "UPDATE equipment SET override_counts = NULL WHERE override_counts = :t AND default_counts = :f"
    ).bindparams(sa.bindparam("t", True, type_=sa.Boolean()), sa.bindparam("f", False, type_=sa.Boolean())))
    bind.execute(sa.text("UPDATE equipment SET default_counts = :t WHERE default_counts = :f").bindparams(
        sa.bindparam("t", True, type_=sa.Boolean()), sa.bindparam("f", False, type_=sa.Boolean())))


def downgrade():
    op.drop_table('ledger_listing')
