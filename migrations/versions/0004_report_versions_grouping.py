"""report versions (revisable months) and the report grouping of a hospital

Revision ID: 0004
Revises: 0005
Create Date: 2026-11-30 02:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('report_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hospital_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=True),
    sa.Column('changes', sa.JSON(), nullable=True),
    sa.Column('published_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['hospital_id'], ['organization.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('hospital_id', 'month', 'version', name='uq_report_version')
    )
    with op.batch_alter_table('report_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_version_hospital_id'), ['hospital_id'], unique=False)

    # Existing files are version 1 of their month.
    with op.batch_alter_table('report_file', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))
        batch_op.drop_constraint('uq_report_file', type_='unique')
        batch_op.create_unique_constraint('uq_report_file_version', ['hospital_id', 'month', 'file_type', 'version'])

    with op.batch_alter_table('organization', schema=None) as batch_op:
        batch_op.add_column(sa.Column('report_grouping', sa.String(length=10), nullable=False, server_default='own'))


def downgrade():
    with op.batch_alter_table('organization', schema=None) as batch_op:
        batch_op.drop_column('report_grouping')

    # Only the newest version of each file survives a downgrade (one row per hospital-month-type).
    op.execute("DELETE FROM download WHERE report_file_id IN (SELECT r.id FROM report_file r WHERE EXISTS "
               "(SELECT 1 FROM report_file n WHERE n.hospital_id = r.hospital_id AND n.month = r.month "
               "AND n.file_type = r.file_type AND n.version > r.version))")
    op.execute("DELETE FROM report_file WHERE EXISTS (SELECT 1 FROM report_file n WHERE "
               "n.hospital_id = report_file.hospital_id AND n.month = report_file.month "
               "AND n.file_type = report_file.file_type AND n.version > report_file.version)")
    with op.batch_alter_table('report_file', schema=None) as batch_op:
        batch_op.drop_constraint('uq_report_file_version', type_='unique')
        batch_op.create_unique_constraint('uq_report_file', ['hospital_id', 'month', 'file_type'])
        batch_op.drop_column('version')

    with op.batch_alter_table('report_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_version_hospital_id'))

    op.drop_table('report_version')
