"""Refused privilege attempts and user-name changes end up in the audit log (issue 11)."""
from flask import current_app

from app.extensions import db
from app.models import AuditEvent, Organization
from app.services.audit import trail as audit

from .conftest import DEALER, HOSPITAL_A, ORGADMIN_A, login_as, user_by_email
from .test_dealer_screens import as_dealer, set_level
from .test_users import edit_form


def events(action):
    db.session.expire_all()
    return db.session.query(AuditEvent).filter_by(action=action).order_by(AuditEvent.id).all()


def role_id(name):
    return current_app.appbuilder.sm.find_role(name).id


def org_id(code):
    return db.session.query(Organization).filter_by(code=code).one().id


def test_screen_refused_by_fab_permission_is_audited(client, ctx):
    login_as(client, HOSPITAL_A)
    assert client.get("/users/list/").status_code == 403
    (event,) = events("access.refused")
    assert event.actor_email == HOSPITAL_A and event.organization_id == org_id("H0001")
    assert event.changes["method"] == "GET" and event.changes["path"] == "/users/list/"
    assert event.ip == "127.0.0.1"
    assert audit.verify_chain().broken_id is None


def test_api_refused_by_protect_is_audited(client, ctx):
    login_as(client, HOSPITAL_A)
    response = client.post("/api/v1/users/", json={"first_name": "x"})
    assert response.status_code == 403
    (event,) = events("access.refused")
    assert event.actor_email == HOSPITAL_A and event.changes["path"] == "/api/v1/users/"
    assert event.changes["method"] == "POST"


def test_refusal_by_the_apps_own_capability_check_is_audited(client, ctx):
    set_level("H0001", 1, "アップロード代行")  # a level-1 dealer may not see the ledger
    as_dealer(client, "H0001")
    assert client.get("/ledger/").status_code == 403
    in_dealer, in_hospital = events("access.refused")
    assert in_dealer.actor_email == DEALER and in_dealer.changes["path"] == "/ledger/"
    assert in_dealer.organization_id == org_id("D0001") and "dealer_organization" not in in_dealer.changes
    # the hospital the dealer acted for sees the attempt too, naming the dealer's company
    assert in_hospital.actor_email == DEALER and in_hospital.changes["path"] == "/ledger/"
    assert in_hospital.organization_id == org_id("H0001")
    assert in_hospital.changes["dealer_organization"] == "東和メディカルサービス株式会社（D0001）"
    assert audit.verify_chain().broken_id is None


def test_a_dealer_refused_for_its_own_organization_is_only_in_its_own_log(client, ctx):
    login_as(client, DEALER)
    assert client.post("/dealer/choose", data={"hospital": 0}).status_code == 302
    assert client.get("/ledger/").status_code == 403
    (event,) = events("access.refused")
    assert event.organization_id == org_id("D0001") and event.changes["path"] == "/ledger/"


def test_anonymous_and_allowed_requests_are_not_audited_as_refusals(client, ctx):
    client.get("/users/list/")
    login_as(client, HOSPITAL_A)
    assert client.get("/users/userinfo/").status_code == 200
    assert events("access.refused") == []


def test_refused_role_grant_through_the_api_is_audited_and_changes_nothing(client, ctx):
    login_as(client, ORGADMIN_A)
    user_id = user_by_email(HOSPITAL_A).id
    response = client.put(f"/api/v1/users/{user_id}", json={"roles": [role_id("Admin")],
                                                          "first_name": "乗っ取り"})
    assert response.status_code == 400
    (event,) = events("user.role_grant_refused")
    assert event.actor_email == ORGADMIN_A and event.object_id == str(user_id)
    assert event.changes["roles"] == ["Admin"] and event.changes["user_email"] == HOSPITAL_A
    assert event.organization_id == org_id("H0001")
    user = user_by_email(HOSPITAL_A)
    assert user.role_names == {"HospitalUser"} and user.first_name != "乗っ取り"
    assert events("user.update") == []
    assert audit.verify_chain().broken_id is None


def test_refused_role_grant_on_a_new_user_is_audited(client, ctx):
    login_as(client, ORGADMIN_A)
    response = client.post("/api/v1/users/", json={
        "first_name": "新規 太郎", "email": "new@sakura-hp.example.jp",
        "organization": org_id("H0001"), "roles": [role_id("DealerUser")],
    })
    assert response.status_code == 400
    (event,) = events("user.role_grant_refused")
    assert event.changes["roles"] == ["DealerUser"]
    assert event.changes["user_email"] == "new@sakura-hp.example.jp" and event.object_id is None
    assert events("user.create") == []


def test_display_name_and_email_changes_on_screen_are_audited(client, ctx):
    login_as(client, ORGADMIN_A)
    user = user_by_email(HOSPITAL_A)
    old_name, user_id = user.first_name, user.id
    response = client.post(f"/users/edit/{user_id}", data=edit_form(
        user, first_name="改名 花子", email="renamed@sakura-hp.example.jp"))
    assert response.status_code == 302
    (event,) = events("user.update")
    assert event.object_id == str(user_id) and event.actor_email == ORGADMIN_A
    assert event.changes["first_name"] == [old_name, "改名 花子"]
    assert event.changes["email"] == [HOSPITAL_A, "renamed@sakura-hp.example.jp"]
    assert "roles" not in event.changes and "organization_id" not in event.changes


def test_display_name_change_through_the_api_is_audited_alone(client, ctx):
    login_as(client, ORGADMIN_A)
    user = user_by_email(HOSPITAL_A)
    old_name, user_id = user.first_name, user.id
    response = client.put(f"/api/v1/users/{user_id}", json={"first_name": "改名 次郎"})
    assert response.status_code == 200
    (event,) = events("user.update")
    assert event.changes == {"first_name": [old_name, "改名 次郎"]}


def test_display_name_changed_at_first_login_is_audited(client, ctx):
    from app.services.accounts import invitations

    from .test_auth_links import first_login_form, temporary_user

    user = temporary_user()
    link = invitations.create_link(user)
    db.session.commit()
    response = client.post(link.split("127.0.0.1:5000")[1], data=first_login_form(first_name="新人 次郎"))
    assert response.status_code == 302
    (event,) = events("user.first_login")
    assert event.changes["first_name"] == ["新人 太郎", "新人 次郎"]


def test_forged_role_on_the_screen_form_is_refused_and_audited(client, ctx):
    login_as(client, ORGADMIN_A)
    user = user_by_email(HOSPITAL_A)
    user_id = user.id
    client.post(f"/users/edit/{user_id}", data=edit_form(user, roles=[str(role_id("Admin"))]))
    assert user_by_email(HOSPITAL_A).role_names == {"HospitalUser"}
    (event,) = events("user.role_grant_refused")
    assert event.changes["roles"] == ["Admin"] and event.changes["user_id"] == str(user_id)
    assert event.actor_email == ORGADMIN_A and event.organization_id == org_id("H0001")


def test_saving_a_user_unchanged_records_no_change(client, ctx):
    """A phone number never entered is stored as nothing and comes back from the form as "":
    saving the form unchanged logged 「ユーザー情報の変更」 {"phone": [null, ""]}."""
    user = user_by_email(HOSPITAL_A)
    user.mobile = None
    db.session.commit()
    login_as(client, ORGADMIN_A)
    user = user_by_email(HOSPITAL_A)
    response = client.post(f"/users/edit/{user.id}", data=edit_form(user))
    assert response.status_code == 302
    assert events("user.update") == []


def test_saving_an_organization_unchanged_records_no_change(client, ctx):
    from .conftest import ADMIN
    from .test_organizations import form_of

    hospital = db.session.query(Organization).filter_by(code="H0001").one()
    hospital.address_line2 = None
    db.session.commit()
    login_as(client, ADMIN)
    hospital = db.session.query(Organization).filter_by(code="H0001").one()
    response = client.post(f"/organizations/edit/{hospital.id}", data=form_of(hospital))
    assert response.status_code == 302
    assert events("organization.update") == []
