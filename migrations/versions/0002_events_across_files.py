"""events across files: one row per (hospital, device, start); open_until, end_upload_id

Revision ID: 0002
Revises: 0008
Create Date: 2026-11-30 02:00:00

Existing duplicates (the same lending stored once per file that listed it) are merged
first: the row kept is one with a known end if any, else the one of the latest month; an
open row gets ``open_until`` = the end of the month of the file that listed it.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0008'
branch_labels = None
depends_on = None

TABLES = (("lending", "lent_at", "returned_at", "lent"), ("failure", "failed_at", "repaired_at", "failed"))


def _month_end(dialect: str) -> str:
    if dialect == "postgresql":
        return "(date_trunc('month', month) + interval '1 month')"
    return "datetime(month, 'start of month', '+1 month')"


def upgrade():
    dialect = op.get_bind().dialect.name
    for table, start, end, short in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('open_until', sa.DateTime(), nullable=True))
            batch_op.add_column(sa.Column('end_upload_id', sa.Integer(), nullable=True))
            batch_op.create_foreign_key(f'fk_{table}_end_upload', 'upload_file', ['end_upload_id'], ['id'])
        op.execute(f"UPDATE {table} SET open_until = {_month_end(dialect)} WHERE {end} IS NULL")
        op.execute(f"UPDATE {table} SET end_upload_id = upload_id WHERE {end} IS NOT NULL")
        op.execute(
            f"DELETE FROM {table} WHERE id IN (SELECT id FROM (SELECT id, ROW_NUMBER() OVER ("
            f"PARTITION BY hospital_id, equipment_id, {start} "
            f"ORDER BY CASE WHEN {end} IS NULL THEN 1 ELSE 0 END, month DESC, id DESC) AS n "
            f"FROM {table}) ranked WHERE n > 1)"
        )
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f'ix_{table}_equipment_{short}')
            batch_op.create_index(f'ix_{table}_hospital_{short}', ['hospital_id', start], unique=False)
            batch_op.create_unique_constraint(f'uq_{table}_event', ['equipment_id', start, 'hospital_id'])


def downgrade():
    for table, start, _end, short in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f'uq_{table}_event', type_='unique')
            batch_op.drop_index(f'ix_{table}_hospital_{short}')
            batch_op.create_index(f'ix_{table}_equipment_{short}', ['equipment_id', start], unique=False)
            batch_op.drop_constraint(f'fk_{table}_end_upload', type_='foreignkey')
            batch_op.drop_column('end_upload_id')
            batch_op.drop_column('open_until')
