"""Test fixtures.

The suite runs in two modes with the same tests:
- embedded (default): SQLite file and an embedded Redis server in a temporary folder;
- services: ``DATABASE_URL`` / ``REDIS_URL`` point at real PostgreSQL and Redis.

The schema is created once per session from the models (``tests/test_migrations.py``
proves the migrations build the same schema) and seeded once; the seeded rows are kept as
a snapshot. After each test every data table is emptied and the snapshot written back with
bulk inserts (much faster than seeding again), so tests never see each other's rows.
"""
from __future__ import annotations

import os
import tempfile

_TMP = tempfile.mkdtemp(prefix="optiserve-test-")
os.environ.setdefault("OPTISERVE_INSTANCE_DIR", _TMP)
os.environ["OPTISERVE_ENV"] = "test"

import pytest
from flask.globals import _cv_app
from flask.testing import FlaskClient
from flask_appbuilder import Model
from sqlalchemy import delete, insert, select, text

from app import create_app
from app.access.role_sync import sync_roles
from app.extensions import db
from app.infra.queue import stop_embedded_redis
from app.models import User
from app.seeding.seed import seed_all
from config import TestConfig

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
    app = create_app(TestConfig)
    app.test_client_class = IsolatedClient
    with app.app_context():
        Model.metadata.drop_all(db.engine)
        Model.metadata.create_all(db.engine)
        sync_roles()
        seed_all()
        take_snapshot()
        db.session.remove()
    yield app
    stop_embedded_redis()
    with app.app_context():
        db.session.remove()
        if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
            Model.metadata.drop_all(db.engine)


_SNAPSHOT: dict[str, list[dict]] = {}


def data_tables():
    return [t for t in Model.metadata.sorted_tables if t.name not in PERMISSION_TABLES]


def take_snapshot() -> None:
    for table in data_tables():
        # Ordered by key so self-references (a classification's parent) come first on reinsert.
        query = select(table).order_by(*table.primary_key.columns)
        _SNAPSHOT[table.name] = [dict(row._mapping) for row in db.session.execute(query)]


def reset_data() -> None:
    """Empty every data table and restore the seeded rows (also undoing what a worker
    subprocess wrote, which no in-process bookkeeping would see)."""
    db.session.rollback()
    tables = data_tables()
    if db.engine.dialect.name == "postgresql":
        # One TRUNCATE of every data table is far faster than DELETEs checking foreign keys.
        names = ", ".join(f'"{table.name}"' for table in tables)
        db.session.execute(text(f"TRUNCATE {names}"))
    else:
        for table in reversed(tables):
            db.session.execute(delete(table))
    for table in tables:
        rows = _SNAPSHOT.get(table.name)
        if rows:
            db.session.execute(insert(table), rows)
    db.session.commit()
    db.session.remove()


@pytest.fixture(autouse=True)
def _clean_data(app):
    yield
    with app.app_context():
        reset_data()


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
