"""A hospital's security policy applies to a dealer acting for it, screens and API alike.

The IP allow-list was checked against the dealer's own organization only, so a dealer could
work on a hospital's rows from an address the hospital refuses its own staff; a hospital
requiring a second factor was worked on by a dealer whose organization did not. The refusal
names the hospital and lets the dealer go back to its own organization."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.access.sessions import MFA_KEY
from app.extensions import db
from app.models import AuditEvent, Organization
from app.services.accounts.login import second_factor_required

from .conftest import DEALER, delete_dealer_permissions, login_as, user_by_email
from .test_api_keys import bearer, key_for

pytestmark = pytest.mark.usefixtures("empty_queue")
OUTSIDE = "198.51.100.9"
INSIDE = "192.0.2.7"


def org(code: str) -> Organization:
    return db.session.scalars(select(Organization).where(Organization.code == code)).one()


def acting_for(client, code: str, via: str = "test"):
    login_as(client, DEALER)
    with client.session_transaction() as session:
        session[MFA_KEY] = via
    answer = client.post("/dealer/choose", data={"hospital": org(code).id}, environ_base={"REMOTE_ADDR": INSIDE})
    assert answer.status_code == 302


def test_the_hospital_allow_list_applies_to_the_dealer_acting_for_it(client, ctx):
    org("H0001").ip_allowlist = "192.0.2.0/24"
    db.session.commit()
    acting_for(client, "H0001")
    refused = client.get("/upload/", environ_base={"REMOTE_ADDR": OUTSIDE})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 403
    assert "さくら台総合病院のセキュリティ設定により" in page and OUTSIDE in page
    assert 'id="back-to-own"' in page
    api = client.get("/api/v1/uploads/", environ_base={"REMOTE_ADDR": OUTSIDE})
    assert api.status_code == 403 and "さくら台総合病院" in api.get_json()["message"]
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "policy.ip_refused")).first()
    assert event.changes["acting_for"] == "H0001" and event.actor_email == DEALER
    assert client.get("/upload/", environ_base={"REMOTE_ADDR": INSIDE}).status_code == 200
    # another hospital without a list is still open from there, and so is its own organization
    assert client.post("/dealer/choose", data={"hospital": org("H0002").id},
                       environ_base={"REMOTE_ADDR": OUTSIDE}).status_code == 302
    assert client.get("/upload/", environ_base={"REMOTE_ADDR": OUTSIDE}).status_code == 200


def test_the_dealer_switches_back_to_its_own_organization(client, ctx):
    org("H0001").ip_allowlist = "192.0.2.0/24"
    db.session.commit()
    acting_for(client, "H0001")
    assert client.get("/", environ_base={"REMOTE_ADDR": OUTSIDE}).status_code == 403
    back = client.post("/dealer/choose", data={"hospital": 0}, environ_base={"REMOTE_ADDR": OUTSIDE})
    assert back.status_code == 302
    home = client.get("/", environ_base={"REMOTE_ADDR": OUTSIDE}, follow_redirects=True)
    assert home.status_code == 200
    assert "東和メディカルサービス株式会社" in home.get_data(as_text=True)
    # no hospital's rows in its own organization's scope
    listed = client.get("/api/v1/uploads/", environ_base={"REMOTE_ADDR": OUTSIDE})
    assert listed.status_code == 403 and "さくら台総合病院" not in listed.get_json()["message"]
    # the choice holds on the next pages: no hospital screen, and not the hospital's refusal
    upload = client.get("/upload/", environ_base={"REMOTE_ADDR": OUTSIDE})
    assert upload.status_code == 403 and "セキュリティ設定により" not in upload.get_data(as_text=True)
    hospitals = client.get("/dealer/hospitals", environ_base={"REMOTE_ADDR": OUTSIDE}).get_data(as_text=True)
    assert "自社の作業中" in hospitals


def test_a_dealer_key_acting_for_the_hospital_is_refused_outside_its_list(app, ctx):
    # one permission: the key acts for that hospital
    delete_dealer_permissions(hospital_id=org("H0002").id)
    org("H0001").ip_allowlist = "192.0.2.0/24"
    db.session.commit()
    raw = key_for(app, DEALER)
    outside = app.test_client().get("/api/v1/uploads/", headers=bearer(raw), environ_base={"REMOTE_ADDR": OUTSIDE})
    assert outside.status_code == 403
    inside = app.test_client().get("/api/v1/uploads/", headers=bearer(raw), environ_base={"REMOTE_ADDR": INSIDE})
    assert inside.status_code == 200


def test_a_hospital_requiring_a_second_factor_refuses_a_password_only_session(client, ctx):
    dealer_org = org("D0001")
    dealer_org.mfa_required = False
    org("H0002").mfa_required = False
    db.session.commit()
    acting_for(client, "H0001", via="none")
    refused = client.get("/upload/", environ_base={"REMOTE_ADDR": INSIDE})
    assert refused.status_code == 403 and "二要素認証を必須にしています" in refused.get_data(as_text=True)
    assert client.get("/api/v1/uploads/").status_code == 403
    # a hospital that does not require it is open to the same session
    client.post("/dealer/choose", data={"hospital": org("H0002").id})
    assert client.get("/upload/").status_code == 200
    # the next login asks the dealer for the second factor (enrollment) because of H0001
    assert second_factor_required(user_by_email(DEALER))
    org("H0001").mfa_required = False
    db.session.commit()
    assert not second_factor_required(user_by_email(DEALER))


def test_the_refusal_is_in_english_on_request(client, ctx):
    org("H0001").ip_allowlist = "192.0.2.0/24"
    db.session.commit()
    acting_for(client, "H0001")
    client.get("/lang/en")
    page = client.get("/upload/", environ_base={"REMOTE_ADDR": OUTSIDE}).get_data(as_text=True)
    assert "security policy of さくら台総合病院" in page and "Back to your own organization" in page
