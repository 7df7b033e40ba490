"""``flask optiserve sync pull`` end to end between two instances over HTTP: the test's app
is OptiServe (served by werkzeug in a thread), a second app with its own database (a second
SQLite file, or a second PostgreSQL database created here) plays the on-prem instance."""
from __future__ import annotations

import contextlib
import json
import threading
import uuid

import pytest
from flask_appbuilder import Model
from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from app import create_app
from app.access.role_sync import sync_roles
from app.extensions import db
from app.infra.storage import get_storage
from app.models import DealerPermission, Equipment, ManufacturerSelection, Organization, SyncChange, UploadFile, User
from app.seeding.seed import seed_masters
from app.services.ledger import maintenance as ledger
from app.services.partners import dealers
from config import TestConfig

from .conftest import HOSPITAL_A
from .ingest_helpers import LEDGER_HEADER, csv_bytes, ledger_rows, make_upload
from .test_api_keys import key_for

SYSTEM = "system@smds.example"


class Faults:
    """WSGI middleware: from the ``abort_from``-th changes request on, answer with a body cut
    short (the connection drops mid-response), as a failing network or a killed server would."""

    def __init__(self, app):
        self.app, self.changes_calls, self.abort_from = app, 0, None

    def __call__(self, environ, start_response):
        if environ["PATH_INFO"].startswith("/api/v1/system/changes"):
            self.changes_calls += 1
            if self.abort_from is not None and self.changes_calls >= self.abort_from:
                start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", "5000")])
                return [b'{"result": [']  # and the connection closes
        return self.app(environ, start_response)


@contextlib.contextmanager
def served(wsgi):
    server = make_server("127.0.0.1", 0, wsgi, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


@pytest.fixture()
def onprem(app, tmp_path):
    """The second instance: its own database, storage and instance folder."""
    main_url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    admin_engine = None
    if main_url.get_backend_name() == "postgresql":
        name = f"{main_url.database}_onprem_{uuid.uuid4().hex[:8]}"
        admin_engine = create_engine(main_url, isolation_level="AUTOCOMMIT")
        with admin_engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = main_url.set(database=name).render_as_string(hide_password=False)
    else:
        name, url = None, f"sqlite:///{tmp_path / 'onprem.db'}"
    config = type("OnPremConfig", (TestConfig,), {
        "SQLALCHEMY_DATABASE_URI": url, "STORAGE_URL": f"file://{tmp_path / 'storage'}",
    })
    local = create_app(config)
    with local.app_context():
        Model.metadata.create_all(db.engine)
        sync_roles()
        seed_masters()
        db.session.remove()
    yield local
    with local.app_context():
        db.session.remove()
        db.engine.dispose()
    if admin_engine is not None:
        with admin_engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin_engine.dispose()


@pytest.fixture()
def key_file(app, tmp_path):
    with app.app_context():
        key = key_for(app, SYSTEM)
    path = tmp_path / "datahub.key"
    path.write_text(key + "\n")
    return path


def run_pull(local, base, key_file, state, *extra):
    result = local.test_cli_runner().invoke(args=[
        "optiserve", "sync", "pull", "--base-url", base, "--api-key-file", str(key_file),
        "--state-file", str(state), "--retries", "0", *extra])
    return result


def summary(result) -> dict:
    line = next(line for line in result.output.splitlines() if line.startswith("changes:"))
    return {"entries": int(line.split()[1]), "cursor": int(line.rsplit(" ", 1)[1])}


def server_seq(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.max(SyncChange.seq))) or 0


def test_pull_twice_then_a_change_arrives_once(app, onprem, key_file, tmp_path):
    state = tmp_path / "state.json"
    with app.app_context():
        upload_id = make_upload(csv_bytes([LEDGER_HEADER] + ledger_rows(2)), 1, code="H0002")
        db.session.commit()
    with served(app) as base:
        first = run_pull(onprem, base, key_file, state, "--limit", "200")
        assert first.exit_code == 0, first.output
        assert summary(first)["cursor"] == server_seq(app) == json.loads(state.read_text())["cursor"]
        assert "uploads: 1 fetched" in first.output
        with onprem.app_context():
            codes = set(db.session.scalars(select(Organization.code)))
            assert {"H0001", "H0002", "M0001"} <= codes
            user = db.session.scalars(select(User).where(User.username == HOSPITAL_A)).one()
            assert user.organization.code == "H0001" and "HospitalUser" in user.role_names
            assert not user.password.startswith(("scrypt", "pbkdf2"))  # no secret came over
            assert db.session.scalar(select(func.count()).select_from(DealerPermission)) > 0
            assert db.session.scalar(select(func.count()).select_from(ManufacturerSelection)) > 0
            local_log = db.session.scalar(select(func.count()).select_from(SyncChange))
        with app.app_context():
            sent = db.session.get(UploadFile, upload_id)
            stored = get_storage().open(sent.storage_key).read()
            folder = tmp_path / "storage" / "sync-inbox" / "H0002" / f"{sent.month:%Y-%m}"
        assert sorted(p.name for p in folder.iterdir()) == [f"{upload_id}-ledger.csv", f"{upload_id}-ledger.csv.json"]
        assert (folder / f"{upload_id}-ledger.csv").read_bytes() == stored
        assert json.loads((folder / f"{upload_id}-ledger.csv.json").read_text())["id"] == upload_id
        with app.app_context():
            assert db.session.get(UploadFile, upload_id).fetched_at is not None

        second = run_pull(onprem, base, key_file, state)
        assert second.exit_code == 0, second.output
        assert summary(second)["entries"] == 0 and "uploads: 0 fetched" in second.output
        with onprem.app_context():  # nothing applied, so nothing changed here either
            assert db.session.scalar(select(func.count()).select_from(SyncChange)) == local_log

        with app.app_context():
            db.session.scalars(select(Organization).where(Organization.code == "H0001")).one().phone = "03-9999-0000"
            hospital = db.session.scalars(select(Organization).where(Organization.code == "H0002")).one()
            dealers.grant(hospital, "dealer@towa-medical.example.jp", 3, "作業代行を依頼", None)
            db.session.commit()
        third = run_pull(onprem, base, key_file, state)
        assert third.exit_code == 0, third.output
        assert summary(third)["entries"] == 2
        with onprem.app_context():
            assert db.session.scalars(select(Organization.phone).where(Organization.code == "H0001")).one() \
                == "03-9999-0000"
            dealer = db.session.scalars(select(User).where(User.username == "dealer@towa-medical.example.jp")).one()
            permission = db.session.scalars(select(DealerPermission).join(Organization, Organization.id
                                                                          == DealerPermission.hospital_id)
                                            .where(Organization.code == "H0002",
                                                   DealerPermission.dealer_user_id == dealer.id)).one()
            assert permission.level == 3 and permission.reason == "作業代行を依頼"
        assert summary(run_pull(onprem, base, key_file, state))["entries"] == 0


def devices(hospital_id, count):
    return [dict(hospital_id=hospital_id, device_number=f"SYNC{i:04d}", product_name="輸液ポンプ",
                 default_counts=True) for i in range(count)]


def test_failure_mid_pull_then_retry_loses_and_duplicates_nothing(app, onprem, key_file, tmp_path):
    state = tmp_path / "state.json"
    faults = Faults(app)
    with served(faults) as base:
        assert run_pull(onprem, base, key_file, state, "--no-uploads").exit_code == 0
        with app.app_context():
            hospital_id = db.session.scalar(select(Organization.id).where(Organization.code == "H0001"))
            db.session.execute(insert(Equipment), devices(hospital_id, 50))
            db.session.commit()
            ids = list(db.session.scalars(select(Equipment.id).where(Equipment.device_number.like("SYNC%"))))
            assert ledger.change(hospital_id, ledger.Target(ids=ids), counts=False, reason="集計対象外へ") == 50
            db.session.commit()
        with onprem.app_context():  # the on-prem ledger has the same devices (from the fetched file)
            local_hospital = db.session.scalar(select(Organization.id).where(Organization.code == "H0001"))
            db.session.execute(insert(Equipment), devices(local_hospital, 50))
            db.session.commit()
        before = json.loads(state.read_text())["cursor"]

        faults.changes_calls, faults.abort_from = 0, 3  # pages 1 and 2 arrive, page 3 is cut off
        broken = run_pull(onprem, base, key_file, state, "--limit", "10", "--no-uploads")
        assert broken.exit_code != 0
        resumed_from = json.loads(state.read_text())["cursor"]
        with onprem.app_context():
            applied = db.session.scalar(select(func.count()).select_from(Equipment).where(
                Equipment.device_number.like("SYNC%"), Equipment.override_counts.is_(False)))
        assert applied == 20 and resumed_from > before  # two pages applied and recorded

    # the server is gone: the pull fails and the cursor stays where it was
    refused = run_pull(onprem, base, key_file, state, "--no-uploads")
    assert refused.exit_code != 0 and json.loads(state.read_text())["cursor"] == resumed_from

    faults.abort_from = None
    with served(faults) as base:  # back (on another port)
        retried = run_pull(onprem, base, key_file, state, "--limit", "10", "--no-uploads")
        assert retried.exit_code == 0, retried.output
        assert summary(retried)["entries"] == 30  # exactly the rest: nothing again, nothing missing
        assert summary(retried)["cursor"] == server_seq(app)
    with onprem.app_context():
        rows = db.session.execute(select(Equipment.device_number, Equipment.override_counts)
                                  .where(Equipment.device_number.like("SYNC%"))).all()
    assert len(rows) == 50 and {r.override_counts for r in rows} == {False}
