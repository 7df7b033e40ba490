"""equipment.device_key: device numbers matched width- and case-insensitively

Revision ID: 0008
Revises: 0009
Create Date: 2026-11-30 02:30:00

The key is ``app.core.normalize.device_key(device_number)``; the app's own function fills it so
existing rows get exactly the key new uploads compute. Two devices of one hospital whose
numbers differ only in width or case (``ME1`` and ``me1``) were two devices before: the
newer keeps the key with its id appended, so neither is lost (the hospital's next ledger
decides which one its number means).
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    from app.core.normalize import device_key

    with op.batch_alter_table('equipment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('device_key', sa.String(length=100), nullable=True))
    connection = op.get_bind()
    equipment = sa.table('equipment', sa.column('id', sa.Integer), sa.column('hospital_id', sa.Integer),
                         sa.column('device_number', sa.String), sa.column('device_key', sa.String))
    seen = set()
    rows = connection.execute(sa.select(equipment.c.id, equipment.c.hospital_id, equipment.c.device_number)
                              .order_by(equipment.c.id)).all()
    for id_, hospital_id, number in rows:
        key = device_key(number)
        if (hospital_id, key) in seen:
            key = f"{key[:80]}#{id_}"
        seen.add((hospital_id, key))
        connection.execute(equipment.update().where(equipment.c.id == id_).values(device_key=key))
    with op.batch_alter_table('equipment', schema=None) as batch_op:
        batch_op.alter_column('device_key', existing_type=sa.String(length=100), nullable=False)
        batch_op.drop_constraint('uq_equipment_device_number', type_='unique')
        batch_op.create_unique_constraint('uq_equipment_device_key', ['hospital_id', 'device_key'])


def downgrade():
    with op.batch_alter_table('equipment', schema=None) as batch_op:
        batch_op.drop_constraint('uq_equipment_device_key', type_='unique')
        batch_op.create_unique_constraint('uq_equipment_device_number', ['hospital_id', 'device_number'])
        batch_op.drop_column('device_key')
