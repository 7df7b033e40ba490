"""equipment.model_key: model numbers compared across hospitals (screen 7's model evidence)

Revision ID: 0013_model_key
Revises: 0012_prune
Create Date: 2026-11-30 11:00:00

The key is ``app.core.normalize.model_key(model_number)``; the app's own function fills it,
so existing rows get exactly the key new uploads compute. The index (model_key, hospital_id)
finds other hospitals' devices of the models on one page of screen 7. It replaces the index
on the raw model_number, which no query used (the one equality filter on it is within a
hospital, found by hospital_id): a ledger upload keeps one model index up to date, not two.
"""
from alembic import op
import sqlalchemy as sa


revision = '0013_model_key'
down_revision = '0012_prune'
branch_labels = None
depends_on = None

BATCH = 5000


def upgrade():
    from app.core.normalize import model_key

    with op.batch_alter_table('equipment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('model_key', sa.String(length=100), nullable=True))
    connection = op.get_bind()
    equipment = sa.table('equipment', sa.column('id', sa.Integer), sa.column('model_number', sa.String),
                         sa.column('model_key', sa.String))
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(equipment.c.id, equipment.c.model_number)
            .where(equipment.c.id > last_id, equipment.c.model_number.isnot(None))
            .order_by(equipment.c.id).limit(BATCH)).all()
        if not rows:
            break
        last_id = rows[-1][0]
        keyed = [{"row_id": id_, "key": model_key(number)} for id_, number in rows if model_key(number)]
        if keyed:
            connection.execute(equipment.update().where(equipment.c.id == sa.bindparam("row_id"))
                               .values(model_key=sa.bindparam("key")), keyed)
    op.create_index('ix_equipment_model_key', 'equipment', ['model_key', 'hospital_id'])
    op.drop_index('ix_equipment_model_number', table_name='equipment')


def downgrade():
    op.create_index('ix_equipment_model_number', 'equipment', ['model_number'])
    op.drop_index('ix_equipment_model_key', table_name='equipment')
    with op.batch_alter_table('equipment', schema=None) as batch_op:
        batch_op.drop_column('model_key')
