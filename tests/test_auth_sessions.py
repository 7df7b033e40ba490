"""Revocable sessions: a copy of a session cookie (the whole cookie jar moved into a second
client, as a thief would use it) stops working after logout, password reset, TOTP reset,
deactivation, a role change and "log out everywhere"; an unrelated edit keeps it alive."""
import datetime as dt

import pyotp
import pytest
from flask import current_app

from app.extensions import db
from app.models import AuditEvent
from app.seeding.seed import DEMO_PASSWORD
from app.services.accounts import invitations

from .conftest import ADMIN, HOSPITAL_B, login_as, user_by_email
from .test_auth_login import is_logged_in, post_login

NEW_PASSWORD = "kawa-no-nagare-2026"


def copy_cookies(source, target) -> None:
    for cookie in source._cookies.values():
        target.set_cookie(cookie.key, cookie.value, domain=cookie.domain, path=cookie.path)


@pytest.fixture()
def signed_in(app, client, ctx):
    """HOSPITAL_B signed in through the login screen (its organization without MFA), and a
    second client holding a copy of its cookies."""
    user = user_by_email(HOSPITAL_B)
    user.organization.mfa_required = False
    db.session.commit()
    assert post_login(client, HOSPITAL_B).status_code == 302
    thief = app.test_client()
    copy_cookies(client, thief)
    assert is_logged_in(client) and is_logged_in(thief)
    return client, thief


def admin_client(app):
    admin = app.test_client()
    login_as(admin, ADMIN)
    return admin


def test_logout_ends_the_copied_session(signed_in):
    client, thief = signed_in
    client.get("/logout/")
    assert not is_logged_in(thief)
    assert thief.get("/users/userinfo/").location.endswith("/login/")


def test_password_reset_ends_every_session(app, signed_in):
    client, thief = signed_in
    link = invitations.create_link(user_by_email(HOSPITAL_B), invitations.PASSWORD_RESET, hours=1)
    db.session.commit()
    stranger = app.test_client()
    path = link.split("127.0.0.1:5000")[1]
    response = stranger.post(path, data={"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert not is_logged_in(thief) and not is_logged_in(client)
    # the new password signs in afresh, and the old cookie stays dead
    assert post_login(client, HOSPITAL_B, NEW_PASSWORD).status_code == 302
    assert is_logged_in(client) and not is_logged_in(thief)


def test_totp_reset_ends_every_session(app, signed_in):
    _, thief = signed_in
    user = user_by_email(HOSPITAL_B)
    user.totp_secret, user.totp_enrolled_on = pyotp.random_base32(), dt.datetime.utcnow()
    db.session.commit()
    assert admin_client(app).post(f"/users/reset-totp/{user.id}").status_code == 302
    assert not is_logged_in(thief)


def test_deactivation_ends_every_session_and_reactivation_does_not_revive_it(app, signed_in):
    _, thief = signed_in
    admin = admin_client(app)
    user_id = user_by_email(HOSPITAL_B).id
    response = admin.post(f"/api/v1/users/{user_id}/deactivate", json={"reason": 2, "note": "交代"})
    assert response.status_code == 200
    assert not is_logged_in(thief)
    assert admin.post(f"/api/v1/users/{user_id}/reactivate", json={}).status_code == 200
    assert not is_logged_in(thief)


def test_role_change_ends_every_session(app, signed_in):
    _, thief = signed_in
    user_id = user_by_email(HOSPITAL_B).id
    role = current_app.appbuilder.sm.find_role("OrgAdmin")
    response = admin_client(app).put(f"/api/v1/users/{user_id}", json={"roles": [role.id]})
    assert response.status_code == 200, response.get_json()
    assert not is_logged_in(thief)


def test_other_edits_keep_the_session(app, signed_in):
    _, thief = signed_in
    user_id = user_by_email(HOSPITAL_B).id
    response = admin_client(app).put(f"/api/v1/users/{user_id}", json={"phone": "03-1111-2222"})
    assert response.status_code == 200, response.get_json()
    assert is_logged_in(thief)


def test_log_out_everywhere_from_the_profile(signed_in):
    client, thief = signed_in
    page = client.get("/users/userinfo/").get_data(as_text=True)
    assert "すべての端末からログアウト" in page and 'action="/logout/everywhere"' in page
    response = client.post("/logout/everywhere")
    assert response.status_code == 302 and response.location.endswith("/login/")
    assert not is_logged_in(client) and not is_logged_in(thief)
    assert db.session.query(AuditEvent).filter_by(action="auth.logout_everywhere").count() == 1


def test_revocation_is_per_user(app, signed_in):
    _, thief = signed_in
    other = app.test_client()
    login_as(other, ADMIN)
    other.post("/logout/everywhere")
    assert is_logged_in(thief)


def test_pending_login_is_ended_too(app, client, ctx):
    """A login between the password and the second factor does not survive a reset."""
    assert post_login(client, HOSPITAL_B, DEMO_PASSWORD).location.endswith("/login/enroll")
    user = user_by_email(HOSPITAL_B)
    user.session_generation += 1
    db.session.commit()
    assert client.get("/login/enroll").location.endswith("/login/")
