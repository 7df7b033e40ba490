"""An organization's security policy (MFA required, allowed e-mail domains, IP allow-list) is
set by an Admin, not by the Operator role (DESIGN §2: "operator staff … no user or security
administration"). The Operator role edits organizations (rank counts, addresses) but could
switch a hospital's MFA off, widen its e-mail domains or drop its IP allow-list."""
from __future__ import annotations

from app.extensions import db

from .conftest import ADMIN, OPERATOR, login_as
from .test_organizations import form_of, org


def test_operator_cannot_change_the_security_policy(client, ctx):
    login_as(client, OPERATOR)
    hospital = org("H0001")
    page = client.get(f"/organizations/edit/{hospital.id}").get_data(as_text=True)
    assert "この項目は管理者（SMDS）のみ変更できます" in page
    data = form_of(hospital, phone="043-999-0000", allowed_email_domains="attacker.example",
                   ip_allowlist="198.51.100.0/24")
    data.pop("mfa_required", None)  # unticked: MFA off
    response = client.post(f"/organizations/edit/{hospital.id}", data=data, follow_redirects=True)
    assert "組織の情報を保存しました。" in response.get_data(as_text=True)
    db.session.expire_all()
    saved = org("H0001")
    assert saved.phone == "043-999-0000"  # the rest of the form is saved
    assert saved.mfa_required is True
    assert saved.allowed_email_domains == "sakura-hp.example.jp"
    assert not saved.ip_allowlist


def test_operator_creates_an_organization_with_the_default_policy(client, ctx):
    login_as(client, OPERATOR)
    client.post("/organizations/add", data={
        "kind": "hospital", "code": "H0100", "name": "テスト病院", "postal_code": "123-4567",
        "prefecture": "東京都", "city": "港区", "address_line1": "1-1",
        "allowed_email_domains": "attacker.example", "ip_allowlist": "198.51.100.0/24",
        "report_rank_count": "5", "analysis_level": "1", "manufacturer_selection_count": "5",
    })
    created = org("H0100")
    assert (created.mfa_required, created.allowed_email_domains, created.ip_allowlist) == (True, None, None)


def test_admin_changes_the_security_policy(client, ctx):
    login_as(client, ADMIN)
    hospital = org("H0001")
    data = form_of(hospital, allowed_email_domains="sakura-hp.example.jp\nsakura.example")
    data.pop("mfa_required", None)
    client.post(f"/organizations/edit/{hospital.id}", data=data)
    db.session.expire_all()
    assert org("H0001").mfa_required is False
    assert org("H0001").allowed_email_domains.split() == ["sakura-hp.example.jp", "sakura.example"]
