"""Organizations: operators manage every organization; an OrgAdmin edits only its own
contact data, never the contract settings."""
from app.extensions import db
from app.models import AuditEvent, Organization

from .conftest import ADMIN, HOSPITAL_A, OPERATOR, ORGADMIN_A, login_as


def org(code):
    return db.session.query(Organization).filter_by(code=code).one()


def form_of(organization, **overrides):
    data = {
        name: ("" if getattr(organization, name) is None else str(getattr(organization, name)))
        for name in ("kind", "code", "name", "postal_code", "prefecture", "city", "address_line1",
                     "address_line2", "phone", "notification_emails", "allowed_email_domains",
                     "ip_allowlist", "report_rank_count", "analysis_level",
                     "manufacturer_selection_count")
    }
    if organization.mfa_required:
        data["mfa_required"] = "y"
    if organization.allows_manufacturer_access:
        data["allows_manufacturer_access"] = "y"
    data.update(overrides)
    return data


def test_operator_lists_and_searches_organizations(client, ctx):
    login_as(client, OPERATOR)
    page = client.get("/organizations/list/").get_data(as_text=True)
    assert "さくら台総合病院" in page and "東和メディカルサービス株式会社" in page
    page = client.get("/organizations/list/?_flt_0_prefecture=宮城県").get_data(as_text=True)
    assert "あおば記念病院" in page and "さくら台総合病院" not in page


def test_operator_creates_organization_with_validated_fields(client, ctx):
    login_as(client, ADMIN)
    response = client.post("/organizations/add", data={
        "kind": "hospital", "code": "H0100", "name": "テスト病院", "postal_code": "1234567",
        "report_rank_count": "5", "analysis_level": "1", "manufacturer_selection_count": "5",
    })
    assert "郵便番号は999-9999の形式で入力してください" in response.get_data(as_text=True)
    assert db.session.query(Organization).filter_by(code="H0100").count() == 0

    response = client.post("/organizations/add", data={
        "kind": "hospital", "code": "H0100", "name": "テスト病院", "postal_code": "123-4567",
        "report_rank_count": "5", "analysis_level": "1", "manufacturer_selection_count": "5",
    }, follow_redirects=True)
    assert "住所項目が不足しています" in response.get_data(as_text=True)
    assert db.session.query(Organization).filter_by(code="H0100").count() == 0

    client.post("/organizations/add", data={
        "kind": "hospital", "code": "H0100", "name": "テスト病院", "postal_code": "123-4567",
        "prefecture": "東京都", "city": "港区", "address_line1": "1-1",
        "notification_emails": "a@test-hp.example.jp\nb@dealer.example.jp",
        "report_rank_count": "7", "analysis_level": "2", "manufacturer_selection_count": "5",
    })
    created = org("H0100")
    assert (created.report_rank_count, created.analysis_level) == (7, 2)
    assert created.notification_email_list == ["a@test-hp.example.jp", "b@dealer.example.jp"]
    assert db.session.query(AuditEvent).filter_by(action="organization.create").count() == 1


def test_notification_list_is_limited_to_ten_valid_addresses(client, ctx):
    login_as(client, ADMIN)
    hospital = org("H0001")
    eleven = "\n".join(f"u{i}@sakura-hp.example.jp" for i in range(11))
    page = client.post(f"/organizations/edit/{hospital.id}",
                       data=form_of(hospital, notification_emails=eleven)).get_data(as_text=True)
    assert "通知先メールアドレスは10件までです" in page
    page = client.post(f"/organizations/edit/{hospital.id}",
                       data=form_of(hospital, notification_emails="not-an-address")).get_data(as_text=True)
    assert "通知先メールアドレスの形式が正しくありません" in page


def test_orgadmin_edits_own_contact_fields(client, ctx):
    login_as(client, ORGADMIN_A)
    hospital = org("H0001")
    client.post(f"/organizations/edit/{hospital.id}",
                data=form_of(hospital, phone="043-999-0000", ip_allowlist=""))
    db.session.expire_all()
    assert org("H0001").phone == "043-999-0000"
    event = db.session.query(AuditEvent).filter_by(action="organization.update").one()
    assert event.changes["phone"] == ["043-123-4567", "043-999-0000"]


def test_orgadmin_cannot_change_rank_count(client, ctx):
    """The operator's fields are read-only for an OrgAdmin: a value sent for one is ignored,
    and the other fields of the same form are saved."""
    login_as(client, ORGADMIN_A)
    hospital = org("H0001")
    response = client.post(f"/organizations/edit/{hospital.id}",
                           data=form_of(hospital, report_rank_count="9", phone="043-999-0000",
                                        ip_allowlist=""), follow_redirects=True)
    assert "組織の情報を保存しました。" in response.get_data(as_text=True)
    db.session.expire_all()
    assert org("H0001").report_rank_count == 5
    assert org("H0001").phone == "043-999-0000"


def test_orgadmin_cannot_see_or_edit_another_organization(client, ctx):
    login_as(client, ORGADMIN_A)
    other = org("H0002")
    assert "みなと中央病院" not in client.get("/organizations/list/").get_data(as_text=True)
    assert client.get(f"/organizations/show/{other.id}").status_code == 404
    assert client.post(f"/organizations/edit/{other.id}", data=form_of(other, name="x")).status_code == 404
    db.session.expire_all()
    assert org("H0002").name == "みなと中央病院"


def test_hospital_user_has_no_organization_screen(client, ctx):
    login_as(client, HOSPITAL_A)
    assert client.get("/organizations/list/").status_code in (302, 403)


def test_organizations_cannot_be_deleted(client, ctx):
    login_as(client, ADMIN)
    hospital = org("H0003")
    client.post(f"/organizations/delete/{hospital.id}")
    db.session.expire_all()
    assert db.session.get(Organization, hospital.id) is not None
