"""Password strength (zxcvbn on top of the blocklist) and TOTP secrets encrypted at rest
(Fernet, key rotation, the migration converting clear secrets)."""
import contextlib
import stat

import pyotp
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

import config
from app.core import encryption
from app.extensions import db
from app.seeding.seed import DEMO_PASSWORD
from app.services.accounts import invitations
from app.services.accounts.passwords import MIN_STRENGTH, password_error, strength

from .conftest import HOSPITAL_A, user_by_email
from .test_auth_links import first_login_form, temporary_user
from .test_auth_login import enroll, is_logged_in, next_code, post_login

GUESSABLE = "推測されやすいパスワードです"


@pytest.mark.parametrize("password", ["password1234", "123456789012", "abcdefghijkl1",
                                      "asdfghjkl;1234", "sakurasakura12", "aaaabbbbcccc"])
def test_long_but_guessable_passwords_are_refused(app, password):
    with app.test_request_context():
        error = password_error(password)
    assert error is not None and GUESSABLE in error


def test_password_built_on_the_users_own_data_is_refused(app, client, ctx):
    user = temporary_user()  # new@sakura-hp.example.jp, of さくら台総合病院
    password = "sakura-hp.example.jp1"
    assert strength(password) >= MIN_STRENGTH  # fine for someone else...
    link = invitations.create_link(user)
    db.session.commit()
    path = link.split("127.0.0.1:5000")[1]
    page = client.post(path, data=first_login_form(password=password, password_confirm=password))
    assert GUESSABLE in page.get_data(as_text=True)  # ...not for this user
    assert client.post(path, data=first_login_form()).location.endswith("/login/enroll")


def test_guessable_message_is_translated(app, client, ctx):
    link = invitations.create_link(temporary_user())
    db.session.commit()
    client.get("/lang/en")
    path = link.split("127.0.0.1:5000")[1]
    page = client.post(path, data=first_login_form(password="password1234",
                                                   password_confirm="password1234"))
    text_ = page.get_data(as_text=True)
    assert "This password is easy to guess" in text_ and GUESSABLE not in text_


def test_demo_password_and_fixture_passwords_pass_the_policy(app):
    with app.test_request_context():
        for password in (DEMO_PASSWORD, "kawa-no-nagare-2026"):
            assert password_error(password, email=HOSPITAL_A) is None, password


def test_totp_secret_is_stored_encrypted(app, client, ctx):
    secret, _, _ = enroll(client)
    stored = db.session.execute(text("SELECT totp_secret FROM ab_user WHERE email = :e"),
                                {"e": HOSPITAL_A}).scalar()
    assert stored and secret not in stored and stored.startswith("gAAAAA")
    keys = [Fernet(k) for k in app.config["TOTP_ENCRYPTION_KEY"].split(",")]
    assert keys[0].decrypt(stored.encode()).decode() == secret
    db.session.expire_all()
    assert user_by_email(HOSPITAL_A).totp_secret == secret  # clear in Python
    client.get("/logout/")
    post_login(client, HOSPITAL_A)
    client.post("/login/totp", data={"code": next_code(secret)})
    assert is_logged_in(client)


@contextlib.contextmanager
def totp_key(app, value):
    saved = app.config["TOTP_ENCRYPTION_KEY"]
    app.config["TOTP_ENCRYPTION_KEY"] = value
    try:
        yield
    finally:
        app.config["TOTP_ENCRYPTION_KEY"] = saved


def test_key_rotation_re_encrypts_every_secret(app, ctx):
    old = app.config["TOTP_ENCRYPTION_KEY"]
    user = user_by_email(HOSPITAL_A)
    secret = pyotp.random_base32()
    user.totp_secret = secret
    db.session.commit()
    new = Fernet.generate_key().decode()
    runner = app.test_cli_runner()
    with totp_key(app, f"{new},{old}"):
        db.session.expire_all()
        assert user_by_email(HOSPITAL_A).totp_secret == secret  # old key still decrypts
        result = runner.invoke(args=["optiserve", "rotate-totp-key"])
        assert result.exit_code == 0 and "re-encrypted 1 TOTP secrets" in result.output
    with totp_key(app, new):  # the old key dropped
        db.session.expire_all()
        assert user_by_email(HOSPITAL_A).totp_secret == secret
    with totp_key(app, old):  # and the old key no longer opens it
        db.session.expire_all()
        assert user_by_email(HOSPITAL_A).totp_secret is None
    db.session.expire_all()


def test_rotation_reports_secrets_no_key_opens(app, ctx):
    user = user_by_email(HOSPITAL_A)
    user.totp_secret = pyotp.random_base32()
    db.session.commit()
    with totp_key(app, Fernet.generate_key().decode()):
        result = app.test_cli_runner().invoke(args=["optiserve", "rotate-totp-key"])
    assert result.exit_code == 1 and "1 secrets open with none of the keys" in result.output


def test_malformed_key_refuses_to_start():
    from app import create_app
    from config import TestConfig

    class Bad(TestConfig):
        TOTP_ENCRYPTION_KEY = "not-a-fernet-key"

    with pytest.raises(SystemExit, match="Fernet keys"):
        create_app(Bad)


def test_embedded_default_key_is_generated_once_with_mode_0600(tmp_path):
    path = tmp_path / "totp_key"
    key = config.persisted_secret_key(path, make=config.new_fernet_key)
    Fernet(key)  # a valid Fernet key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert config.persisted_secret_key(path, make=config.new_fernet_key) == key
    assert encryption.cipher_for(f"{Fernet.generate_key().decode()}, {key}")
