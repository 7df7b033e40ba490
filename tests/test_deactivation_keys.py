"""Deactivating a user revokes its API keys for good: reactivating it brings none back.

A key handed to a script or a contractor was only suspended by the deactivation (the key
check reads the user's ``active``), so reactivating the user quietly revived it."""
from __future__ import annotations

from flask_appbuilder.security.sqla.models import ApiKey
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, UserStatus

from .conftest import ADMIN, HOSPITAL_A, login_as, user_by_email
from .test_api_keys import bearer, key_for

ORIGIN = {"Origin": "http://localhost"}


def test_reactivating_by_api_does_not_revive_the_keys(app, client, ctx):
    raw = key_for(app, HOSPITAL_A)
    assert app.test_client().get("/api/v1/uploads/", headers=bearer(raw)).status_code == 200
    user_id = user_by_email(HOSPITAL_A).id
    login_as(client, ADMIN)
    stopped = client.post(f"/api/v1/users/{user_id}/deactivate",
                          json={"reason": 1, "note": "退職"}, headers=ORIGIN)
    assert stopped.status_code == 200, stopped.get_json()
    assert stopped.get_json()["revoked_api_keys"] == 1
    assert client.post(f"/api/v1/users/{user_id}/reactivate", json={}, headers=ORIGIN).status_code == 200
    assert app.test_client().get("/api/v1/uploads/", headers=bearer(raw)).status_code == 401
    db.session.expire_all()
    assert db.session.scalars(select(ApiKey)).one().revoked_on is not None
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "api_key.revoked")).one()
    assert event.changes["reason"] == "user deactivated" and event.actor_email == ADMIN
    listed = client.get("/api/v1/apikeys/").get_json()["result"]
    assert [key["state"] for key in listed] == ["revoked"]


def test_reactivating_on_screen_does_not_revive_the_keys(app, client, ctx):
    raw = key_for(app, HOSPITAL_A)
    user_id = user_by_email(HOSPITAL_A).id
    login_as(client, ADMIN)
    page = client.get(f"/users/deactivate/{user_id}").get_data(as_text=True)
    assert "APIキーはすべて失効します" in page
    answer = client.post(f"/users/deactivate/{user_id}", data={"reason": "1", "note": "退職"},
                         follow_redirects=True).get_data(as_text=True)
    assert "APIキー1件を失効させました" in answer
    client.post(f"/users/reactivate/{user_id}")
    assert app.test_client().get("/api/v1/uploads/", headers=bearer(raw)).status_code == 401
    keys_page = client.get("/apikeys/").get_data(as_text=True)
    assert "失効" in keys_page and "利用を再開してもキーは戻りません" in keys_page


def test_a_key_left_unrevoked_by_an_older_deactivation_stays_dead(app, client, ctx):
    """Users stopped before this rule kept unrevoked keys; reactivation revokes them."""
    raw = key_for(app, HOSPITAL_A)
    user = user_by_email(HOSPITAL_A)
    user.status, user.active = UserStatus.inactive, False  # as an older deactivation left it
    db.session.commit()
    login_as(client, ADMIN)
    assert client.post(f"/api/v1/users/{user.id}/reactivate", json={}, headers=ORIGIN).status_code == 200
    assert app.test_client().get("/api/v1/uploads/", headers=bearer(raw)).status_code == 401
