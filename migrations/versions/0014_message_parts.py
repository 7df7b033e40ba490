"""upload_file.message_parts, report_file.message_parts: stored messages shown in the reader's language

Revision ID: 0014_message_parts
Revises: 0013_model_key
Create Date: 2026-11-30 13:30:00

An upload's status and result and a report's failure were stored as finished Japanese text,
so a reader who chose English saw Japanese. The new column keeps the message as codes and
params (app/services/stored_messages.py), turned into text when it is read. Existing rows keep
their text in ``message`` and are shown as stored: there is nothing to convert.
"""
from alembic import op
import sqlalchemy as sa


revision = '0014_message_parts'
down_revision = '0013_model_key'
branch_labels = None
depends_on = None

TABLES = ('upload_file', 'report_file')


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('message_parts', sa.JSON(), nullable=True))


def downgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('message_parts')
