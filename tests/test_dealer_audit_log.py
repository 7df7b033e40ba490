"""A dealer's write on a hospital's data is in the hospital's audit log, naming the dealer.

The row of a dealer's API-key write went to the dealer's own organization's log only, so the
hospital's administrators never saw a key of another company write on their data; and the
rows that did reach the hospital's log (the upload itself, a ledger change) named the dealer's
user but not its company. Now the hospital's log has the key's write too, every row of a
dealer's work on the hospital's data names the dealer's organization, and the dealer's own
log keeps its key's write, naming the hospital."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Organization
from app.services.uploads.records import default_month

from .conftest import DEALER, HOSPITAL_A, ORGADMIN_A, delete_dealer_permissions, login_as
from .ingest_helpers import LEDGER_HEADER, csv_bytes, ledger_rows
from .test_api_keys import _upload, key_for
from .test_dealer_hospital_policy import acting_for

pytestmark = pytest.mark.usefixtures("empty_queue")
DEALER_NAMED = "東和メディカルサービス株式会社（D0001）"


def org(code: str) -> Organization:
    return db.session.scalars(select(Organization).where(Organization.code == code)).one()


def events(action: str) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)
                                   .order_by(AuditEvent.id)))


def dealer_key_for_h0001(app) -> str:
    """A key of the dealer holding one permission (H0001, level 3): the key acts for it."""
    delete_dealer_permissions(hospital_id=org("H0002").id)
    db.session.commit()
    return key_for(app, DEALER)


def test_a_dealer_key_write_is_in_the_hospital_log_and_the_dealer_log(app, ctx):
    raw = dealer_key_for_h0001(app)
    response = _upload(app.test_client(), raw, f"{default_month():%Y-%m}")
    assert response.status_code == 201, response.get_json()
    hospital, dealer_org = org("H0001"), org("D0001")
    writes = {event.organization_id: event for event in events("api_key.write")}
    assert set(writes) == {hospital.id, dealer_org.id}
    in_hospital, in_dealer = writes[hospital.id], writes[dealer_org.id]
    assert in_hospital.actor_email == in_dealer.actor_email == DEALER
    assert in_hospital.changes["dealer_organization"] == DEALER_NAMED
    assert in_hospital.changes["method"] == "POST" and in_hospital.changes["status"] == 201
    assert in_dealer.changes["acting_for"] == "H0001" and "dealer_organization" not in in_dealer.changes
    # the upload's own row is the hospital's, and names the dealer's company too
    accepted = events("upload.accepted")[-1]
    assert accepted.organization_id == hospital.id and accepted.changes["dealer_organization"] == DEALER_NAMED


def test_the_hospital_administrator_sees_the_dealer_write_on_the_audit_screen(app, client, ctx):
    raw = dealer_key_for_h0001(app)
    assert _upload(app.test_client(), raw, f"{default_month():%Y-%m}").status_code == 201
    row = next(e for e in events("api_key.write") if e.organization_id == org("H0001").id)
    dealer_row = next(e for e in events("api_key.write") if e.organization_id == org("D0001").id)
    login_as(client, ORGADMIN_A)
    listed = client.get("/audit/list/").get_data(as_text=True)
    assert "APIキーによる更新" in listed and DEALER in listed
    shown = client.get(f"/audit/show/{row.id}")
    assert shown.status_code == 200 and DEALER_NAMED in shown.get_data(as_text=True)
    # the dealer's own row stays out of the hospital's reach
    assert client.get(f"/audit/show/{dealer_row.id}").status_code == 404


def test_a_dealer_session_write_names_the_dealer_in_the_hospital_log(client, ctx):
    acting_for(client, "H0001")
    data = {"month": f"{default_month():%Y-%m}", "file_type": "1",
            "file": (io.BytesIO(csv_bytes([LEDGER_HEADER] + ledger_rows(3))), "ledger.csv")}
    response = client.post("/api/v1/uploads/", data=data, content_type="multipart/form-data",
                           headers={"Origin": "http://localhost"}, environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert response.status_code == 201, response.get_json()
    accepted = events("upload.accepted")[-1]
    assert accepted.organization_id == org("H0001").id and accepted.actor_email == DEALER
    assert accepted.changes["dealer_organization"] == DEALER_NAMED
    assert events("api_key.write") == []  # no key: no key row


def test_a_hospital_key_write_is_one_row_without_a_dealer(app, ctx):
    raw = key_for(app, HOSPITAL_A)
    assert _upload(app.test_client(), raw, f"{default_month():%Y-%m}").status_code == 201
    writes = events("api_key.write")
    assert len(writes) == 1 and writes[0].organization_id == org("H0001").id
    assert "dealer_organization" not in writes[0].changes and "acting_for" not in writes[0].changes
