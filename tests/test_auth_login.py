"""Screen 1: password, TOTP, enrollment, recovery codes, replay, lockout, logout."""
import re
import time

import pyotp
import pytest

from app.extensions import db
from app.models import AuditEvent, RecoveryCode
from app.seeding.seed import DEMO_PASSWORD

from .conftest import HOSPITAL_A, HOSPITAL_B, login_as, user_by_email

BAD = "メールアドレス、またはパスワードが間違っています。"


def post_login(client, email, password=DEMO_PASSWORD):
    return client.post("/login/", data={"email": email, "password": password})


def enroll(client, email=HOSPITAL_A):
    """Password, then enrollment; returns (secret, recovery codes, page)."""
    response = post_login(client, email)
    assert response.status_code == 302 and response.location.endswith("/login/enroll")
    page = client.get("/login/enroll").get_data(as_text=True)
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)
    assert "<svg" in page
    response = client.post("/login/enroll", data={"code": pyotp.TOTP(secret).now()})
    page = response.get_data(as_text=True)
    codes = re.findall(r"<code>([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})</code>", page)
    return secret, codes, page


def next_code(secret):
    """The code of the next time step: valid now (±1 step) and never accepted before."""
    return pyotp.TOTP(secret).at(time.time() + 30)


def is_logged_in(client):
    return client.get("/users/userinfo/").status_code == 200


def test_login_page_has_email_and_password(client):
    page = client.get("/login/").get_data(as_text=True)
    assert 'name="email"' in page and 'name="password"' in page


def test_full_login_with_enrollment_then_totp(client, ctx):
    secret, codes, page = enroll(client)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert is_logged_in(client)
    stored = db.session.query(RecoveryCode).filter_by(user_id=user_by_email(HOSPITAL_A).id).all()
    assert len(stored) == 10 and all(codes[0].replace("-", "") not in r.code_hash for r in stored)
    client.get("/logout/")
    assert not is_logged_in(client)
    response = post_login(client, HOSPITAL_A)
    assert response.location.endswith("/login/totp")
    assert not is_logged_in(client)  # not logged in before the second factor
    response = client.post("/login/totp", data={"code": next_code(secret)})
    assert response.status_code == 302
    assert is_logged_in(client)
    actions = [a for (a,) in db.session.query(AuditEvent.action).order_by(AuditEvent.id)]
    assert actions.count("auth.login") == 2 and "auth.totp_enrolled" in actions


def test_pending_session_reaches_no_screen(client):
    post_login(client, HOSPITAL_A)
    assert client.get("/users/userinfo/").status_code != 200
    assert client.get("/login/totp").status_code == 302  # enroll stage, not totp


def test_wrong_password_and_unknown_email_give_same_message(client):
    one = post_login(client, HOSPITAL_A, "wrong-password-123").get_data(as_text=True)
    two = post_login(client, "nobody@sakura-hp.example.jp").get_data(as_text=True)
    assert BAD in one and BAD in two


def test_inactive_user_message_only_after_correct_password(client, ctx):
    user = user_by_email(HOSPITAL_B)
    user.status, user.active = 9, False
    db.session.commit()
    assert BAD in post_login(client, HOSPITAL_B, "wrong-password-123").get_data(as_text=True)
    assert "利用停止中" in post_login(client, HOSPITAL_B).get_data(as_text=True)


def test_replayed_code_is_refused(client, ctx):
    secret, _, _ = enroll(client)
    client.get("/logout/")
    code = next_code(secret)
    post_login(client, HOSPITAL_A)
    client.post("/login/totp", data={"code": code})
    assert is_logged_in(client)
    client.get("/logout/")
    post_login(client, HOSPITAL_A)
    response = client.post("/login/totp", data={"code": code})
    assert "既に使用されています" in response.get_data(as_text=True)
    assert not is_logged_in(client)


def test_recovery_code_works_once(client, ctx):
    _, codes, _ = enroll(client)
    client.get("/logout/")
    post_login(client, HOSPITAL_A)
    client.post("/login/totp", data={"code": codes[0]})
    assert is_logged_in(client)
    client.get("/logout/")
    post_login(client, HOSPITAL_A)
    client.post("/login/totp", data={"code": codes[0]})
    assert not is_logged_in(client)
    assert db.session.query(AuditEvent).filter_by(action="auth.recovery_code_used").count() == 1


def test_five_bad_codes_lock_until_the_lock_expires(app, client, ctx):
    secret, _, _ = enroll(client)
    client.get("/logout/")
    post_login(client, HOSPITAL_A)
    for _ in range(4):
        assert client.post("/login/totp", data={"code": "000000"}).status_code == 200
    response = client.post("/login/totp", data={"code": "000000"}, follow_redirects=True)
    assert "ロックされています" in response.get_data(as_text=True)
    # locked: the right password gets the generic answer, and a right code is refused
    page = post_login(client, HOSPITAL_A).get_data(as_text=True)
    assert BAD in page and "ロックされています" not in page
    assert client.post("/login/totp", data={"code": next_code(secret)}).status_code == 302
    assert not is_logged_in(client)
    assert db.session.query(AuditEvent).filter_by(action="auth.lockout").count() == 1
    # a short configured lock: expire it by moving locked_until back
    app.config["AUTH_LOCKOUT_MINUTES"], saved = 0, app.config["AUTH_LOCKOUT_MINUTES"]
    try:
        user = user_by_email(HOSPITAL_A)
        user.locked_until = user.locked_until.replace(year=2000)
        db.session.commit()
        post_login(client, HOSPITAL_A)
        client.post("/login/totp", data={"code": next_code(secret)})
        assert is_logged_in(client)
    finally:
        app.config["AUTH_LOCKOUT_MINUTES"] = saved


def test_five_bad_passwords_lock_and_success_resets_counter(client, ctx):
    for _ in range(4):
        post_login(client, HOSPITAL_B, "wrong-password-123")
    db.session.expire_all()
    assert user_by_email(HOSPITAL_B).fail_login_count == 4
    post_login(client, HOSPITAL_B)  # right password: counter kept until the second factor
    post_login(client, HOSPITAL_B, "wrong-password-123")
    db.session.expire_all()
    assert user_by_email(HOSPITAL_B).locked_until is not None
    assert not is_logged_in(client)


def test_locked_account_answers_alike_for_any_password(client, ctx):
    """Silent lockout: guessing during the lock learns nothing, the right password included."""
    for _ in range(5):
        post_login(client, HOSPITAL_B, "wrong-password-123")
    db.session.expire_all()
    assert user_by_email(HOSPITAL_B).locked_until is not None
    strip = lambda r: re.sub(r'(name="csrf_token"|nonce=)[^>]*', "", r.get_data(as_text=True))
    wrong = post_login(client, HOSPITAL_B, "another-wrong-password")
    right = post_login(client, HOSPITAL_B)
    assert wrong.status_code == right.status_code == 200
    assert BAD in strip(right) and "ロック" not in strip(right)
    assert strip(wrong) == strip(right)
    assert not is_logged_in(client)


def test_organization_without_mfa_logs_in_after_password(client, ctx):
    user = user_by_email(HOSPITAL_B)
    user.organization.mfa_required = False
    db.session.commit()
    response = post_login(client, HOSPITAL_B)
    assert response.status_code == 302 and is_logged_in(client)
    db.session.expire_all()
    assert user_by_email(HOSPITAL_B).fail_login_count == 0


def test_login_without_second_factor_marker_is_not_a_login(client, ctx):
    user_id = user_by_email(HOSPITAL_A).id
    with client.session_transaction() as session:
        session["_user_id"] = str(user_id)
        session["_fresh"] = True
    assert not is_logged_in(client)


def test_idle_session_expires(app, client):
    login_as(client, HOSPITAL_A)
    assert is_logged_in(client)
    with client.session_transaction() as session:
        session["_os_seen"] -= app.config["SESSION_IDLE_MINUTES"] * 60 + 1
    assert not is_logged_in(client)


def test_login_rotates_session_and_logout_clears_it(client, ctx):
    with client.session_transaction() as session:
        session["planted"] = "x"
    user = user_by_email(HOSPITAL_B)
    user.organization.mfa_required = False
    db.session.commit()
    post_login(client, HOSPITAL_B)
    with client.session_transaction() as session:
        assert "planted" not in session and session.permanent
    client.get("/logout/")
    with client.session_transaction() as session:
        assert "_user_id" not in session


def test_session_cookie_flags(client):
    response = client.post("/login/", data={"email": HOSPITAL_A, "password": DEMO_PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_jwt_login_api_is_gone(client):
    response = client.post("/api/v1/security/login",
                           json={"username": HOSPITAL_A, "password": DEMO_PASSWORD,
                                 "provider": "db"})
    assert response.status_code in (404, 405)


@pytest.mark.parametrize("email", [HOSPITAL_A])
def test_failures_are_audited_with_ip_and_email_not_password(client, ctx, email):
    post_login(client, email, "wrong-password-123")
    event = db.session.query(AuditEvent).filter_by(action="auth.login_failed").one()
    assert event.actor_email == email and event.ip == "127.0.0.1"
    assert "wrong-password-123" not in str(event.changes)


@pytest.mark.parametrize("next_url", ["/\\evil.example/x", "\\\\evil.example", "/\\/evil.example",
                                      "//evil.example", "https://evil.example/"])
def test_next_after_login_never_leaves_the_site(client, next_url):
    """A browser reads a backslash as a slash (/\\evil.example is //evil.example): such a
    ``next`` sent a logged-in user who followed a link to another site."""
    login_as(client, HOSPITAL_A)
    response = client.get("/login/", query_string={"next": next_url})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert "evil.example" not in location and "\\" not in location
