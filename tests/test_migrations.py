"""Alembic owns the schema: upgrade from empty, downgrade to base and upgrade again, on
SQLite always and on PostgreSQL when the suite runs against it; the result must match the
models exactly (no autogenerate differences)."""
from __future__ import annotations

import os
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_appbuilder import Model
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from app import MIGRATIONS_DIR, create_app
from app.extensions import db
from config import TestConfig, sqlalchemy_url

CONFIGURED_URL = sqlalchemy_url(os.environ.get("DATABASE_URL", ""))
# SQLite always; PostgreSQL too when the suite runs against it (the services mode of CI).
BACKENDS = ["sqlite"] + (["postgresql"] if CONFIGURED_URL.startswith("postgresql") else [])


@pytest.fixture(params=BACKENDS)
def empty_database(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    base = make_url(CONFIGURED_URL)
    name = f"optiserve_mig_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield base.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def schema_differences(engine) -> list:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Model.metadata)


def test_upgrade_downgrade_upgrade_matches_models(empty_database):
    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = empty_database

    app = create_app(Config)
    with app.app_context():
        upgrade(directory=MIGRATIONS_DIR)
        tables = set(inspect(db.engine).get_table_names())
        assert {"ab_user", "ab_role", "organization", "audit_event"} <= tables
        downgrade(directory=MIGRATIONS_DIR, revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade(directory=MIGRATIONS_DIR)
        assert schema_differences(db.engine) == []
        db.session.remove()
        db.engine.dispose()
