"""indexes of the ledger list: its order (one page is an index range) and the maker filter

Revision ID: 0011_h14self
Revises: 0010_h14self
Create Date: 2026-11-30 06:00:00

"""
from alembic import op

revision = '0011_h14self'
down_revision = '0010_h14self'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_equipment_list_order", "equipment",
                    ["hospital_id", "department_use", "device_number", "id"])
    op.create_index("ix_equipment_hospital_maker", "equipment", ["hospital_id", "maker_name"])


def downgrade():
    op.drop_index("ix_equipment_hospital_maker", table_name="equipment")
    op.drop_index("ix_equipment_list_order", table_name="equipment")
