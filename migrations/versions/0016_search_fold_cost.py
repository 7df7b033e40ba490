"""os_fold(text) as a PL/pgSQL function with its real cost, so that searches use the trigram
indexes (PostgreSQL)

Revision ID: 0016_search_fold_cost
Revises: 0015_ledger_search_trgm
Create Date: 2026-12-01 10:40:00

As an SQL function, os_fold was inlined into lower(normalize(…)), which the planner costs as
two cheap operators: folding every device of a 15,000-device hospital looked cheaper than the
trigram index of 0015, so a ledger search scanned and folded them all (~75 ms) instead of
reading the index (~4 ms). Not inlined (PL/pgSQL), its COST tells the planner what a fold
costs; the index expressions call os_fold and still match the searches' calls. The results
are the same, so the indexes stay valid without a rebuild.
"""
from alembic import op

revision = '0016_search_fold_cost'
down_revision = '0015_ledger_search_trgm'
branch_labels = None
depends_on = None

# As app/core/search.PG_CREATE renders it today (written out: a migration does not follow later code).
PG_CREATE = (
    "CREATE OR REPLACE FUNCTION os_fold(value text) RETURNS text "
    "LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE COST 200 "
    "AS $$ BEGIN RETURN lower(normalize(value, NFKC)); END $$"
)
PG_CREATE_0010 = (
    "CREATE OR REPLACE FUNCTION os_fold(value text) RETURNS text "
    "LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ SELECT lower(normalize(value, NFKC)) $$"
)


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_CREATE)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        # CREATE OR REPLACE cannot change the language's inlining away from a dependent
        # index's stored call, but it can replace the body: same results, same oid.
        op.execute(PG_CREATE_0010)
