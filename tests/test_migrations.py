"""Alembic owns the schema: upgrade from empty, downgrade to base and upgrade again, on
SQLite always and on PostgreSQL when the suite runs against it; the result must match the
models exactly (no autogenerate differences)."""
from __future__ import annotations

import os
import uuid
from contextlib import contextmanager

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_appbuilder import Model
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from app import MIGRATIONS_DIR, create_app
from app.extensions import db
from app.models.search_indexes import include_object
from config import TestConfig, sqlalchemy_url

CONFIGURED_URL = sqlalchemy_url(os.environ.get("DATABASE_URL", ""))
# SQLite always; PostgreSQL too when the suite runs against it (the services mode of CI).
BACKENDS = ["sqlite"] + (["postgresql"] if CONFIGURED_URL.startswith("postgresql") else [])


# A hospital for data migrations to work on (the schema of any revision since 0007 has these columns).
HOSPITAL_901 = text(
    "INSERT INTO organization (id, kind, code, name, mfa_required, report_rank_count, analysis_level, "
    "manufacturer_selection_count, allows_manufacturer_access, created_on, changed_on) VALUES "
    "(901, 'hospital', 'HX', 'x', false, 5, 1, 5, false, '2025-01-01', '2025-01-01')")


@contextmanager
def app_at(database_url: str, revision: str):
    """An app context on ``database_url`` upgraded to ``revision`` (a data migration's test
    writes the old shape, then upgrades)."""
    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = database_url

    with create_app(Config).app_context():
        upgrade(directory=MIGRATIONS_DIR, revision=revision)
        yield


@pytest.fixture(params=BACKENDS)
def empty_database(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    base = make_url(CONFIGURED_URL)
    # Named after the suite's database, which is per xdist worker (tests/workers.py).
    name = f"{base.database}_mig_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield base.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def schema_differences(engine) -> list:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True,
                                                               "include_object": include_object})
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


def test_totp_migration_encrypts_existing_clear_secrets(empty_database):
    """0006 encrypts the secrets stored in clear before it, and its downgrade decrypts them."""
    from cryptography.fernet import Fernet

    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = empty_database

    app = create_app(Config)
    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    select = text("SELECT totp_secret FROM ab_user WHERE email = 'x@example.jp'")
    with app.app_context():
        upgrade(directory=MIGRATIONS_DIR, revision="0001")
        db.session.execute(text(
            "INSERT INTO ab_user (first_name, last_name, username, email, active, status, "
            "totp_secret) VALUES ('x', '', 'x@example.jp', 'x@example.jp', true, 1, :s)"),
            {"s": secret})
        db.session.commit()
        upgrade(directory=MIGRATIONS_DIR)
        stored = db.session.execute(select).scalar()
        key = Fernet(app.config["TOTP_ENCRYPTION_KEY"].split(",")[0])
        assert stored != secret and key.decrypt(stored.encode()).decode() == secret
        from app.models import User

        assert db.session.query(User).filter_by(email="x@example.jp").one().totp_secret == secret
        db.session.remove()
        downgrade(directory=MIGRATIONS_DIR, revision="0001")
        assert db.session.execute(select).scalar() == secret
        db.session.remove()
        db.engine.dispose()


def test_ledger_listing_migration_lists_existing_devices(empty_database):
    """0003 lists each existing device at the month of the ledger upload that last listed it
    (never-uploaded devices at 2000-01), and the default counts flag becomes true (an
    override that then equals the default is removed)."""
    with app_at(empty_database, "0007"):
        run = db.session.execute
        run(HOSPITAL_901)
        run(text("INSERT INTO upload_file (id, hospital_id, month, file_type, original_name, size, sha256, status, "
                 "uploaded_at) VALUES (71, 901, '2025-09-01', 1, 'l.csv', 1, 'x', 'succeeded', '2025-09-05')"))
        for device_id, number, upload, default, override in (
                (1, "A", 71, True, None), (2, "B", 71, False, True), (3, "C", None, True, False)):
            run(text("INSERT INTO equipment (id, hospital_id, device_number, default_counts, override_counts, "
                     "upload_id, updated_on) VALUES (:i, 901, :n, :d, :o, :u, '2025-09-05')"),
                {"i": device_id, "n": number, "d": default, "o": override, "u": upload})
        db.session.commit()
        upgrade(directory=MIGRATIONS_DIR)
        listed = {(e, str(m)[:7]) for e, m in run(text("SELECT equipment_id, month FROM ledger_listing"))}
        assert listed == {(1, "2025-09"), (2, "2025-09"), (3, "2000-01")}
        flags = dict((i, (bool(d), None if o is None else bool(o))) for i, d, o in run(
            text("SELECT id, default_counts, override_counts FROM equipment")))
        assert flags == {1: (True, None), 2: (True, None), 3: (True, False)}
        db.session.remove()
        db.engine.dispose()


def test_model_key_migration_keys_existing_models(empty_database):
    """0013 fills equipment.model_key with the app's own model_key() (blank models stay NULL)."""
    with app_at(empty_database, "0012_prune"):
        run = db.session.execute
        run(HOSPITAL_901)
        for device_id, model in ((1, "ＢＳＭ－２４０１"), (2, "TE-281A"), (3, None), (4, "  ")):
            run(text("INSERT INTO equipment (id, hospital_id, device_number, device_key, model_number, "
                     "default_counts, updated_on) VALUES (:i, 901, :n, :n, :m, true, '2025-09-05')"),
                {"i": device_id, "n": f"ME{device_id}", "m": model})
        db.session.commit()
        upgrade(directory=MIGRATIONS_DIR)
        keys = dict(run(text("SELECT id, model_key FROM equipment")).all())
        assert keys == {1: "bsm2401", 2: "te281a", 3: None, 4: None}
        db.session.remove()
        downgrade(directory=MIGRATIONS_DIR, revision="0012_prune")
        assert "model_key" not in {c["name"] for c in inspect(db.engine).get_columns("equipment")}
        db.session.remove()
        db.engine.dispose()
