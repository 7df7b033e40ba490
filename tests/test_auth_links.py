"""First login by invitation and self-service password reset."""
import datetime as dt
import re

import pyotp
import pytest

from app.extensions import db
from app.models import AuditEvent, Invitation, Organization, User, UserStatus
from app.seeding.seed import DEMO_PASSWORD
from app.services.accounts import invitations, notices

from .conftest import ADMIN, HOSPITAL_A, ORGADMIN_A, login_as, user_by_email
from .test_auth_login import post_login

NEW_PASSWORD = "kawa-no-nagare-2026"


def outbox(app):
    """Messages the embedded mail transport wrote, oldest first."""
    from app.infra.mail import outbox_messages

    with app.app_context():
        return outbox_messages()


def temporary_user(email="new@sakura-hp.example.jp") -> User:
    org = db.session.query(Organization).filter_by(code="H0001").one()
    user = User(first_name="新人 太郎", last_name="", username=email, email=email, active=True,
                status=UserStatus.temporary, organization=org)
    db.session.add(user)
    db.session.commit()
    return user


def first_login_form(**overrides):
    data = {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD,
            "first_name": "新人 太郎", "phone": "043-000-0000", "mobile": ""}
    data.update(overrides)
    return data


def test_invitation_mail_is_sent_on_provisional_registration(app, client, ctx):
    login_as(client, ORGADMIN_A)
    before = len(outbox(app))
    role = app.appbuilder.sm.find_role("HospitalUser")
    org = db.session.query(Organization).filter_by(code="H0001").one()
    client.post("/users/add", data={"first_name": "招待 花子", "email": "invite@sakura-hp.example.jp",
                                    "organization": str(org.id), "roles": [str(role.id)]})
    messages = outbox(app)
    assert len(messages) == before + 2  # the user's mail and the registering admin's copy
    invitation, copy = messages[-2:]
    body = invitation.get_body().get_content()
    assert "/first-login/" in body and "仮登録" in body and "An OptiServe account" not in body
    assert invitation["To"] == "invite@sakura-hp.example.jp"
    assert copy["To"] == "orgadmin@sakura-hp.example.jp" and "/first-login/" not in copy.get_content()


def test_first_login_sets_password_info_and_enrolls(client, ctx):
    user = temporary_user()
    link = invitations.create_link(user)
    db.session.commit()
    path = link.split("127.0.0.1:5000")[1]
    assert client.get(path).status_code == 200
    weak = client.post(path, data=first_login_form(password="qwerty123456",
                                                   password_confirm="qwerty123456"))
    assert "よく使われている" in weak.get_data(as_text=True)
    short = client.post(path, data=first_login_form(password="Ab1!short", password_confirm="Ab1!short"))
    assert "12文字以上" in short.get_data(as_text=True)
    response = client.post(path, data=first_login_form())
    assert response.location.endswith("/login/enroll")
    page = client.get("/login/enroll").get_data(as_text=True)
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)
    client.post("/login/enroll", data={"code": pyotp.TOTP(secret).now()})
    assert client.get("/users/userinfo/").status_code == 200
    db.session.expire_all()
    user = user_by_email("new@sakura-hp.example.jp")
    assert user.status == UserStatus.active and user.phone == "043-000-0000"
    assert user.password and NEW_PASSWORD not in user.password
    # the link worked once
    client.get("/logout/")
    assert client.get(path).status_code == 410


def test_expired_invitation_is_refused(client, ctx):
    user = temporary_user()
    link = invitations.create_link(user)
    db.session.query(Invitation).update({"expires_at": dt.datetime.utcnow() - dt.timedelta(minutes=1)})
    db.session.commit()
    path = link.split("127.0.0.1:5000")[1]
    assert client.get(path).status_code == 410
    assert client.post(path, data=first_login_form()).status_code == 410
    db.session.expire_all()
    assert user_by_email("new@sakura-hp.example.jp").status == UserStatus.temporary


def test_temporary_user_cannot_log_in_by_password(client, ctx):
    user = temporary_user()
    user.password = app_hash("some-long-password-x")
    db.session.commit()
    page = post_login(client, "new@sakura-hp.example.jp", "some-long-password-x").get_data(as_text=True)
    assert "仮登録状態です" in page


def app_hash(password):
    from flask import current_app

    return current_app.appbuilder.sm.hash_password(password)


def queued_jobs(app, function: str) -> list:
    from app.infra.queue import get_queue

    with app.app_context():
        return [job for job in get_queue().get_jobs() if job.func_name == function]


def run_queued(app, function: str) -> list:
    """Run (in this process, as the worker would) and remove the queued jobs of ``function``;
    returns their results."""
    results = []
    for job in queued_jobs(app, function):
        with app.app_context():
            results.append(job.func(*job.args))
        job.delete()
    return results


@pytest.fixture()
def no_queued_mail(app):
    for function in (notices.RESET_JOB, notices.LOCKOUT_JOB):
        for job in queued_jobs(app, function):
            job.delete()


def request_reset(client, email=HOSPITAL_A):
    return client.post("/password-reset/", data={"email": email}, follow_redirects=True)


def reset_links(messages) -> list[str]:
    return [re.search(r"http://127.0.0.1:5000(/password-reset/\S+)", m.get_body().get_content()).group(1)
            for m in messages]


def test_password_reset_same_response_link_once_old_password_dead(app, client, ctx, no_queued_mail):
    before = len(outbox(app))
    unknown = request_reset(client, "ghost@sakura-hp.example.jp")
    known = request_reset(client, HOSPITAL_A)
    assert unknown.status_code == known.status_code == 200
    strip = lambda r: re.sub(r'(name="csrf_token"|nonce=)[^>]*', "", r.get_data(as_text=True))
    assert strip(unknown) == strip(known)
    # the requests sent nothing themselves: each queued a job, with the user's id when known
    assert len(outbox(app)) == before
    jobs = queued_jobs(app, notices.RESET_JOB)
    assert [job.args for job in jobs] == [(None,), (user_by_email(HOSPITAL_A).id,)]
    assert run_queued(app, notices.RESET_JOB) == ["not sent", "sent"]
    messages = outbox(app)
    assert len(messages) == before + 1 and messages[-1]["To"] == HOSPITAL_A
    link = reset_links(messages[-1:])[0]
    response = client.post(link, data={"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert client.get(link).status_code == 410  # once
    db.session.expire_all()
    invitation = db.session.query(Invitation).filter_by(purpose="password_reset").one()
    assert invitation.expires_at - invitation.created_on <= dt.timedelta(hours=1, seconds=5)
    assert "間違っています" in post_login(client, HOSPITAL_A, DEMO_PASSWORD).get_data(as_text=True)
    assert post_login(client, HOSPITAL_A, NEW_PASSWORD).status_code == 302
    assert db.session.query(AuditEvent).filter_by(action="auth.password_reset").count() == 1


def test_new_reset_link_invalidates_older_ones(app, client, ctx, no_queued_mail):
    before = len(outbox(app))
    request_reset(client)
    run_queued(app, notices.RESET_JOB)
    request_reset(client)
    run_queued(app, notices.RESET_JOB)
    first, second = reset_links(outbox(app)[before:])
    assert first != second
    assert client.get(first).status_code == 410
    assert client.post(first, data={"password": NEW_PASSWORD,
                                    "password_confirm": NEW_PASSWORD}).status_code == 410
    assert client.get(second).status_code == 200
    assert client.post(second, data={"password": NEW_PASSWORD,
                                     "password_confirm": NEW_PASSWORD}).status_code == 302


def test_at_most_three_reset_mails_per_address_per_hour(app, client, ctx, no_queued_mail):
    before = len(outbox(app))
    answers = [request_reset(client) for _ in range(4)]
    strip = lambda r: re.sub(r'(name="csrf_token"|nonce=)[^>]*', "", r.get_data(as_text=True))
    assert len({strip(answer) for answer in answers}) == 1  # the 4th answers the same
    assert run_queued(app, notices.RESET_JOB) == ["sent", "sent", "sent", "not sent"]
    assert len(outbox(app)) == before + 3
    assert db.session.query(AuditEvent).filter_by(
        action="auth.password_reset_throttled").count() == 1
    # an hour later the address may ask again
    db.session.query(Invitation).update(
        {"created_on": Invitation.created_on - dt.timedelta(hours=1, minutes=1)})
    db.session.commit()
    request_reset(client)
    assert run_queued(app, notices.RESET_JOB) == ["sent"]


def test_locked_account_owner_is_mailed_by_a_job(app, client, ctx, no_queued_mail):
    before = len(outbox(app))
    for _ in range(app.config["AUTH_LOCKOUT_ATTEMPTS"]):
        post_login(client, HOSPITAL_A, "wrong-password-123")
    assert len(outbox(app)) == before  # not from the request
    jobs = queued_jobs(app, notices.LOCKOUT_JOB)
    assert [job.args for job in jobs] == [(user_by_email(HOSPITAL_A).id,)]
    run_queued(app, notices.LOCKOUT_JOB)
    messages = outbox(app)
    assert len(messages) == before + 1 and messages[-1]["To"] == HOSPITAL_A
    assert "ロック" in messages[-1].get_body().get_content()


def test_admin_resets_totp_audited_and_orgadmin_is_scoped(app, client, ctx):
    user = user_by_email(HOSPITAL_A)
    user.totp_secret, user.totp_enrolled_on = pyotp.random_base32(), dt.datetime.utcnow()
    db.session.commit()
    other = user_by_email("user@minato-hp.example.jp")
    login_as(client, ORGADMIN_A)
    assert client.post(f"/users/reset-totp/{other.id}").status_code == 404
    assert client.post(f"/users/reset-totp/{user.id}").status_code == 302
    db.session.expire_all()
    assert user_by_email(HOSPITAL_A).totp_secret is None
    event = db.session.query(AuditEvent).filter_by(action="auth.totp_reset").one()
    assert event.actor_email == ORGADMIN_A
    login_as(client, ADMIN)
    assert client.post(f"/users/reset-totp/{other.id}").status_code == 302
    # nobody gets a password field on the user screens
    assert 'name="password"' not in client.get(f"/users/edit/{user.id}").get_data(as_text=True)
