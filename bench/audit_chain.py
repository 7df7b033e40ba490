"""Audit chain: appends per second with 20 concurrent writers (each its own connection and
transaction), and rows per second of the full verification (`audit-verify`).

Run: .venv/bin/python bench/audit_chain.py [rows]
(DATABASE_URL=postgresql://… for PostgreSQL; default a fresh SQLite file.)
"""
import sys
import time

import _harness

_harness.prepare()

from flask_appbuilder import Model
from sqlalchemy import create_engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from app.extensions import db
from app.models import AuditEvent
from app.services.audit import trail as audit

WRITERS = 20


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    app = _harness.make_app()
    with app.app_context():
        _harness.create_schema()
        db.session.query(AuditEvent).delete()
        db.session.commit()
        url = db.engine.url
    per_writer = 50

    def writer(number):
        engine = create_engine(url, poolclass=NullPool, **app.config["SQLALCHEMY_ENGINE_OPTIONS"])
        with app.app_context(), Session(engine) as session:
            for i in range(per_writer):
                audit.record("bench.concurrent", session=session, changes={"w": number, "i": i})
                session.commit()
        engine.dispose()

    elapsed = _harness.run_threads(writer, WRITERS)
    print(f"{url.get_backend_name()}: {WRITERS} writers x {per_writer} "
          f"commits: {WRITERS * per_writer / elapsed:.0f} appends/s")
    with app.app_context():
        for i in range(rows):
            audit.record("bench.bulk", changes={"i": i, "text": "x" * 40})
            if i % 1000 == 999:
                db.session.commit()
        db.session.commit()
        start = time.perf_counter()
        check = audit.verify_chain()
        elapsed = time.perf_counter() - start
        assert check.broken_id is None, check
        print(f"verify {check.count} rows: {elapsed:.2f} s ({check.count / elapsed:.0f} rows/s)")
        db.session.remove()
        if url.get_backend_name() != "sqlite":
            Model.metadata.drop_all(db.engine)  # leave the database as it was


if __name__ == "__main__":
    main()
