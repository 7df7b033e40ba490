"""A user's API keys end when the user's organization or roles change, as its sessions do;
the move is audited.

A key acts with its user's current organization and roles. A key issued for a hospital A
user (held by a script or a contractor) kept working after an Admin moved the user to
hospital B, and then read B's uploads."""
from __future__ import annotations

from flask_appbuilder.security.sqla.models import ApiKey
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Organization

from .conftest import ADMIN, HOSPITAL_A, login_as, user_by_email
from .test_api_keys import bearer, key_for


def test_moving_the_user_to_another_hospital_revokes_its_keys(app, client, ctx):
    raw = key_for(app, HOSPITAL_A)
    assert app.test_client().get("/api/v1/uploads/", headers=bearer(raw)).status_code == 200
    user = user_by_email(HOSPITAL_A)
    sakura_id = user.organization_id
    minato = db.session.scalars(select(Organization).where(Organization.code == "H0002")).one()
    minato.allowed_email_domains = "minato-hp.example.jp\nsakura-hp.example.jp"
    db.session.commit()
    moved_client = app.test_client()
    login_as(moved_client, HOSPITAL_A)
    assert moved_client.get("/api/v1/uploads/").status_code == 200
    login_as(client, ADMIN)
    response = client.put(f"/api/v1/users/{user.id}", json={"organization": minato.id},
                          headers={"Origin": "http://localhost"})
    assert response.status_code == 200, response.get_json()
    assert app.test_client().get("/api/v1/uploads/", headers=bearer(raw)).status_code == 401
    assert moved_client.get("/api/v1/uploads/").status_code == 401  # its session ended too
    db.session.expire_all()
    assert db.session.scalars(select(ApiKey)).one().revoked_on is not None
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "api_key.revoked")).first()
    # the move itself is audited (it was not: the column follows the relationship at the flush)
    moved = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "user.update")).one()
    assert moved.changes["organization_id"] == [sakura_id, minato.id]


def test_a_name_change_keeps_the_keys(app, client, ctx):
    raw = key_for(app, HOSPITAL_A)
    user = user_by_email(HOSPITAL_A)
    login_as(client, ADMIN)
    assert client.put(f"/api/v1/users/{user.id}", json={"first_name": "佐藤 二郎"},
                      headers={"Origin": "http://localhost"}).status_code == 200
    assert app.test_client().get("/api/v1/uploads/", headers=bearer(raw)).status_code == 200
