"""What a dealer acting for a hospital may not do: administer it with its own OrgAdmin role, or
act for a hospital that was deactivated.

Acting for a hospital makes that hospital the row scope. The OrgAdmin role's screens (users,
audit log, organization profile, API keys) are meant for the dealer's own organization; with
the hospital as scope they opened the *hospital's* users: a dealer of any level could reset a
hospital user's second factor, or invite a hospital administrator and read the first-login
link on its own screen. While acting, only the DealerUser role counts
(app.access.scope.roles_in_effect).
"""
from __future__ import annotations

import pytest
from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Organization, User

from .conftest import DEALER, HOSPITAL_A, login_as, user_by_email

pytestmark = pytest.mark.usefixtures("empty_queue")


def make_dealer_orgadmin() -> None:
    dealer = user_by_email(DEALER)
    dealer.roles.append(current_app.appbuilder.sm.find_role("OrgAdmin"))
    db.session.commit()


def hospital(code: str) -> Organization:
    return db.session.scalars(select(Organization).where(Organization.code == code)).one()


def test_acting_dealer_cannot_administer_the_hospital(client, ctx):
    make_dealer_orgadmin()
    sakura = hospital("H0001")
    victim = user_by_email(HOSPITAL_A)
    victim_id, generation = victim.id, victim.session_generation
    login_as(client, DEALER)
    assert client.post("/dealer/choose", data={"hospital": sakura.id}).status_code == 302

    for url in ("/users/list/", f"/users/show/{victim_id}", "/users/export.csv", "/users/add",
                "/audit/list/", "/organizations/list/", f"/organizations/edit/{sakura.id}"):
        response = client.get(url)
        assert response.status_code == 403, url
        assert HOSPITAL_A not in response.get_data(as_text=True), url
    assert client.get("/api/v1/users/").status_code == 403
    assert client.post(f"/users/reset-totp/{victim_id}").status_code == 403
    invited = client.post("/users/add", data={
        "first_name": "侵入 者", "email": "intruder@sakura-hp.example.jp",
        "organization": sakura.id, "roles": [current_app.appbuilder.sm.find_role("OrgAdmin").id],
    })
    assert invited.status_code == 403
    assert client.put(f"/api/v1/users/{victim_id}", json={"first_name": "X"}).status_code == 403

    db.session.expire_all()
    assert user_by_email(HOSPITAL_A).session_generation == generation  # no TOTP reset ended it
    assert user_by_email(HOSPITAL_A).first_name != "X"
    assert db.session.scalars(select(User).where(User.email == "intruder@sakura-hp.example.jp")).first() is None
    assert not db.session.scalars(select(AuditEvent).where(AuditEvent.action == "auth.totp_reset")).first()
    # the menu does not offer the administration screens either
    page = client.get("/reports/").get_data(as_text=True)
    assert "/users/list/" not in page and "/audit/list/" not in page


def test_dealer_orgadmin_still_administers_its_own_organization_before_choosing(client, ctx):
    """With two hospitals and none chosen, the dealer acts for nobody: its own organization's
    users are its OrgAdmin scope as before."""
    make_dealer_orgadmin()
    login_as(client, DEALER)
    response = client.get("/api/v1/users/")
    assert response.status_code == 200
    emails = {row["email"] for row in response.get_json()["result"]}
    assert DEALER in emails and HOSPITAL_A not in emails


def test_a_deactivated_hospital_is_no_longer_acted_for(client, ctx):
    """A hospital the masters push deactivated refuses its own users; a dealer acting for it
    kept uploading to it and reading its ledger."""
    sakura = hospital("H0001")
    sakura.is_active = False
    db.session.commit()
    login_as(client, DEALER)
    assert client.post("/dealer/choose", data={"hospital": sakura.id}).status_code == 404
    # the dealer's one remaining hospital (みなと, level 1) is the one it acts for now
    page = client.get("/upload/").get_data(as_text=True)
    assert "さくら台総合病院" not in page and "みなと中央病院" in page
    assert client.get(f"/ledger/?hospital_id={sakura.id}").status_code in (403, 404)
