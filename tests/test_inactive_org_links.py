"""A user of a deactivated organization can neither use a first-login or reset link nor be
mailed one.

Requests are refused after login anyway (app.access.request_policy), but the links still set
a password (and, at the first login, activated the account): the password then waited for a
reactivation, and the page told the holder of the link that the account was alive. The link
answers as an invalid one, and the reset request as for an unknown address."""
from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.models import Invitation, Organization, UserStatus
from app.services.accounts import invitations, notices

from .conftest import HOSPITAL_A, user_by_email
from .test_auth_links import (
    NEW_PASSWORD,
    first_login_form,
    outbox,
    queued_jobs,
    request_reset,
    run_queued,
    temporary_user,
)

pytestmark = pytest.mark.usefixtures("empty_queue")


def deactivate_hospital() -> None:
    db.session.query(Organization).filter_by(code="H0001").one().is_active = False
    db.session.commit()


def page(response) -> str:
    return re.sub(r'(name="csrf_token"|nonce=)[^>]*', "", response.get_data(as_text=True))


def path_of(link: str) -> str:
    return link.split("127.0.0.1:5000")[1]


def test_a_first_login_link_of_a_deactivated_organization_is_an_invalid_link(client, ctx):
    user = temporary_user()
    path = path_of(invitations.create_link(user))
    db.session.commit()
    deactivate_hospital()
    invalid = client.get("/first-login/not-a-token")
    shown = client.get(path)
    assert shown.status_code == invalid.status_code == 410
    assert page(shown) == page(invalid) and "このリンクは無効か、有効期限が切れています。" in page(shown)
    assert "new@sakura-hp.example.jp" not in page(shown)
    posted = client.post(path, data=first_login_form())
    assert posted.status_code == 410
    db.session.expire_all()
    user = user_by_email("new@sakura-hp.example.jp")
    assert user.status == UserStatus.temporary and not user.password
    assert db.session.query(Invitation).filter_by(user_id=user.id).one().used_at is None


def test_a_reset_link_of_a_deactivated_organization_is_an_invalid_link(client, ctx):
    user = user_by_email(HOSPITAL_A)
    password_before = user.password
    path = path_of(invitations.create_link(user, invitations.PASSWORD_RESET, hours=1))
    db.session.commit()
    deactivate_hospital()
    invalid = client.get("/password-reset/not-a-token")
    shown = client.get(path)
    assert shown.status_code == invalid.status_code == 410 and page(shown) == page(invalid)
    posted = client.post(path, data={"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert posted.status_code == 410
    db.session.expire_all()
    assert user_by_email(HOSPITAL_A).password == password_before


def test_no_reset_mail_for_a_deactivated_organization_and_the_unknown_answer(app, client, ctx):
    deactivate_hospital()
    before = len(outbox(app))
    unknown = request_reset(client, "ghost@sakura-hp.example.jp")
    stopped = request_reset(client, HOSPITAL_A)
    assert unknown.status_code == stopped.status_code == 200 and page(unknown) == page(stopped)
    assert len(queued_jobs(app, notices.RESET_JOB)) == 2  # the same work for both requests
    assert run_queued(app, notices.RESET_JOB) == ["not sent", "not sent"]
    assert len(outbox(app)) == before
    user_id = user_by_email(HOSPITAL_A).id
    assert db.session.query(Invitation).filter_by(user_id=user_id, purpose="password_reset").count() == 0
