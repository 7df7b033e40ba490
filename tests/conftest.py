"""Test fixtures.

The suite runs in two modes with the same tests:
- embedded (default): SQLite file and an embedded Redis server in a temporary folder;
- services: ``DATABASE_URL`` / ``REDIS_URL`` point at real PostgreSQL and Redis.

The schema is created once per session from the models (``tests/test_migrations.py``
proves the migrations build the same schema); after each test every data table is emptied
and the demo data is seeded again, so tests never see each other's rows.
"""
from __future__ import annotations

import os
import tempfile

_TMP = tempfile.mkdtemp(prefix="optiserve-test-")
os.environ.setdefault("OPTISERVE_INSTANCE_DIR", _TMP)
os.environ["OPTISERVE_ENV"] = "test"

import pytest  # noqa: E402
from flask.globals import _cv_app  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402
from flask_appbuilder import Model  # noqa: E402
from sqlalchemy import delete  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import User  # noqa: E402
from app.roles import sync_roles  # noqa: E402
from app.seed import seed_all  # noqa: E402
from config import TestConfig  # noqa: E402

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
        db.session.remove()
    yield app
    with app.app_context():
        db.session.remove()
        if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
            Model.metadata.drop_all(db.engine)


def reset_data() -> None:
    db.session.rollback()
    for table in reversed(Model.metadata.sorted_tables):
        if table.name not in PERMISSION_TABLES:
            db.session.execute(delete(table))
    db.session.commit()
    seed_all()
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
    with client.session_transaction() as session:
        session["_user_id"] = str(user_id)
        session["_fresh"] = True
    return user_id


ADMIN = "admin@smds.example"
OPERATOR = "operator@smds.example"
ORGADMIN_A = "orgadmin@sakura-hp.example.jp"
HOSPITAL_A = "user@sakura-hp.example.jp"
HOSPITAL_B = "user@minato-hp.example.jp"
DEALER = "dealer@towa-medical.example.jp"
MANUFACTURER = "maker@meditech.example.jp"
