"""ledger list search: trigram indexes on the folded search texts (PostgreSQL) and the
effective-classification index

Revision ID: 0015_ledger_search_trgm
Revises: 0014_message_parts
Create Date: 2026-12-01 07:00:00

Issue 14 (screen 5 under load): a search folded (NFKC) every device of the hospital, ~0.1 s
for 15,000 devices. The trigram indexes (app/models/search_indexes.py) find the matching rows;
ix_equipment_effective_class finds the devices of the classifications a search names and
serves the classification filter. SQLite gets only the latter (it has no trigram index).
"""
from alembic import op
import sqlalchemy as sa


revision = '0015_ledger_search_trgm'
down_revision = '0014_message_parts'
branch_labels = None
depends_on = None

# As app/models/search_indexes.create_statements() renders them today (written out: a
# migration does not follow later code). The expressions must stay those of the searches.
SEP = "'\x1f'"
EQUIPMENT_TEXT = "os_fold(" + f" || {SEP} || ".join(
    f"coalesce(equipment.{column}, '')" for column in (
        "department_use", "device_number", "product_name", "model_number", "serial_number", "maker_name")) + ")"
CREATE = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    f"CREATE INDEX IF NOT EXISTS ix_equipment_search_trgm ON equipment USING gin (({EQUIPMENT_TEXT}) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS ix_classification_name_trgm ON classification USING gin "
    "((os_fold(classification.name)) gin_trgm_ops)",
]
DROP = ["DROP INDEX IF EXISTS ix_classification_name_trgm", "DROP INDEX IF EXISTS ix_equipment_search_trgm"]


def upgrade():
    op.create_index("ix_equipment_effective_class", "equipment",
                    ["hospital_id", sa.text("coalesce(override_classification_id, classification_id)")])
    if op.get_bind().dialect.name == "postgresql":
        for statement in CREATE:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for statement in DROP:
            op.execute(statement)
    op.drop_index("ix_equipment_effective_class", table_name="equipment")
