"""PostgreSQL indexes of the ledger list's text search (screen 5, issue 14): trigram (pg_trgm)
indexes on the folded search texts, so ``os_fold(…) LIKE '%…%'`` reads the matching devices
from an index instead of folding (NFKC) every device of the hospital on each search — the
fold was ~0.1 s of a 15,000-device hospital's search, the slowest requests under load.

The expressions are built from the same functions as the searches
(:func:`app.core.search.joined` / :func:`~app.core.search.folded`), so the planner matches
them. Created by migration 0015_ledger_search_trgm and, for schemas built from the models,
by the ``after_create`` hook below (after the one creating ``os_fold``). SQLite has no
trigram index: its searches keep scanning, as before.
"""
from __future__ import annotations

from flask_appbuilder import Model
from sqlalchemy import DDL, Table, event
from sqlalchemy.dialects import postgresql

from app.core import search

# The device texts one ledger search looks in (app/services/ledger/maintenance.filter_clauses).
EQUIPMENT_SEARCH_COLUMNS = ("department_use", "device_number", "product_name", "model_number",
                            "serial_number", "maker_name")


def equipment_search_text(table: Table):
    """One device's search text: the columns joined (NULL as empty), not yet folded."""
    return search.joined(*(table.c[name] for name in EQUIPMENT_SEARCH_COLUMNS))


def _expression_sql(expression) -> str:
    return str(expression.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))


def create_statements() -> list[str]:
    """CREATE EXTENSION / CREATE INDEX … for PostgreSQL (idempotent)."""
    tables = Model.metadata.tables
    equipment_text = _expression_sql(search.folded(equipment_search_text(tables["equipment"])))
    class_name = _expression_sql(search.folded(tables["classification"].c.name))
    return [
        "CREATE EXTENSION IF NOT EXISTS pg_trgm",
        f"CREATE INDEX IF NOT EXISTS ix_equipment_search_trgm ON equipment USING gin (({equipment_text}) gin_trgm_ops)",
        "CREATE INDEX IF NOT EXISTS ix_classification_name_trgm ON classification USING gin "
        f"(({class_name}) gin_trgm_ops)",
    ]


# Not in the models' metadata (PostgreSQL only, with operator classes): Alembic's comparison
# must leave them alone (migrations/env.py, tests/test_migrations.py).
INDEX_NAMES = frozenset({"ix_equipment_search_trgm", "ix_classification_name_trgm"})


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic ``include_object``: skip the trigram indexes, which the models do not declare."""
    return not (type_ == "index" and name in INDEX_NAMES)


@event.listens_for(Model.metadata, "after_create")
def _create_search_indexes(target, connection, **kw) -> None:
    if connection.dialect.name == "postgresql":
        for statement in create_statements():
            connection.execute(DDL(statement.replace("%", "%%")))
