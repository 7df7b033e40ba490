"""Screen 2: user maintenance, scoped to the OrgAdmin's own organization."""
from app.core.months import format_jst
from app.extensions import db
from app.models import AuditEvent, Organization, User, UserStatus

from .conftest import ADMIN, HOSPITAL_A, HOSPITAL_B, ORGADMIN_A, login_as, user_by_email


def ids(ctx_email):
    return user_by_email(ctx_email).id


def org_id(code):
    return db.session.query(Organization).filter_by(code=code).one().id


def role_id(name):
    from flask import current_app

    return current_app.appbuilder.sm.find_role(name).id


def test_orgadmin_list_shows_only_own_organization(client, ctx):
    login_as(client, ORGADMIN_A)
    page = client.get("/users/list/").get_data(as_text=True)
    assert HOSPITAL_A in page
    assert HOSPITAL_B not in page
    assert ADMIN not in page


def test_orgadmin_show_of_other_hospital_user_is_404(client, ctx):
    login_as(client, ORGADMIN_A)
    assert client.get(f"/users/show/{ids(HOSPITAL_B)}").status_code == 404
    assert client.get(f"/users/show/{ids(HOSPITAL_A)}").status_code == 200


def test_orgadmin_edit_of_other_hospital_user_is_404(client, ctx):
    login_as(client, ORGADMIN_A)
    assert client.get(f"/users/edit/{ids(HOSPITAL_B)}").status_code == 404
    response = client.post(f"/users/edit/{ids(HOSPITAL_B)}", data={"first_name": "x"})
    assert response.status_code == 404
    db.session.expire_all()
    assert user_by_email(HOSPITAL_B).first_name != "x"


def edit_form(user, **overrides):
    data = {
        "first_name": user.first_name, "email": user.email,
        "organization": str(user.organization_id), "phone": user.phone or "",
        "mobile": user.mobile or "", "roles": [str(r.id) for r in user.roles],
    }
    data.update(overrides)
    return data


def test_orgadmin_cannot_move_user_to_another_organization(client, ctx):
    login_as(client, ORGADMIN_A)
    user = user_by_email(HOSPITAL_A)
    client.post(f"/users/edit/{user.id}", data=edit_form(user, organization=str(org_id("H0002"))))
    db.session.expire_all()
    assert user_by_email(HOSPITAL_A).organization_id == org_id("H0001")


def test_orgadmin_cannot_grant_admin_role(client, ctx):
    login_as(client, ORGADMIN_A)
    user = user_by_email(HOSPITAL_A)
    client.post(f"/users/edit/{user.id}", data=edit_form(user, roles=[str(role_id("Admin"))]))
    db.session.expire_all()
    assert user_by_email(HOSPITAL_A).role_names == {"HospitalUser"}


def test_orgadmin_cannot_create_user_outside_allowed_domain(client, ctx):
    login_as(client, ORGADMIN_A)
    response = client.post("/users/add", data={
        "first_name": "外部 太郎", "email": "x@other-domain.jp",
        "organization": str(org_id("H0001")), "roles": [str(role_id("HospitalUser"))],
    }, follow_redirects=True)
    assert "許可されたもの" in response.get_data(as_text=True)
    assert db.session.query(User).filter_by(email="x@other-domain.jp").count() == 0


def test_orgadmin_creates_temporary_user_with_invitation(client, ctx):
    login_as(client, ORGADMIN_A)
    response = client.post("/users/add", data={
        "first_name": "新人 看護", "email": "New.Nurse@Sakura-HP.example.jp",
        "organization": str(org_id("H0001")), "roles": [str(role_id("HospitalUser"))],
    }, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "/first-login/" in page
    user = user_by_email("new.nurse@sakura-hp.example.jp")
    assert user.status == UserStatus.temporary
    assert user.password is None
    assert db.session.query(AuditEvent).filter_by(action="user.create", object_id=str(user.id)).count() == 1


def test_duplicate_email_is_refused_case_insensitively(client, ctx):
    login_as(client, ADMIN)
    response = client.post("/users/add", data={
        "first_name": "重複", "email": HOSPITAL_A.upper(),
        "organization": str(org_id("H0001")), "roles": [str(role_id("HospitalUser"))],
    }, follow_redirects=True)
    assert "メールアドレスは既に登録されています" in response.get_data(as_text=True)
    assert db.session.query(User).filter(User.email == HOSPITAL_A).count() == 1


def test_deactivation_requires_reason_and_note(client, ctx):
    login_as(client, ORGADMIN_A)
    user_id = ids(HOSPITAL_A)
    response = client.post(f"/users/deactivate/{user_id}", data={"reason": "2", "note": ""})
    assert "利用停止の備考を入力してください" in response.get_data(as_text=True)
    db.session.expire_all()
    assert user_by_email(HOSPITAL_A).status == UserStatus.active


def test_deactivated_user_cannot_log_in_and_is_kept(client, ctx):
    login_as(client, ORGADMIN_A)
    user_id = ids(HOSPITAL_A)
    response = client.post(f"/users/deactivate/{user_id}", data={"reason": "2", "note": "担当者交代"})
    assert response.status_code == 302
    db.session.expire_all()
    user = user_by_email(HOSPITAL_A)
    assert (user.status, user.active, user.inactive_reason) == (UserStatus.inactive, False, 2)
    assert db.session.query(AuditEvent).filter_by(action="user.deactivate").count() == 1
    other = client.application.test_client()
    other.post("/login/", data={"username": HOSPITAL_A, "password": "OptiServe-demo-2026"})
    assert other.get("/users/list/").status_code in (302, 401, 403)
    with other.session_transaction() as session:
        assert "_user_id" not in session


def test_orgadmin_cannot_deactivate_other_hospital_user(client, ctx):
    login_as(client, ORGADMIN_A)
    response = client.post(f"/users/deactivate/{ids(HOSPITAL_B)}", data={"reason": "1", "note": "x"})
    assert response.status_code == 404
    db.session.expire_all()
    assert user_by_email(HOSPITAL_B).status == UserStatus.active


def test_there_is_no_delete(client, ctx):
    login_as(client, ADMIN)
    user_id = ids(HOSPITAL_A)
    client.post(f"/users/delete/{user_id}")
    client.get(f"/users/delete/{user_id}")
    db.session.expire_all()
    assert db.session.get(User, user_id) is not None


def test_orgadmin_action_post_cannot_reach_other_hospital(client, ctx):
    login_as(client, ORGADMIN_A)
    response = client.post("/users/action_post", data={"action": "delete", "rowid": [ids(HOSPITAL_B)]})
    assert response.status_code in (302, 403, 404)
    db.session.expire_all()
    assert db.session.query(User).filter_by(email=HOSPITAL_B).count() == 1


def test_user_pages_never_show_password_hashes(client, ctx):
    login_as(client, ADMIN)
    user = user_by_email(HOSPITAL_A)
    for url in (f"/users/show/{user.id}", f"/users/edit/{user.id}", "/users/list/"):
        page = client.get(url).get_data(as_text=True)
        assert user.password not in page
        assert "pbkdf2" not in page and "scrypt" not in page


def test_user_list_names_each_users_roles_in_japanese(client, ctx):
    login_as(client, ORGADMIN_A)
    page = client.get("/users/list/").get_data(as_text=True)
    header = page.split("<tr")[1]
    assert "ロール" in header
    orgadmin_row = [row for row in page.split("<tr") if ORGADMIN_A in row][0]
    assert "組織管理者" in orgadmin_row and "OrgAdmin" not in orgadmin_row
    hospital_row = [row for row in page.split("<tr") if HOSPITAL_A in row][0]
    assert "病院ユーザー" in hospital_row and "組織管理者" not in hospital_row


def test_new_user_form_of_an_orgadmin_has_its_only_organization_chosen(client, ctx):
    import re

    login_as(client, ORGADMIN_A)
    page = client.get("/users/add").get_data(as_text=True)
    select = re.search(r'<select[^>]*name="organization".*?</select>', page, re.S).group(0)
    options = re.findall(r"<option([^>]*)>([^<]*)</option>", select)
    real = [(attrs, label) for attrs, label in options if 'value="__None"' not in attrs]
    assert len(real) == 1 and "selected" in real[0][0] and "さくら台" in real[0][1]
    # The Admin, who manages every organization, still chooses one.
    login_as(client, ADMIN)
    page = client.get("/users/add").get_data(as_text=True)
    select = re.search(r'<select[^>]*name="organization".*?</select>', page, re.S).group(0)
    assert "selected" not in select.split("</option>", 1)[1]


def role_options(page: str) -> list[str]:
    import re

    select = re.search(r'<select[^>]*name="roles".*?</select>', page, re.S).group(0)
    return [label.strip() for label in re.findall(r"<option[^>]*>([^<]*)</option>", select)]


def test_new_user_form_of_an_orgadmin_offers_only_the_roles_of_its_organization_kind(client, ctx):
    """A hospital's OrgAdmin was offered 販売店ユーザー and メーカーユーザー, which saving then
    refused (組織の種別に合わないロール): the form offers only what it can save."""
    login_as(client, ORGADMIN_A)
    assert sorted(role_options(client.get("/users/add").get_data(as_text=True))) == ["病院ユーザー", "組織管理者"]
    user = user_by_email(HOSPITAL_A)
    assert sorted(role_options(client.get(f"/users/edit/{user.id}").get_data(as_text=True))) == [
        "病院ユーザー", "組織管理者"]
    # A forged dealer role is refused and the user is not created.
    response = client.post("/users/add", data={
        "first_name": "新規 太郎", "email": "new@sakura-hp.example.jp",
        "organization": str(org_id("H0001")), "roles": [str(role_id("DealerUser"))]})
    assert response.status_code == 200
    assert db.session.query(User).filter_by(email="new@sakura-hp.example.jp").count() == 0
    # The Admin, who adds users to every kind of organization, still has every role.
    login_as(client, ADMIN)
    assert {"販売店ユーザー", "メーカーユーザー", "病院ユーザー"} <= set(
        role_options(client.get("/users/add").get_data(as_text=True)))


def lock(email):
    import datetime as dt

    from app.core.months import utc_now

    user = user_by_email(email)
    user.locked_until, user.fail_login_count = utc_now() + dt.timedelta(minutes=30), 0
    db.session.commit()
    return user.id


def test_orgadmin_unlocks_a_locked_user_of_its_organization(client, ctx):
    """The OrgAdmin's start page lists locked users, but its link led to a user page with no way
    to end the lock: the user on the phone had to wait it out."""
    locked_id = lock(HOSPITAL_A)
    login_as(client, ORGADMIN_A)
    start = client.get("/").get_data(as_text=True)
    assert f'action="/users/unlock/{locked_id}"' in start
    show = client.get(f"/users/show/{locked_id}").get_data(as_text=True)
    assert f'action="/users/unlock/{locked_id}"' in show and "ロックを解除" in show
    # the status says 稼働中 for a locked account too: the lock is shown beside it, in JST
    until = format_jst(user_by_email(HOSPITAL_A).locked_until)
    assert f"ロック中（{until} まで）" in show
    assert f"ロック中（{until} まで）" in client.get("/users/list/").get_data(as_text=True)
    response = client.post(f"/users/unlock/{locked_id}", data={"back": "start"})
    assert response.status_code == 302 and response.headers["Location"] in ("/", "http://localhost/")
    assert "ロックを解除しました。" in client.get("/").get_data(as_text=True)
    db.session.expire_all()
    assert user_by_email(HOSPITAL_A).locked_until is None
    (event,) = db.session.query(AuditEvent).filter_by(action="auth.unlock").all()
    assert event.object_id == str(locked_id) and event.actor_email == ORGADMIN_A
    # Not locked any more: the start page and the user page offer nothing to unlock.
    assert "/users/unlock/" not in client.get("/").get_data(as_text=True)
    assert "/users/unlock/" not in client.get(f"/users/show/{locked_id}").get_data(as_text=True)
    assert "ロック中（" not in client.get("/users/list/").get_data(as_text=True)


def test_orgadmin_cannot_unlock_a_user_of_another_hospital(client, ctx):
    other_id = lock(HOSPITAL_B)
    login_as(client, ORGADMIN_A)
    assert client.post(f"/users/unlock/{other_id}").status_code == 404
    login_as(client, HOSPITAL_A)
    assert client.post(f"/users/unlock/{other_id}").status_code in (302, 403)
    db.session.expire_all()
    assert user_by_email(HOSPITAL_B).locked_until is not None
