"""events' upload references without foreign keys (ingest speed on PostgreSQL)

Revision ID: 0010_h10
Revises: 0004
Create Date: 2026-11-30 05:40:00

``lending`` / ``failure`` ``upload_id`` (the last upload that listed the event) and
``end_upload_id`` (the upload that gave its end) are bookkeeping of the reconciliation
(app/services/ingest/write.py): they order the uploads ("the later upload wins") and mark
the events a file lists. As foreign keys they cost two row-lock lookups of ``upload_file``
per written event — on PostgreSQL 1.7 s of server CPU for a 107,000-row lending file, the
largest part of the ingest's cost over the bulk-insert floor (bench/ingest.py). Upload rows
are never deleted (files are kept 7 years), so the references cannot dangle.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010_h10'
down_revision = '0004'
branch_labels = None
depends_on = None

TABLES = ("lending", "failure")
# Names for SQLite's reflected, unnamed constraints (batch mode recreates the table).
NAMING = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}


def upgrade():
    bind = op.get_bind()
    for table in TABLES:
        names = [fk["name"] or f"fk_{table}_{fk['constrained_columns'][0]}_upload_file"
                 for fk in sa.inspect(bind).get_foreign_keys(table) if fk["referred_table"] == "upload_file"]
        with op.batch_alter_table(table, schema=None, naming_convention=NAMING) as batch_op:
            for name in names:
                batch_op.drop_constraint(name, type_='foreignkey')


def downgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None, naming_convention=NAMING) as batch_op:
            batch_op.create_foreign_key(f'{table}_upload_id_fkey', 'upload_file', ['upload_id'], ['id'])
            batch_op.create_foreign_key(f'fk_{table}_end_upload', 'upload_file', ['end_upload_id'], ['id'])
