"""API keys: issued once and stored hashed, scoped issuing, 401/403/429, isolation by key,
audit of writes and daily read counts."""
from __future__ import annotations

import datetime as dt
import io

import pytest
from flask_appbuilder.security.sqla.models import ApiKey
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from app.core.months import utc_now
from app.extensions import db
from app.models import ApiKeyDailyUse, AuditEvent, Organization, ReportFile, UploadFile

from .conftest import ADMIN, HOSPITAL_A, HOSPITAL_B, ORGADMIN_A, login_as, user_by_email
from .ingest_helpers import LEDGER_HEADER, csv_bytes, ledger_rows, make_upload


def issue(client, actor: str, owner: str, name: str = "monthly upload", **extra):
    """Issue a key for ``owner`` through the API, logged in as ``actor``."""
    login_as(client, actor)
    with client.application.app_context():
        owner_id = user_by_email(owner).id
    return client.post("/api/v1/apikeys/", json={"user_id": owner_id, "name": name, **extra})


def key_for(app, owner: str, actor: str = ADMIN, **extra) -> str:
    response = issue(app.test_client(), actor, owner, **extra)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["result"]["key"]


def bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def test_key_is_shown_once_and_stored_hashed(app, client, ctx):
    response = issue(client, ADMIN, "system@smds.example", name="datahub")
    assert response.status_code == 201
    result = response.get_json()["result"]
    raw = result["key"]
    assert raw.startswith("sst_") and len(raw) > 40
    assert result["key_prefix"] == raw[:12] and result["state"] == "active"
    row = db.session.get(ApiKey, result["id"])
    stored = " ".join(str(v) for v in (row.key_hash, row.lookup_hash, row.key_prefix, row.name))
    assert raw not in stored and raw[12:] not in stored
    # the list and the key itself never show it again
    assert raw not in client.get("/api/v1/apikeys/").get_data(as_text=True)
    assert raw not in client.get(f"/api/v1/apikeys/{row.id}").get_data(as_text=True)
    assert raw[:12] in client.get("/apikeys/").get_data(as_text=True)
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "api_key.created")).one()
    # the key works as its user (System: the System API)
    assert client.get("/api/v1/system/uploads/", headers=bearer(raw)).status_code == 200


def test_screen_shows_the_new_key_once(client, ctx):
    login_as(client, ADMIN)
    owner = user_by_email("system@smds.example")
    page = client.post("/apikeys/create", data={"user_id": owner.id, "name": "opsman", "expires_on": ""})
    assert page.status_code == 201
    row = db.session.scalars(select(ApiKey).where(ApiKey.name == "opsman")).one()
    html = page.get_data(as_text=True)
    start = html.index('id="raw-key">') + len('id="raw-key">')
    raw = html[start:html.index("</pre>", start)]
    assert raw.startswith(row.key_prefix)
    assert raw not in client.get("/apikeys/").get_data(as_text=True)


def test_orgadmin_issues_for_own_users_only(client, ctx):
    assert issue(client, ORGADMIN_A, HOSPITAL_A).status_code == 201
    assert issue(client, ORGADMIN_A, HOSPITAL_B).status_code == 404
    assert issue(client, ORGADMIN_A, "system@smds.example").status_code == 404
    other = user_by_email(HOSPITAL_B)
    page = client.post("/apikeys/create", data={"user_id": other.id, "name": "x"})
    assert page.status_code == 404
    assert db.session.scalars(select(ApiKey).where(ApiKey.user_id == other.id)).all() == []
    # the OrgAdmin sees its own organization's keys only
    key_for(client.application, HOSPITAL_B)
    login_as(client, ORGADMIN_A)
    listed = {k["user_email"] for k in client.get("/api/v1/apikeys/").get_json()["result"]}
    assert listed == {HOSPITAL_A}
    b_key = db.session.scalars(select(ApiKey).where(ApiKey.user_id == other.id)).one()
    assert client.post(f"/api/v1/apikeys/{b_key.id}/revoke").status_code == 404
    assert client.post(f"/apikeys/{b_key.id}/revoke").status_code == 404
    db.session.refresh(b_key)
    assert b_key.revoked_on is None


@pytest.mark.parametrize("actor", [HOSPITAL_A, "operator@smds.example", "dealer@towa-medical.example.jp"])
def test_others_cannot_issue_keys(client, ctx, actor):
    response = issue(client, actor, HOSPITAL_A)
    assert response.status_code in (403, 404)
    assert db.session.scalars(select(ApiKey)).all() == []


def test_bad_name_or_past_expiry_is_refused(client, ctx):
    assert issue(client, ADMIN, HOSPITAL_A, name=" ").status_code == 400
    past = issue(client, ADMIN, HOSPITAL_A, expires_on="2020-01-01")
    assert past.status_code == 400 and "未来" in past.get_json()["message"]
    assert issue(client, ADMIN, HOSPITAL_A, expires_on="tomorrow").status_code == 400
    assert db.session.scalars(select(ApiKey)).all() == []


def test_revoked_or_expired_key_is_401(app, client, ctx):
    raw = key_for(app, HOSPITAL_A)
    assert client.get("/api/v1/uploads/", headers=bearer(raw)).status_code == 200
    key = db.session.scalars(select(ApiKey)).one()
    login_as(client, ADMIN)
    assert client.post(f"/api/v1/apikeys/{key.id}/revoke").get_json()["result"]["state"] == "revoked"
    assert app.test_client().get("/api/v1/uploads/", headers=bearer(raw)).status_code == 401

    raw2 = key_for(app, HOSPITAL_A, expires_on=(utc_now() + dt.timedelta(days=2)).isoformat() + "Z")
    assert app.test_client().get("/api/v1/uploads/", headers=bearer(raw2)).status_code == 200
    expiring = db.session.scalars(select(ApiKey).where(ApiKey.revoked_on.is_(None))).one()
    expiring.expires_on = utc_now() - dt.timedelta(seconds=1)
    db.session.commit()
    assert app.test_client().get("/api/v1/uploads/", headers=bearer(raw2)).status_code == 401
    assert app.test_client().get("/api/v1/uploads/", headers=bearer("sst_" + "x" * 43)).status_code == 401


def test_key_outside_ip_allowlist_is_403(app, client, ctx):
    raw = key_for(app, HOSPITAL_A)
    hospital = db.session.scalars(select(Organization).where(Organization.code == "H0001")).one()
    hospital.ip_allowlist = "192.0.2.0/24"
    db.session.commit()
    outside = client.get("/api/v1/uploads/", headers=bearer(raw))
    assert outside.status_code == 403
    inside = client.get("/api/v1/uploads/", headers=bearer(raw), environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert inside.status_code == 200
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "policy.ip_refused")).all()


def test_rate_limit_per_key_is_429(app, client, ctx):
    raw = key_for(app, HOSPITAL_A)
    other = key_for(app, HOSPITAL_B)
    app.config["API_KEY_RATE_LIMIT"] = "3 per minute"
    try:
        answers = [client.get("/api/v1/uploads/", headers=bearer(raw)).status_code for _ in range(4)]
        assert answers == [200, 200, 200, 429]
        # another key has its own budget
        assert client.get("/api/v1/uploads/", headers=bearer(other)).status_code == 200
    finally:
        app.config["API_KEY_RATE_LIMIT"] = "120 per minute"


def _upload(client, raw, code_month="2026-08"):
    data = {"month": code_month, "file": (io.BytesIO(csv_bytes([LEDGER_HEADER] + ledger_rows(3))), "ledger.csv"),
            "file_type": "1"}
    return client.post("/api/v1/uploads/", data=data, content_type="multipart/form-data", headers=bearer(raw))


def test_key_of_hospital_a_cannot_reach_hospital_b(app, client, ctx):
    a_key = key_for(app, HOSPITAL_A)
    b_id = db.session.scalars(select(Organization.id).where(Organization.code == "H0002")).one()
    b_upload = make_upload(csv_bytes([LEDGER_HEADER] + ledger_rows(2)), 1, code="H0002")
    b_report = ReportFile(hospital_id=b_id, month=dt.date(2026, 8, 1), file_type=1, file_name="b.xlsx",
                          storage_key="reports/b.xlsx", published_at=utc_now())
    db.session.add(b_report)
    db.session.commit()
    h = bearer(a_key)
    assert client.get(f"/api/v1/uploads/?hospital_id={b_id}", headers=h).status_code == 404
    assert client.get(f"/api/v1/uploads/{b_upload}", headers=h).status_code == 404
    assert client.get(f"/api/v1/uploads/{b_upload}/file", headers=h).status_code == 404
    assert client.get(f"/api/v1/ledger/?hospital_id={b_id}", headers=h).status_code == 404
    assert client.get(f"/api/v1/reports/?hospital_id={b_id}", headers=h).status_code == 404
    listed = client.get("/api/v1/reports/", headers=h).get_json()["result"]
    assert b_report.id not in {r["id"] for r in listed}
    assert client.get(f"/api/v1/reports/{b_report.id}/download", headers=h).status_code == 404
    # a write aimed at B lands nowhere; the key's own write lands in A
    before = db.session.scalars(select(UploadFile.id).where(UploadFile.hospital_id == b_id)).all()
    response = client.post(f"/api/v1/uploads/?hospital_id={b_id}", headers=h, content_type="multipart/form-data",
                           data={"month": "2026-08", "file_type": "1",
                                 "file": (io.BytesIO(csv_bytes([LEDGER_HEADER] + ledger_rows(2))), "l.csv")})
    assert response.status_code == 404
    assert db.session.scalars(select(UploadFile.id).where(UploadFile.hospital_id == b_id)).all() == before
    # the hospital key reaches none of the System API
    assert client.get("/api/v1/system/uploads/", headers=h).status_code == 403


def test_writes_are_audited_and_reads_counted_per_day(app, client, ctx):
    raw = key_for(app, HOSPITAL_A)
    key = db.session.scalars(select(ApiKey)).one()
    for _ in range(3):
        assert client.get("/api/v1/uploads/", headers=bearer(raw)).status_code == 200
    from app.services.uploads.records import default_month

    response = _upload(client, raw, f"{default_month():%Y-%m}")
    assert response.status_code == 201, response.get_json()
    db.session.expire_all()
    uses = db.session.scalars(select(ApiKeyDailyUse).where(ApiKeyDailyUse.api_key_id == key.id)).all()
    assert [u.reads for u in uses] == [3]
    writes = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "api_key.write")).all()
    assert len(writes) == 1 and writes[0].changes["api_key_id"] == key.id
    assert writes[0].actor_email == HOSPITAL_A and writes[0].changes["status"] == 201
    assert db.session.get(ApiKey, key.id).last_used_on is not None


def test_a_key_call_checks_the_slow_hash_once_and_commits_once(app, client, ctx, monkeypatch):
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from app.access import api_keys

    raw = key_for(app, HOSPITAL_A)
    key_id = db.session.scalars(select(ApiKey.id)).one()
    slow_checks, commits = [], []
    real_check = api_keys.check_password_hash
    monkeypatch.setattr(api_keys, "check_password_hash",
                        lambda stored, given: slow_checks.append(1) or real_check(stored, given))
    api_keys._VERIFIED.clear()

    def count(session):
        commits.append(1)

    # The day's first read makes its counter row (a savepoint); the next ones only count.
    assert client.get("/api/v1/uploads/", headers=bearer(raw)).status_code == 200
    event.listen(Session, "after_commit", count)
    try:
        for _ in range(3):
            assert client.get("/api/v1/uploads/", headers=bearer(raw)).status_code == 200
    finally:
        event.remove(Session, "after_commit", count)
    assert len(slow_checks) == 1  # the key's hash is checked once per process
    assert len(commits) == 3  # one commit per call: the read count and last_used_on together
    db.session.expire_all()
    first_use = db.session.get(ApiKey, key_id).last_used_on
    assert first_use is not None
    assert db.session.scalars(select(ApiKeyDailyUse.reads).where(ApiKeyDailyUse.api_key_id == key_id)).one() == 4
    # The cache remembers (lookup hash, stored hash): once the stored hash is another one, the
    # same raw key is checked again, and refused.
    row = db.session.get(ApiKey, key_id)
    stored_hash = row.key_hash
    row.key_hash = generate_password_hash("sst_another-key", method="pbkdf2:sha256:1000")
    db.session.commit()
    assert client.get("/api/v1/uploads/", headers=bearer(raw)).status_code == 401
    assert len(slow_checks) == 2
    db.session.get(ApiKey, key_id).key_hash = stored_hash
    db.session.commit()
    # last_used_on moves once it is a minute old.
    db.session.get(ApiKey, key_id).last_used_on = first_use - dt.timedelta(minutes=5)
    db.session.commit()
    assert client.get("/api/v1/uploads/", headers=bearer(raw)).status_code == 200
    db.session.expire_all()
    assert db.session.get(ApiKey, key_id).last_used_on >= first_use


def test_a_key_call_that_fails_half_way_stores_only_its_bookkeeping(app, client, ctx, monkeypatch):
    """The after-response commit of the key's use must not also commit what a failing view
    left in the session (a 500 in production, where exceptions do not propagate)."""
    from app.views import users_api

    raw = key_for(app, ORGADMIN_A)
    target = user_by_email(HOSPITAL_A)
    target_id, name_before = target.id, target.first_name

    def change_then_fail(user):
        user.first_name = "途中で失敗"
        raise RuntimeError("a bug half-way through the view")

    monkeypatch.setattr(users_api, "user_snapshot", change_then_fail)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    response = app.test_client().put(f"/api/v1/users/{target_id}", json={"first_name": "x"}, headers=bearer(raw))
    assert response.status_code == 500
    db.session.expire_all()
    assert user_by_email(HOSPITAL_A).first_name == name_before
    write = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "api_key.write")).one()
    assert write.changes["status"] == 500
