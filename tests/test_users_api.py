"""The users API (/api/v1/users): screen 2's scope and rules for API clients."""
from flask import current_app

from app.extensions import db
from app.infra.mail import outbox_messages
from app.models import AuditEvent, Invitation, Organization, User, UserStatus

from .conftest import ADMIN, HOSPITAL_A, HOSPITAL_B, ORGADMIN_A, login_as, user_by_email

API = "/api/v1/users/"


def org_id(code):
    return db.session.query(Organization).filter_by(code=code).one().id


def role_id(name):
    return current_app.appbuilder.sm.find_role(name).id


def test_orgadmin_lists_only_own_hospital_users(client, ctx):
    login_as(client, ORGADMIN_A)
    response = client.get(API, query_string={"q": "(page_size:100)"})
    assert response.status_code == 200
    body = response.get_json()
    emails = {row["email"] for row in body["result"]}
    assert HOSPITAL_A in emails and ORGADMIN_A in emails
    assert HOSPITAL_B not in emails and ADMIN not in emails
    assert {row["organization"]["id"] for row in body["result"]} == {org_id("H0001")}
    assert body["count"] == db.session.query(User).filter_by(organization_id=org_id("H0001")).count()


def test_other_hospital_user_is_404_for_get_put_deactivate_reactivate(client, ctx):
    login_as(client, ORGADMIN_A)
    other = user_by_email(HOSPITAL_B)
    other_id, name = other.id, other.first_name
    assert client.get(f"{API}{other_id}").status_code == 404
    assert client.put(f"{API}{other_id}", json={"first_name": "x"}).status_code == 404
    response = client.post(f"{API}{other_id}/deactivate", json={"reason": 2, "note": "x"})
    assert response.status_code == 404
    assert client.post(f"{API}{other_id}/reactivate", json={}).status_code == 404
    db.session.expire_all()
    other = user_by_email(HOSPITAL_B)
    assert (other.first_name, other.status) == (name, UserStatus.active)
    assert client.get(f"{API}{user_by_email(HOSPITAL_A).id}").status_code == 200


def test_filter_cannot_reach_other_hospital(client, ctx):
    login_as(client, ORGADMIN_A)
    query = f"(filters:!((col:email,opr:eq,value:'{HOSPITAL_B}')))"
    response = client.get(API, query_string={"q": query})
    assert response.status_code == 200
    assert response.get_json()["count"] == 0


def test_create_outside_allowed_domain_is_refused(client, ctx):
    login_as(client, ORGADMIN_A)
    response = client.post(API, json={
        "first_name": "外部 太郎", "email": "x@other-domain.jp",
        "organization": org_id("H0001"), "roles": [role_id("HospitalUser")],
    })
    assert response.status_code == 400
    assert "許可されたもの" in response.get_json()["message"]
    db.session.expire_all()
    assert db.session.query(User).filter_by(email="x@other-domain.jp").count() == 0
    assert db.session.query(AuditEvent).filter_by(action="user.create").count() == 0


def test_orgadmin_cannot_grant_admin_role(client, ctx):
    login_as(client, ORGADMIN_A)
    user_id = user_by_email(HOSPITAL_A).id
    response = client.put(f"{API}{user_id}", json={"roles": [role_id("Admin")]})
    assert response.status_code == 400
    assert "付与できないロール" in response.get_json()["message"]
    db.session.expire_all()
    assert user_by_email(HOSPITAL_A).role_names == {"HospitalUser"}


def test_orgadmin_cannot_move_user_to_another_organization(client, ctx):
    login_as(client, ORGADMIN_A)
    user_id = user_by_email(HOSPITAL_A).id
    response = client.put(f"{API}{user_id}", json={"organization": org_id("H0002")})
    assert response.status_code == 400
    assert response.get_json()["message"]
    db.session.expire_all()
    assert user_by_email(HOSPITAL_A).organization_id == org_id("H0001")


def test_orgadmin_edits_own_user_with_audit(client, ctx):
    login_as(client, ORGADMIN_A)
    user_id = user_by_email(HOSPITAL_A).id
    response = client.put(f"{API}{user_id}", json={"first_name": "改名 花子"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["result"]["first_name"] == "改名 花子"
    db.session.expire_all()
    assert user_by_email(HOSPITAL_A).first_name == "改名 花子"
    event = db.session.query(AuditEvent).filter_by(action="user.update", object_id=str(user_id)).one()
    assert "first_name" in event.changes


def test_responses_never_contain_secrets(client, ctx):
    login_as(client, ADMIN)
    user = user_by_email(HOSPITAL_A)
    password = user.password
    assert password
    bodies = [
        client.get(API, query_string={"q": "(page_size:100)"}),
        client.get(f"{API}{user.id}"),
        client.get(f"{API}_info"),
        client.put(f"{API}{user.id}", json={"first_name": user.first_name}),
        client.get(API, query_string={"q": "(columns:!(password,totp_secret))"}),
    ]
    for response in bodies:
        text = response.get_data(as_text=True)
        assert password not in text
        assert "scrypt" not in text and "pbkdf2" not in text
        assert "totp_secret" not in text
        assert '"password"' not in text
    # Filtering on the hash would be an oracle for it.
    response = client.get(API, query_string={"q": "(filters:!((col:password,opr:sw,value:s)))"})
    assert response.status_code == 400


def test_admin_creates_temporary_user_with_invitation_mail(client, ctx):
    login_as(client, ADMIN)
    mails_before = len(outbox_messages())
    response = client.post(API, json={
        "first_name": "新人 看護", "email": "New.Nurse@Sakura-HP.example.jp",
        "organization": org_id("H0001"), "roles": [role_id("HospitalUser")],
    })
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["result"]["status"] == UserStatus.temporary
    db.session.expire_all()
    user = user_by_email("new.nurse@sakura-hp.example.jp")
    assert body["id"] == user.id
    assert (user.status, user.password) == (UserStatus.temporary, None)
    assert db.session.query(Invitation).filter_by(user_id=user.id).count() == 1
    assert db.session.query(AuditEvent).filter_by(action="user.create", object_id=str(user.id)).count() == 1
    mails = outbox_messages()[mails_before:]
    assert len(mails) == 2  # the user's invitation and the registering admin's copy
    assert mails[0]["To"] == "new.nurse@sakura-hp.example.jp"
    assert "/first-login/" in mails[0].get_content()
    assert mails[1]["To"] == ADMIN and "/first-login/" not in mails[1].get_content()


def test_deactivate_requires_reason_and_note_then_reactivate(client, ctx):
    login_as(client, ORGADMIN_A)
    user_id = user_by_email(HOSPITAL_A).id
    response = client.post(f"{API}{user_id}/deactivate", json={"reason": 2, "note": " "})
    assert response.status_code == 400
    assert "利用停止の備考を入力してください" in response.get_json()["message"]
    response = client.post(f"{API}{user_id}/deactivate", json={"reason": 7, "note": "交代"})
    assert "利用停止の理由を選択してください" in response.get_json()["message"]
    db.session.expire_all()
    assert user_by_email(HOSPITAL_A).status == UserStatus.active

    response = client.post(f"{API}{user_id}/deactivate", json={"reason": 2, "note": "担当者交代"})
    assert response.status_code == 200
    assert response.get_json()["result"]["status"] == UserStatus.inactive
    db.session.expire_all()
    user = user_by_email(HOSPITAL_A)
    assert (user.status, user.active, user.inactive_reason, user.inactive_note) == (
        UserStatus.inactive, False, 2, "担当者交代")
    assert db.session.query(AuditEvent).filter_by(action="user.deactivate").count() == 1

    assert client.post(f"{API}{user_id}/reactivate", json={}).status_code == 200
    db.session.expire_all()
    user = user_by_email(HOSPITAL_A)
    assert (user.status, user.active, user.inactive_reason) == (UserStatus.active, True, None)
    assert db.session.query(AuditEvent).filter_by(action="user.reactivate").count() == 1
    response = client.post(f"{API}{user_id}/reactivate", json={})
    assert response.get_json()["result"]["status"] == UserStatus.active
    assert db.session.query(AuditEvent).filter_by(action="user.reactivate").count() == 1


def test_cannot_deactivate_oneself(client, ctx):
    user_id = login_as(client, ORGADMIN_A)
    response = client.post(f"{API}{user_id}/deactivate", json={"reason": 99, "note": "x"})
    assert response.status_code == 400
    db.session.expire_all()
    assert user_by_email(ORGADMIN_A).status == UserStatus.active


def test_no_delete_and_no_access_without_users_permission(client, ctx):
    login_as(client, ADMIN)
    user_id = user_by_email(HOSPITAL_A).id
    assert client.delete(f"{API}{user_id}").status_code in (404, 405)
    assert db.session.get(User, user_id) is not None
    other = client.application.test_client()
    login_as(other, HOSPITAL_A)
    assert other.get(API).status_code in (401, 403)
    assert other.put(f"{API}{user_id}", json={"first_name": "x"}).status_code in (401, 403)


def test_unlock_by_api_as_on_the_screen_and_only_in_scope(client, ctx):
    import datetime as dt

    from app.core.months import utc_now

    for email in (HOSPITAL_A, HOSPITAL_B):
        user_by_email(email).locked_until = utc_now() + dt.timedelta(minutes=30)
    db.session.commit()
    login_as(client, ORGADMIN_A)
    mine, other = user_by_email(HOSPITAL_A).id, user_by_email(HOSPITAL_B).id
    assert client.get(f"{API}{mine}").get_json()["result"]["locked_until"] is not None
    assert client.post(f"{API}{other}/unlock", json={}).status_code == 404
    assert client.post(f"{API}{mine}/unlock", data="x").status_code == 400
    response = client.post(f"{API}{mine}/unlock", json={})
    assert response.status_code == 200 and response.get_json()["result"]["locked_until"] is None
    db.session.expire_all()
    assert user_by_email(HOSPITAL_A).locked_until is None
    assert user_by_email(HOSPITAL_B).locked_until is not None
    (event,) = db.session.query(AuditEvent).filter_by(action="auth.unlock").all()
    assert event.object_id == str(mine) and event.actor_email == ORGADMIN_A
    # not locked any more: nothing to do, nothing audited
    assert client.post(f"{API}{mine}/unlock", json={}).status_code == 200
    assert db.session.query(AuditEvent).filter_by(action="auth.unlock").count() == 1
