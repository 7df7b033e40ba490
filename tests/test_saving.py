"""After saving (issue 14 item 5): a successful add or edit returns to the list of what was
saved with a Japanese confirmation; a refused one shows the same form with the input kept;
the OrgAdmin's organization form shows the operator's fields read-only and saves the rest."""
from __future__ import annotations

import re

from app.extensions import db
from app.models import Organization, User

from .conftest import ADMIN, HOSPITAL_A, ORGADMIN_A, login_as, user_by_email
from .test_organizations import form_of
from .test_users import edit_form, org_id, role_id


def org(code):
    return db.session.query(Organization).filter_by(code=code).one()


def input_value(html: str, name: str) -> str | None:
    match = re.search(rf'<input[^>]*name="{name}"[^>]*>', html)
    if not match:
        return None
    value = re.search(r'value="([^"]*)"', match.group(0))
    return value.group(1) if value else ""


def field_tag(html: str, name: str) -> str:
    match = re.search(rf'<(input|select|textarea)[^>]*name="{name}"[^>]*>', html)
    assert match, f"no field {name}"
    return match.group(0)


def test_admin_new_user_lands_on_the_users_list(client, ctx):
    login_as(client, ADMIN)
    client.get("/roles/show/4")  # the page FAB's history sent the user back to
    response = client.post("/users/add", data={
        "first_name": "新規 花子", "email": "hanako@sakura-hp.example.jp",
        "organization": str(org_id("H0001")), "roles": [str(role_id("HospitalUser"))],
    })
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/users/list/")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "ユーザーを仮登録しました。" in page and "hanako@sakura-hp.example.jp" in page


def test_orgadmin_refused_add_shows_the_same_form_with_the_input(client, ctx):
    login_as(client, ORGADMIN_A)
    client.get(f"/users/show/{user_by_email(HOSPITAL_A).id}")  # another user's page before
    response = client.post("/users/add", data={
        "first_name": "外部 太郎", "email": "taro@other-domain.jp", "phone": "",
        "organization": str(org_id("H0001")), "roles": [str(role_id("HospitalUser"))],
    })
    assert response.status_code == 200  # no redirect to another page
    html = response.get_data(as_text=True)
    assert "許可されたもの" in html
    assert "ユーザーの仮登録" in html  # the add form again
    assert input_value(html, "first_name") == "外部 太郎"
    assert input_value(html, "email") == "taro@other-domain.jp"
    assert re.search(r'<option selected value="%s">' % role_id("HospitalUser"), html)
    assert db.session.query(User).filter_by(email="taro@other-domain.jp").count() == 0


def test_invalid_add_keeps_the_input(client, ctx):
    login_as(client, ADMIN)
    response = client.post("/users/add", data={
        "first_name": "", "email": "hanako@sakura-hp.example.jp",
        "organization": str(org_id("H0001")), "roles": [str(role_id("HospitalUser"))],
    })
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "入力内容に誤りがあります" in html
    assert input_value(html, "email") == "hanako@sakura-hp.example.jp"


def test_user_edit_returns_to_the_list(client, ctx):
    login_as(client, ORGADMIN_A)
    user = user_by_email(HOSPITAL_A)
    response = client.post(f"/users/edit/{user.id}", data=edit_form(user, phone="03-1111-2222"))
    assert response.status_code == 302 and response.headers["Location"].endswith("/users/list/")
    assert "ユーザー情報を更新しました。" in client.get("/users/list/").get_data(as_text=True)
    db.session.expire_all()
    assert user_by_email(HOSPITAL_A).phone == "03-1111-2222"


def test_refused_edit_shows_the_form_with_every_edit_kept(client, ctx):
    """An IP allow-list that would lock the OrgAdmin out is refused; the phone typed in the same
    form is still in the form, and nothing is saved."""
    login_as(client, ORGADMIN_A)
    hospital = org("H0001")
    response = client.post(f"/organizations/edit/{hospital.id}", data=form_of(
        hospital, phone="043-999-0000", ip_allowlist="203.0.113.0/24"))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "保存できません" in html
    assert input_value(html, "phone") == "043-999-0000"
    assert "203.0.113.0/24" in html
    db.session.expire_all()
    assert org("H0001").phone == "043-123-4567" and not org("H0001").ip_allowlist


def test_organization_edit_returns_to_the_list(client, ctx):
    login_as(client, ADMIN)
    hospital = org("H0002")
    response = client.post(f"/organizations/edit/{hospital.id}", data=form_of(hospital, phone="045-000-1111"))
    assert response.status_code == 302 and response.headers["Location"].endswith("/organizations/list/")
    page = client.get("/organizations/list/").get_data(as_text=True)
    assert "組織の情報を保存しました。" in page


def test_orgadmin_sees_operator_fields_read_only(client, ctx):
    login_as(client, ORGADMIN_A)
    html = client.get(f"/organizations/edit/{org('H0001').id}").get_data(as_text=True)
    for name in ("kind", "code", "report_rank_count", "analysis_level", "mfa_required",
                 "manufacturer_selection_count", "allows_manufacturer_access"):
        assert "disabled" in field_tag(html, name), name
    for name in ("name", "phone", "notification_emails"):
        assert "disabled" not in field_tag(html, name), name
    assert "運用者（SMDS）のみ変更できます" in html


def test_orgadmin_saves_other_fields_even_when_a_read_only_one_is_sent(client, ctx):
    login_as(client, ORGADMIN_A)
    hospital = org("H0001")
    response = client.post(f"/organizations/edit/{hospital.id}", data=form_of(
        hospital, code="H9999", report_rank_count="9", mfa_required="", phone="043-555-0000", ip_allowlist=""))
    assert response.status_code == 302
    db.session.expire_all()
    saved = org("H0001")
    assert (saved.phone, saved.report_rank_count, saved.mfa_required) == ("043-555-0000", 5, True)


def test_operator_fields_are_editable_for_the_operator(client, ctx):
    login_as(client, ADMIN)
    html = client.get(f"/organizations/edit/{org('H0001').id}").get_data(as_text=True)
    assert "disabled" not in field_tag(html, "report_rank_count")


def test_orgadmin_saves_the_form_as_a_browser_sends_it_without_the_read_only_fields(client, ctx):
    """A browser does not send disabled fields; the required ones among them (code, ranks)
    must not refuse the form."""
    login_as(client, ORGADMIN_A)
    hospital = org("H0001")
    data = form_of(hospital, phone="043-555-0001")
    for name in ("kind", "code", "report_rank_count", "analysis_level", "mfa_required",
                 "manufacturer_selection_count", "allows_manufacturer_access"):
        data.pop(name, None)
    response = client.post(f"/organizations/edit/{hospital.id}", data=data)
    assert response.status_code == 302, re.findall(r'class="alert[^"]*"[^>]*>([^<]*)', response.get_data(as_text=True))
    db.session.expire_all()
    saved = org("H0001")
    assert (saved.phone, saved.code, saved.report_rank_count) == ("043-555-0001", "H0001", 5)


def test_taken_email_is_said_once_in_japanese(client, ctx):
    """FAB's unique check was added to the shared validator list by both forms: the message
    appeared twice, in FAB's colloquial 「既に存在してます」."""
    login_as(client, ADMIN)
    response = client.post("/users/add", data={
        "first_name": "重複 太郎", "email": HOSPITAL_A,
        "organization": str(org_id("H0001")), "roles": [str(role_id("HospitalUser"))],
    })
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.count("既に登録されています。") == 1
    assert "既に存在してます" not in html
