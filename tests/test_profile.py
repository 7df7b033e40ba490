"""Issue 14 item 8, the profile page: password change (current password required, the
password rules, audited, every other session ended, this one kept), name and phone, new
recovery codes (shown once, stored hashed, old ones dead) and the "log out everywhere" link."""
from __future__ import annotations

import re

import pyotp

from app.extensions import db
from app.models import AuditEvent, RecoveryCode
from app.seeding.seed import DEMO_PASSWORD
from app.services.accounts import totp
from app.services.accounts.login import Outcome, check_password

from .conftest import DEALER, HOSPITAL_A, HOSPITAL_B, login_as, user_by_email
from .test_auth_login import is_logged_in, post_login
from .test_auth_sessions import copy_cookies

NEW_PASSWORD = "sora-to-umi-no-aida-77"


def actions(action):
    return db.session.query(AuditEvent).filter_by(action=action).count()


def change(client, current=DEMO_PASSWORD, new=NEW_PASSWORD, confirm=None):
    return client.post("/profile/password", data={
        "current_password": current, "password": new,
        "password_confirm": new if confirm is None else confirm})


def test_profile_page_shows_the_forms_and_log_out_everywhere(client, ctx):
    login_as(client, HOSPITAL_A)
    page = client.get("/users/userinfo/").get_data(as_text=True)
    for marker in ('action="/profile/password"', 'action="/profile/details"', 'id="logout-everywhere"',
                   'name="current_password"', "/logout/everywhere"):
        assert marker in page
    assert client.get("/profile/").status_code == 200


def test_profile_needs_a_login(client):
    assert client.get("/profile/").location.endswith("/login/")
    assert client.post("/profile/password", data={}).location.endswith("/login/")


def test_wrong_current_password_is_refused_and_counted(client, ctx):
    login_as(client, HOSPITAL_A)
    response = change(client, current="not-my-password-at-all")
    assert response.status_code == 400
    assert "現在のパスワードが正しくありません" in response.get_data(as_text=True)
    db.session.expire_all()
    user = user_by_email(HOSPITAL_A)
    assert user.fail_login_count == 1
    assert check_password(HOSPITAL_A, DEMO_PASSWORD)[0] is Outcome.ok
    assert actions("auth.password_changed") == 0


def test_password_rules_apply_and_the_input_is_kept(client, ctx):
    login_as(client, HOSPITAL_A)
    response = change(client, new="password1234")
    assert response.status_code == 400
    assert "推測されやすい" in response.get_data(as_text=True) or "よく使われている" in response.get_data(as_text=True)
    response = change(client, new=NEW_PASSWORD, confirm="something-else-entirely")
    assert response.status_code == 400 and "確認用のパスワードが一致しません" in response.get_data(as_text=True)
    db.session.expire_all()
    assert check_password(HOSPITAL_A, DEMO_PASSWORD)[0] is Outcome.ok


def test_password_change_ends_other_sessions_keeps_this_one(app, client, ctx):
    user = user_by_email(HOSPITAL_B)
    user.organization.mfa_required = False
    db.session.commit()
    assert post_login(client, HOSPITAL_B).status_code == 302
    other = app.test_client()
    copy_cookies(client, other)
    assert is_logged_in(other)

    response = change(client)
    assert response.status_code == 302 and response.location.endswith("/profile/")
    assert is_logged_in(client)
    assert not is_logged_in(other)
    db.session.expire_all()
    assert actions("auth.password_changed") == 1
    assert check_password(HOSPITAL_B, DEMO_PASSWORD)[0] is Outcome.bad_credentials
    assert check_password(HOSPITAL_B, NEW_PASSWORD)[0] is Outcome.ok


def test_name_and_phone_are_saved_and_audited(client, ctx):
    login_as(client, HOSPITAL_A)
    response = client.post("/profile/details", data={
        "first_name": "桜 花子", "phone": "03-1234-5678", "mobile": ""})
    assert response.status_code == 302
    db.session.expire_all()
    user = user_by_email(HOSPITAL_A)
    assert (user.first_name, user.phone, user.mobile) == ("桜 花子", "03-1234-5678", None)
    event = db.session.query(AuditEvent).filter_by(action="user.profile_update").one()
    assert event.changes["first_name"][1] == "桜 花子"

    response = client.post("/profile/details", data={"first_name": "桜 花子", "phone": "abc", "mobile": ""})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "電話番号は数字とハイフンで入力してください" in page and 'value="abc"' in page
    response = client.post("/profile/details", data={"first_name": "桜 花子", "phone": "", "mobile": ""})
    assert response.status_code == 400 and "いずれかを入力してください" in response.get_data(as_text=True)


def test_recovery_codes_regenerated_shown_once_and_old_ones_dead(client, ctx):
    user = user_by_email(HOSPITAL_A)
    secret = totp.new_secret()
    old_codes = totp.enroll(user, secret, totp.current_step())
    db.session.commit()
    login_as(client, HOSPITAL_A)
    assert "未使用の予備コード: 10 個" in client.get("/profile/").get_data(as_text=True)
    assert client.post("/profile/recovery-codes", data={"recovery_password": "wrong-one-here"}).status_code == 400
    response = client.post("/profile/recovery-codes", data={"recovery_password": DEMO_PASSWORD})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="recovery-codes"' in page
    db.session.expire_all()
    stored = [row.code_hash for row in db.session.query(RecoveryCode).filter_by(user_id=user.id)]
    assert len(stored) == 10
    new_codes = re.findall(r"<code>([a-z0-9-]{14})</code>", page)
    assert len(new_codes) == 10 and not any(code in page for code in old_codes)
    assert all(totp.recovery_hash(code) in stored for code in new_codes)
    assert not any(code in " ".join(stored) for code in new_codes)  # hashed, never in clear
    user = user_by_email(HOSPITAL_A)
    assert not totp.use_recovery_code(user, old_codes[0])
    assert totp.use_recovery_code(user, new_codes[0])
    assert not totp.use_recovery_code(user, new_codes[0])
    assert actions("auth.recovery_codes_regenerated") == 1
    assert pyotp.TOTP(secret)  # the authenticator itself is unchanged
    assert user_by_email(HOSPITAL_A).totp_secret == secret


def test_without_an_authenticator_there_is_nothing_to_regenerate(client, ctx):
    login_as(client, HOSPITAL_A)
    response = client.post("/profile/recovery-codes", data={"recovery_password": DEMO_PASSWORD})
    assert response.status_code == 400
    assert db.session.query(RecoveryCode).count() == 0


def test_dealer_reaches_its_profile_before_choosing_a_hospital(client, ctx):
    login_as(client, DEALER)
    assert client.get("/profile/").status_code == 200
    assert client.get("/users/userinfo/").status_code == 200
