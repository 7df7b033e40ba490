"""A password-reset or first-login link stops working when the user's e-mail address or
password changes.

Links are random tokens whose stored hash names the user only: a reset link mailed to the
old address kept working after an admin changed the address (the old mailbox, perhaps a
leaver's forwarded one, could still take the account), and after a password change."""
from __future__ import annotations

import pytest

from app.extensions import db
from app.seeding.seed import DEMO_PASSWORD
from app.services.accounts import invitations, notices

from .conftest import ADMIN, HOSPITAL_A, ORGADMIN_A, login_as, user_by_email
from .test_auth_links import (
    NEW_PASSWORD,
    first_login_form,
    no_queued_mail,  # noqa: F401 (fixture)
    outbox,
    request_reset,
    reset_links,
    run_queued,
    temporary_user,
)

pytestmark = pytest.mark.usefixtures("no_queued_mail")
ORIGIN = {"Origin": "http://localhost"}
OTHER_PASSWORD = "kumo-no-ue-no-shiro-2026"


def mailed_reset_link(app, client) -> str:
    before = len(outbox(app))
    request_reset(client)
    run_queued(app, notices.RESET_JOB)
    return reset_links(outbox(app)[before:])[0]


def set_new_password(client, link):
    return client.post(link, data={"password": OTHER_PASSWORD, "password_confirm": OTHER_PASSWORD})


def test_an_admin_changing_the_address_ends_the_reset_link(app, client, ctx):
    link = mailed_reset_link(app, client)
    assert client.get(link).status_code == 200
    admin = app.test_client()
    login_as(admin, ADMIN)
    user = user_by_email(HOSPITAL_A)
    user_id, password_before = user.id, user.password
    answer = admin.put(f"/api/v1/users/{user_id}", json={"email": "moved@sakura-hp.example.jp"}, headers=ORIGIN)
    assert answer.status_code == 200, answer.get_json()
    assert client.get(link).status_code == 410
    assert set_new_password(client, link).status_code == 410
    db.session.expire_all()
    assert user_by_email("moved@sakura-hp.example.jp").password == password_before


def test_a_name_change_keeps_the_reset_link(app, client, ctx):
    link = mailed_reset_link(app, client)
    admin = app.test_client()
    login_as(admin, ADMIN)
    user_id = user_by_email(HOSPITAL_A).id
    assert admin.put(f"/api/v1/users/{user_id}", json={"first_name": "佐藤 三郎"},
                     headers=ORIGIN).status_code == 200
    assert client.get(link).status_code == 200


def test_changing_the_password_ends_the_reset_link(app, client, ctx):
    link = mailed_reset_link(app, client)
    owner = app.test_client()
    login_as(owner, HOSPITAL_A)
    changed = owner.post("/profile/password", data={
        "current_password": DEMO_PASSWORD, "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert changed.status_code in (200, 302)
    assert client.get(link).status_code == 410
    assert set_new_password(client, link).status_code == 410


def test_changing_the_address_of_an_invited_user_ends_its_first_login_link(app, client, ctx):
    user = temporary_user()
    link = invitations.create_link(user, created_by=user_by_email(ORGADMIN_A))
    db.session.commit()
    path = link.split("127.0.0.1:5000", 1)[-1]
    assert client.get(path).status_code == 200
    user.email = user.username = "typo-fixed@sakura-hp.example.jp"
    db.session.commit()
    assert client.get(path).status_code == 410
    assert client.post(path, data=first_login_form()).status_code == 410
    db.session.expire_all()
    assert user_by_email("typo-fixed@sakura-hp.example.jp").password is None


def test_a_deactivation_ends_the_links_for_good(app, client, ctx):
    """A link was dead only while the user was stopped: reactivating it revived the link."""
    user = temporary_user()
    link = invitations.create_link(user, created_by=user_by_email(ORGADMIN_A))
    db.session.commit()
    path = link.split("127.0.0.1:5000", 1)[-1]
    reset_link = mailed_reset_link(app, client)
    admin = app.test_client()
    login_as(admin, ADMIN)
    for user_id in (user.id, user_by_email(HOSPITAL_A).id):
        assert admin.post(f"/api/v1/users/{user_id}/deactivate", json={"reason": 1, "note": "誤登録"},
                          headers=ORIGIN).status_code == 200
        assert admin.post(f"/api/v1/users/{user_id}/reactivate", json={}, headers=ORIGIN).status_code == 200
    assert client.get(path).status_code == 410
    assert client.get(reset_link).status_code == 410
