"""Migration 0005 keys the rows written before the chain had a key (and mends the forks
that concurrent writers left), so `audit-verify` passes after the upgrade."""
import datetime as dt
import hashlib
import json

from flask_migrate import upgrade
from sqlalchemy import text

from app import MIGRATIONS_DIR, create_app
from app.extensions import db
from app.services.audit import trail as audit
from config import TestConfig

from .test_migrations import empty_database  # noqa: F401  (fixture)


def test_upgrade_reseals_legacy_rows(empty_database):  # noqa: F811
    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = empty_database

    app = create_app(Config)
    with app.app_context():
        upgrade(directory=MIGRATIONS_DIR, revision="0001")
        forked_prev = "0" * 64  # as the race left them: two rows on the same previous hash
        for number in range(3):
            content = {"n": number}
            row_hash = hashlib.sha256((forked_prev + json.dumps(content)).encode()).hexdigest()
            db.session.execute(text(
                "INSERT INTO audit_event (created_on, action, changes, prev_hash, row_hash) "
                "VALUES (:created, 'legacy.event', :changes, :prev, :hash)"
            ), {"created": dt.datetime(2026, 11, 1, 9, number), "changes": json.dumps(content),
                "prev": forked_prev, "hash": row_hash})
        db.session.commit()
        upgrade(directory=MIGRATIONS_DIR)
        check = audit.verify_chain()
        assert (check.count, check.broken_id) == (3, None)
        key_ids = {k for (k,) in db.session.execute(text("SELECT key_id FROM audit_event"))}
        assert key_ids == {audit.current_key()[0]}
        db.session.remove()
        db.engine.dispose()
