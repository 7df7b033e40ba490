"""The OpenAPI document is the contract: a property-based test (schemathesis) of every operation.

For every operation of ``/api/v1/_openapi``, requests generated from its schema (valid ones,
and invalid ones: wrong types, missing fields) are sent with three API keys — an Admin's, a
hospital user's (hospital A) and a System account's. Every answer must:

- not be a server error (5xx);
- have a status the operation documents, with the documented content type;
- match the documented schema (the success schemas of app/views/api_schemas/, ``Error``
  for every error).

Half of the generated requests name real objects of hospital A in their path (an upload, a
device, a classification, a key, a user, a report), so the success answers are checked too,
not only 404s. Bounded for CI: ``CONTRACT_EXAMPLES`` examples per operation and key (default
2), derandomized (the same requests on every run), no shrinking; the data are restored after
every write operation (and at the end), so the writes stay inside this test.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import os
import time
from collections import Counter

import schemathesis
from flask import current_app
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import event, select

from app.access import api_keys
from app.access.scope import scope_of
from app.core.months import utc_now
from app.extensions import db
from app.infra.storage import get_storage
from app.models import Classification, Equipment, Organization, ReportFile, User

from .conftest import ADMIN, HOSPITAL_A, login_as, reset_data
from .ingest_helpers import LEDGER_HEADER, csv_bytes, ledger_rows, make_upload

EXAMPLES = int(os.environ.get("CONTRACT_EXAMPLES", "2"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
CALLERS = {"admin": ADMIN, "hospital_a": HOSPITAL_A, "system": "system@smds.example"}


def fetch_spec(app) -> dict:
    client = app.test_client()
    login_as(client, ADMIN)
    response = client.get("/api/v1/_openapi")
    assert response.status_code == 200
    return response.get_json()


def prepare(app) -> tuple[dict[str, str], dict[str, int]]:
    """Keys of the three callers and objects of hospital A the path ids may name."""
    with app.app_context():
        admin = db.session.scalars(select(User).where(User.email == ADMIN)).one()
        keys = {}
        for name, email in CALLERS.items():
            owner = db.session.scalars(select(User).where(User.email == email)).one()
            _, keys[name] = api_keys.create_key(scope_of(admin), admin, owner, f"contract {name}", None,
                                                current_app.appbuilder.sm)
        hospital = db.session.scalars(select(Organization).where(Organization.code == "H0001")).one()
        upload_id = make_upload(csv_bytes([LEDGER_HEADER] + ledger_rows(2)), 1)
        device = Equipment(hospital_id=hospital.id, device_number="CONTRACT-1", product_name="輸液ポンプ",
                           model_number="TE-171")
        report = ReportFile(hospital_id=hospital.id, month=dt.date(2026, 8, 1), file_type=1,
                            file_name="contract.xlsx", storage_key="reports/contract.xlsx",
                            published_at=utc_now(), size=4, sha256="0" * 64)
        db.session.add_all([device, report])
        get_storage().put_bytes("reports/contract.xlsx", b"PK\x03\x04")
        db.session.commit()
        classification = db.session.scalars(select(Classification.id).where(
            Classification.hospital_id == hospital.id)).first()
        hospital_user = db.session.scalars(select(User.id).where(User.email == HOSPITAL_A)).one()
        key_id = db.session.scalars(select(api_keys.ApiKey.id).where(
            api_keys.ApiKey.user_id == hospital_user)).one()
        ids = {"hospital_id": hospital.id, "upload": upload_id, "device": device.id, "report": report.id,
               "classification": classification, "key": key_id, "user": hospital_user}
        db.session.remove()
    return keys, ids


def known_path(path: str, ids: dict[str, int]) -> dict | None:
    """Path parameters naming hospital A's objects, for the operation at ``path``."""
    if "{" not in path:
        return None
    if "{hospital_id}" in path:
        return {"hospital_id": ids["hospital_id"]}
    for part, name in (("/uploads/", "upload"), ("/ledger/", "device"), ("/classification/", "classification"),
                       ("/apikeys/", "key"), ("/users/", "user"), ("/reports/", "report")):
        if part in path and "{pk}" in path:
            return {"pk": ids[name]}
    return None


def exercise(app, operation, caller: str, key: str, ids: dict[str, int], tally: Counter, failures: list) -> None:
    strategies = [operation.as_strategy(), operation.as_strategy(generation_mode=GenerationMode.NEGATIVE)]
    fixed = known_path(operation.path, ids)
    if fixed:
        strategies.append(operation.as_strategy(path_parameters=fixed))
    where = f"{operation.method.upper()} {operation.path} as {caller}"

    @settings(max_examples=EXAMPLES, phases=[Phase.explicit, Phase.generate], deadline=None, database=None,
              derandomize=True, suppress_health_check=list(HealthCheck), report_multiple_bugs=False)
    @given(case=st.one_of(*strategies))
    def run(case):
        tally["examples"] += 1
        try:
            response = case.call(app=app, headers={"Authorization": f"Bearer {key}"})
        except Exception as error:  # TESTING propagates what would answer 500
            tally["status 5xx"] += 1
            failures.append(f"{where}: server error {type(error).__name__}: {error}"[:1500])
            with app.app_context():
                db.session.rollback()
            return
        tally[f"status {response.status_code // 100}xx"] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers={"Authorization": "Bearer …"})
        except (Exception, BaseExceptionGroup) as error:  # collected: every operation is reported
            failures.append(f"{where}: {error}"[:1500])

    run()


@contextlib.contextmanager
def quick_commits(app):
    """SQLite without fsync on commit while the contract runs (hundreds of commits; the
    durability of a test database is of no interest). The pool is renewed afterwards."""
    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "sqlite":
        yield
        return

    def no_sync(connection, record, proxy):
        connection.execute("PRAGMA synchronous=OFF")

    event.listen(engine, "checkout", no_sync)
    try:
        yield
    finally:
        event.remove(engine, "checkout", no_sync)
        engine.dispose()


def test_every_operation_conforms_to_the_openapi_document(app, monkeypatch):
    monkeypatch.setitem(app.config, "API_KEY_RATE_LIMIT", "")  # hundreds of calls per key
    # as TestConfig does for passwords: the production cost of a key's hash is not under test here
    monkeypatch.setitem(app.config, "FAB_API_KEY_HASH_METHOD", "pbkdf2:sha256:1000")
    spec = fetch_spec(app)
    schema = schemathesis.openapi.from_dict(spec)
    operations = [result.ok() for result in schema.get_all_operations()]
    tally, failures, started = Counter(), [], time.monotonic()
    with quick_commits(app):
        keys, ids = prepare(app)
        for operation in operations:
            for caller, key in keys.items():
                exercise(app, operation, caller, key, ids, tally, failures)
                if operation.method.upper() != "GET":  # undo the writes (keys revoked, users changed…)
                    with app.app_context():
                        reset_data()
                    keys, ids = prepare(app)
        with app.app_context():
            reset_data()
    tally["operations"] = len(operations)
    if os.environ.get("CONTRACT_REPORT"):
        with open(os.environ["CONTRACT_REPORT"], "w", encoding="utf-8") as report:
            report.write("\n\n".join(failures))
    print(f"\nschemathesis contract: {dict(tally)}, failures {len(failures)}, "
          f"{time.monotonic() - started:.1f} s")
    assert len(operations) >= 33
    assert tally["examples"] >= len(operations) * len(CALLERS) * 2
    assert tally["status 2xx"] >= len(operations) // 2  # success answers were checked, not only errors
    assert not failures, f"{len(failures)} failures:\n" + "\n\n".join(failures[:25])


def test_every_operation_documents_its_answers(app):
    """Each operation names a schema for its success answer (JSON or a file), and every error
    answer is the one Error schema; the security schemes are the API key and the session."""
    spec = fetch_spec(app)
    assert set(spec["components"]["securitySchemes"]) == {"api_key", "session"}
    problems = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            responses = operation.get("responses", {})
            success = [r for code, r in responses.items() if str(code).startswith("2")]
            if not success or not all(r.get("content") and all(m.get("schema") for m in r["content"].values())
                                      for r in success):
                problems.append(f"{method.upper()} {path}: no schema for its success answer")
            for code, response in responses.items():
                if str(code)[0] in "45":
                    ref = response.get("$ref") or response["content"]["application/json"]["schema"].get("$ref")
                    if ref not in ("#/components/schemas/Error", f"#/components/responses/{code}"):
                        problems.append(f"{method.upper()} {path} {code}: not the Error schema")
            if method in ("post", "put") and "{" not in path and "requestBody" not in operation:
                problems.append(f"{method.upper()} {path}: no request body schema")
            security = operation.get("security")
            if security is None or {"api_key": []} not in security:
                problems.append(f"{method.upper()} {path}: not secured by an API key")
            if path.startswith("/api/v1/system/") and {"session": []} in security:
                problems.append(f"{method.upper()} {path}: System APIs take API keys only")
    for code, response in spec["components"]["responses"].items():
        assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}, code
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------- who reads the contract

def test_openapi_document_is_for_operators_and_system_keys(app):
    from .conftest import DEALER, MANUFACTURER, OPERATOR, ORGADMIN_A

    anonymous = app.test_client().get("/api/v1/_openapi")
    assert anonymous.status_code == 401 and set(anonymous.get_json()) == {"message"}
    for email in (OPERATOR, ADMIN):
        client = app.test_client()
        login_as(client, email)
        assert client.get("/api/v1/_openapi").get_json()["info"]["title"] == "OptiServe"
    for email in (HOSPITAL_A, ORGADMIN_A, DEALER, MANUFACTURER):
        client = app.test_client()
        login_as(client, email)
        refused = client.get("/api/v1/_openapi")
        assert refused.status_code == 403 and "paths" not in refused.get_json(), email
    keys, _ids = prepare(app)
    by_key = {name: app.test_client().get("/api/v1/_openapi", headers={"Authorization": f"Bearer {key}"})
              for name, key in keys.items()}
    assert by_key["system"].status_code == 200 and "/api/v1/system/uploads/" in by_key["system"].get_json()["paths"]
    assert by_key["admin"].status_code == 200
    assert by_key["hospital_a"].status_code == 403


def test_swagger_ui_only_for_signed_in_operators(app):
    from .conftest import DEALER, OPERATOR, ORGADMIN_A

    anonymous = app.test_client().get("/swagger/v1")
    assert anonymous.status_code == 302 and "/login/" in anonymous.headers["Location"]
    for email in (OPERATOR, ADMIN):
        client = app.test_client()
        login_as(client, email)
        page = client.get("/swagger/v1")
        html = page.get_data(as_text=True)
        assert page.status_code == 200 and "SwaggerUIBundle" in html and "/api/v1/_openapi" in html
        assert "swagger-ui-bundle.js" in html and "//cdn" not in html  # served by the app itself
    for email in (HOSPITAL_A, ORGADMIN_A, DEALER):
        client = app.test_client()
        login_as(client, email)
        page = client.get("/swagger/v1")
        assert page.status_code != 200 and "SwaggerUIBundle" not in page.get_data(as_text=True), email
    keys, _ids = prepare(app)  # a key is not a signed-in operator: the page is for people
    page = app.test_client().get("/swagger/v1", headers={"Authorization": f"Bearer {keys['system']}"})
    assert page.status_code != 200 and "SwaggerUIBundle" not in page.get_data(as_text=True)
