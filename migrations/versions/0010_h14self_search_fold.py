"""os_fold(text): the width- and case-folding function of every search (PostgreSQL)

SQLite gets the same function from app.core.search on each connection; nothing to store.

Revision ID: 0010_h14self
Revises: 0010_h14dash
Create Date: 2026-11-30 05:00:00

"""
from alembic import op

revision = '0010_h14self'
down_revision = "0010_h14dash"
branch_labels = None
depends_on = None

PG_CREATE = (
    "CREATE OR REPLACE FUNCTION os_fold(value text) RETURNS text "
    "LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ SELECT lower(normalize(value, NFKC)) $$"
)


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_CREATE)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS os_fold(text)")
