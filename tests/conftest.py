"""Test fixtures.

The suite runs in two modes with the same tests:
- embedded (default): SQLite file and an embedded Redis server in a temporary folder;
- services: ``DATABASE_URL`` / ``REDIS_URL`` point at real PostgreSQL and Redis.

The schema is created once per session from the models (``tests/test_migrations.py``
proves the migrations build the same schema) and seeded once; the seeded rows are kept as
a snapshot. Triggers note which tables a test wrote to (and how: insert, update, delete),
whoever wrote — the test, the app or a worker subprocess. After each test only those tables
are put back to the snapshot: rows it changed or deleted are upserted from the snapshot
(parents first), then rows it added are deleted (children first). So tests never see each
other's rows, and a test that wrote to two tables does not pay for rewriting thirty.

Under pytest-xdist (pytest.ini) every worker process runs this whole session on its own
instance folder, database and Redis db (tests/workers.py).
"""
from __future__ import annotations

import os

from .workers import WORKER, create_database, drop_database, isolate_worker

# Before config.py is imported (it reads the environment once): under pytest-xdist each
# worker gets its own instance folder, PostgreSQL database and Redis db (tests/workers.py).
isolate_worker(os.environ)
os.environ["OPTISERVE_ENV"] = "test"

import pytest
from flask.globals import _cv_app
from flask.testing import FlaskClient
from flask_appbuilder import Model
from sqlalchemy import delete, insert, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from app import create_app
from app.access.role_sync import sync_roles
from app.extensions import db
from app.infra.queue import stop_embedded_redis
from app.models import DealerPermission, DealerPermissionHistory, User
from app.seeding.seed import seed_all
from config import TestConfig


def pytest_addoption(parser, pluginmanager):
    """pytest.ini passes ``--numprocesses auto --dist worksteal`` to pytest-xdist. With xdist turned off
    (``-p no:xdist``, to debug serially) nothing would know those options and pytest would
    refuse to start, so they are then accepted and ignored."""
    if not pluginmanager.has_plugin("xdist"):
        group = parser.getgroup("xdist", "options of pytest-xdist, ignored: it is off")
        group.addoption("--numprocesses", dest="numprocesses", default=None)
        group.addoption("--dist", dest="dist", default="no")


# Tables that hold roles and permissions survive between tests (they are declared data).
PERMISSION_TABLES = {
    "ab_permission", "ab_view_menu", "ab_permission_view", "ab_role",
    "ab_permission_view_role",
}


class IsolatedClient(FlaskClient):
    """Flask reuses an already pushed application context for a request, which would share
    ``g`` (the logged-in user, the scope) between a test's requests. Each request here
    runs in a fresh context, as it does in production."""

    def open(self, *args, **kwargs):
        token = _cv_app.set(None)
        try:
            return super().open(*args, **kwargs)
        finally:
            _cv_app.reset(token)


@pytest.fixture(scope="session")
def app():
    worker_database = WORKER and not TestConfig.SQLALCHEMY_DATABASE_URI.startswith("sqlite")
    if worker_database:
        create_database(TestConfig.SQLALCHEMY_DATABASE_URI)
    app = create_app(TestConfig)
    app.test_client_class = IsolatedClient
    with app.app_context():
        Model.metadata.drop_all(db.engine)
        Model.metadata.create_all(db.engine)
        sync_roles()
        seed_all()
        take_snapshot()
        install_write_triggers()
        db.session.remove()
    yield app
    stop_embedded_redis()
    with app.app_context():
        db.session.remove()
        if worker_database:
            db.engine.dispose()
            drop_database(TestConfig.SQLALCHEMY_DATABASE_URI)
        elif not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
            Model.metadata.drop_all(db.engine)
            db.session.execute(text(f"DROP TABLE IF EXISTS {DIRTY_TABLE}"))
            db.session.commit()


_SNAPSHOT: dict[str, list[dict]] = {}


def data_tables():
    return [t for t in Model.metadata.sorted_tables if t.name not in PERMISSION_TABLES]


def take_snapshot() -> None:
    for table in data_tables():
        # Ordered by key so self-references (a classification's parent) come first on reinsert.
        query = select(table).order_by(*table.primary_key.columns)
        _SNAPSHOT[table.name] = [dict(row._mapping) for row in db.session.execute(query)]


DIRTY_TABLE = "test_dirty_tables"


def install_write_triggers() -> None:
    """Note every write to a data table in ``test_dirty_tables`` (table, operation)."""
    engine_name = db.engine.dialect.name
    db.session.execute(text(f"DROP TABLE IF EXISTS {DIRTY_TABLE}"))
    db.session.execute(text(f"CREATE TABLE {DIRTY_TABLE} (name VARCHAR(100), op VARCHAR(10), PRIMARY KEY (name, op))"))
    if engine_name == "postgresql":
        db.session.execute(text(f"""
            CREATE OR REPLACE FUNCTION test_note_write() RETURNS trigger AS $$
            BEGIN
                INSERT INTO {DIRTY_TABLE} VALUES (TG_TABLE_NAME, TG_OP) ON CONFLICT DO NOTHING;
                RETURN NULL;
            END $$ LANGUAGE plpgsql"""))
    for table in data_tables():
        if engine_name == "postgresql":
            db.session.execute(text(
                f'CREATE TRIGGER test_note_write AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "{table.name}" '
                "FOR EACH STATEMENT EXECUTE FUNCTION test_note_write()"))
        else:
            for op in ("INSERT", "UPDATE", "DELETE"):
                db.session.execute(text(
                    f'CREATE TRIGGER "test_{op.lower()}_{table.name}" AFTER {op} ON "{table.name}" '
                    # no OR IGNORE: an outer UPSERT's conflict clause would override it
                    f"BEGIN INSERT INTO {DIRTY_TABLE} SELECT '{table.name}', '{op}' WHERE NOT EXISTS "
                    f"(SELECT 1 FROM {DIRTY_TABLE} WHERE name = '{table.name}' AND op = '{op}'); END"))
    db.session.commit()


def reset_data() -> None:
    """Put every table a test wrote to back to the seeded rows (also undoing what a worker
    subprocess wrote, which no in-process bookkeeping would see). When a test's rows are
    tangled so that the quick way trips over a constraint, every data table is rewritten."""
    db.session.rollback()
    dirty: dict[str, set[str]] = {}
    for name, op in db.session.execute(text(f"SELECT name, op FROM {DIRTY_TABLE}")):
        dirty.setdefault(name, set()).add(op)
    if dirty:
        try:
            _restore_tables(dirty)
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            _rewrite_every_table()
    db.session.remove()


def _restore_tables(dirty: dict[str, set[str]]) -> None:
    tables = [t for t in data_tables() if t.name in dirty]  # parents before children
    # First the rows the test changed or deleted, back to the snapshot (parents first): a
    # snapshot row may have been pointed at a row the test added, which goes next.
    for table in tables:
        rows = _SNAPSHOT.get(table.name)
        if not rows or dirty[table.name] == {"INSERT"}:
            continue
        upsert = (pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert)(table)
        keys = [c.name for c in table.primary_key.columns]
        others = {c.name: upsert.excluded[c.name] for c in table.columns if c.name not in keys}
        statement = upsert.on_conflict_do_update(index_elements=keys, set_=others) if others \
            else upsert.on_conflict_do_nothing(index_elements=keys)
        db.session.execute(statement, rows)
    # Then the rows the test added, children first.
    for table in reversed(tables):
        if not dirty[table.name] & {"INSERT", "TRUNCATE"}:
            continue
        keep = [tuple(row[c.name] for c in table.primary_key.columns) for row in _SNAPSHOT.get(table.name, [])]
        statement = delete(table)
        if keep:
            statement = statement.where(tuple_(*table.primary_key.columns).not_in(keep))
        db.session.execute(statement)
    db.session.execute(text(f"DELETE FROM {DIRTY_TABLE}"))


def _rewrite_every_table() -> None:
    tables = data_tables()
    if db.engine.dialect.name == "postgresql":
        names = ", ".join(f'"{table.name}"' for table in tables)
        db.session.execute(text(f"TRUNCATE {names}"))
    else:
        for table in reversed(tables):
            db.session.execute(delete(table))
    for table in tables:
        rows = _SNAPSHOT.get(table.name)
        if rows:
            db.session.execute(insert(table), rows)
    db.session.execute(text(f"DELETE FROM {DIRTY_TABLE}"))
    db.session.commit()


@pytest.fixture(autouse=True)
def _clean_data(app):
    yield
    with app.app_context():
        reset_data()


@pytest.fixture()
def empty_queue(app):
    """The worker's Redis db emptied before and after the test: jobs, retries and batch keys of
    earlier tests (whose upload ids the database reuses) would otherwise be found again. A module
    whose tests queue jobs says ``pytestmark = pytest.mark.usefixtures("empty_queue")``."""
    from app.infra.queue import redis_connection

    with app.app_context():
        redis_connection().flushdb()
    yield
    with app.app_context():
        redis_connection().flushdb()


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture()
def ctx(app):
    """An application context for reading and writing the database in a test.

    Requests made by the test client while it is open still get their own context (see
    :class:`IsolatedClient`), so ``g`` never leaks from one request to the next.
    """
    with app.app_context():
        yield
        db.session.remove()


def delete_dealer_permissions(**match) -> None:
    """Remove the dealer permissions matching ``match`` (hospital_id=…, dealer_user_id=…) with
    their history first: PostgreSQL enforces the history's foreign key, SQLite here does not."""
    db.session.query(DealerPermissionHistory).filter_by(**match).delete()
    db.session.query(DealerPermission).filter_by(**match).delete()


def user_by_email(email: str) -> User:
    return db.session.query(User).filter_by(email=email).one()


def login_as(client, email: str) -> User:
    """Log ``client`` in as the seeded user ``email`` without the login screens.

    The login screens themselves are tested in tests/test_auth*.py; other tests start
    from a logged-in session.
    """
    app = client.application
    with app.app_context():
        user = user_by_email(email)
        user_id = user.id
        generation = user.session_generation
    import time

    from app.access.sessions import GENERATION_KEY, MFA_KEY, SEEN_KEY

    with client.session_transaction() as session:
        session["_user_id"] = str(user_id)
        session["_fresh"] = True
        # what app.access.sessions.start() sets once the second factor is passed
        session[MFA_KEY] = "test"
        session[SEEN_KEY] = int(time.time())
        session[GENERATION_KEY] = generation
    return user_id


ADMIN = "admin@smds.example"
OPERATOR = "operator@smds.example"
ORGADMIN_A = "orgadmin@sakura-hp.example.jp"
HOSPITAL_A = "user@sakura-hp.example.jp"
HOSPITAL_B = "user@minato-hp.example.jp"
DEALER = "dealer@towa-medical.example.jp"
MANUFACTURER = "maker@meditech.example.jp"
