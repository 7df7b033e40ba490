"""「招待メールを再送」: a 仮登録 user gets a new first-login link by screen or API; the old
link stops working; only those who manage the user may do it."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from app.extensions import db
from app.models import AuditEvent, Invitation, Organization, User, UserStatus
from app.services.accounts import invitations
from app.services.accounts.invitation_resend import ResendTooSoon, resend_invitation
from app.services.accounts.users import UserError

from .conftest import ADMIN, DEALER, HOSPITAL_A, ORGADMIN_A, login_as, user_by_email
from .test_auth_links import outbox
from .test_menu_crawl import choose_dealer_hospital

ORIGIN = {"Origin": "http://localhost"}
BUTTON = "招待メールを再送"


def invited_user(code="H0001", email="new@sakura-hp.example.jp") -> tuple[User, str]:
    """A 仮登録 user of hospital ``code`` with a first-login link mailed two minutes ago
    (past the once-a-minute limit); returns the user and the link's path."""
    org = db.session.query(Organization).filter_by(code=code).one()
    user = User(first_name="新人 太郎", last_name="", username=email, email=email, active=True,
                status=UserStatus.temporary, organization=org)
    db.session.add(user)
    db.session.flush()
    link = invitations.create_link(user, created_by=user_by_email(ORGADMIN_A))
    db.session.commit()
    age_links(user)
    return user, link_path(link)


def age_links(user: User) -> None:
    db.session.query(Invitation).filter_by(user_id=user.id).update(
        {"created_on": dt.datetime.utcnow() - dt.timedelta(minutes=2)})
    db.session.commit()


def link_path(link: str) -> str:
    return "/first-login/" + link.split("/first-login/", 1)[1]


def mailed_link_path(message) -> str:
    return link_path(re.search(r"https?://\S+/first-login/\S+", message.get_body().get_content()).group(0))


def resend_events(user_id: int) -> list[AuditEvent]:
    return db.session.query(AuditEvent).filter_by(action="user.invitation_resent",
                                                   object_id=str(user_id)).all()


def test_orgadmin_resends_on_the_screen_the_old_link_ends_and_the_new_one_works(app, client, ctx):
    user, old_path = invited_user()
    assert client.get(old_path).status_code == 200
    admin = app.test_client()
    login_as(admin, ORGADMIN_A)
    before = len(outbox(app))
    answer = admin.post(f"/users/resend-invitation/{user.id}", follow_redirects=True)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert "new@sakura-hp.example.jp に招待メールを再送しました" in page
    mails = outbox(app)[before:]
    assert [m["To"] for m in mails] == ["new@sakura-hp.example.jp", ORGADMIN_A]  # mail and copy
    new_path = mailed_link_path(mails[0])
    assert "/first-login/" not in mails[1].get_content()
    assert new_path != old_path
    assert client.get(old_path).status_code == 410
    assert client.get(new_path).status_code == 200
    db.session.expire_all()
    events = resend_events(user.id)
    assert len(events) == 1 and events[0].actor_email == ORGADMIN_A


def test_a_second_resend_within_a_minute_is_refused(app, client, ctx):
    user, _path = invited_user()
    login_as(client, ORGADMIN_A)
    assert client.post(f"/users/resend-invitation/{user.id}").status_code == 302
    before = len(outbox(app))
    page = client.post(f"/users/resend-invitation/{user.id}", follow_redirects=True).get_data(as_text=True)
    assert "1分ほど待ってから再送してください" in page
    assert len(outbox(app)) == before
    answer = client.post(f"/api/v1/users/{user.id}/resend-invitation", json={}, headers=ORIGIN)
    assert answer.status_code == 429 and "1分" in answer.get_json()["message"]


def test_the_api_resends_like_the_screen(app, client, ctx):
    user, old_path = invited_user()
    login_as(client, ADMIN)
    before = len(outbox(app))
    answer = client.post(f"/api/v1/users/{user.id}/resend-invitation", json={}, headers=ORIGIN)
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["result"]["email"] == "new@sakura-hp.example.jp" and body["invitation_hours"] > 0
    mails = outbox(app)[before:]
    assert mails[0]["To"] == "new@sakura-hp.example.jp" and mails[1]["To"] == ADMIN
    assert client.get(old_path).status_code == 410
    assert client.get(mailed_link_path(mails[0])).status_code == 200
    db.session.expire_all()
    assert len(resend_events(user.id)) == 1


def test_refused_for_a_user_who_has_logged_in(app, client, ctx):
    user_id = user_by_email(HOSPITAL_A).id
    login_as(client, ORGADMIN_A)
    before = len(outbox(app))
    page = client.post(f"/users/resend-invitation/{user_id}", follow_redirects=True).get_data(as_text=True)
    assert "初回ログインを済ませているため、招待メールは再送できません" in page
    answer = client.post(f"/api/v1/users/{user_id}/resend-invitation", json={}, headers=ORIGIN)
    assert answer.status_code == 400 and "初回ログイン" in answer.get_json()["message"]
    assert len(outbox(app)) == before
    assert resend_events(user_id) == []


def test_refused_for_a_deactivated_user(app, client, ctx):
    user, old_path = invited_user()
    login_as(client, ORGADMIN_A)
    assert client.post(f"/api/v1/users/{user.id}/deactivate", json={"reason": 1, "note": "誤登録"},
                       headers=ORIGIN).status_code == 200
    before = len(outbox(app))
    answer = client.post(f"/api/v1/users/{user.id}/resend-invitation", json={}, headers=ORIGIN)
    assert answer.status_code == 400 and "利用停止中" in answer.get_json()["message"]
    page = client.post(f"/users/resend-invitation/{user.id}", follow_redirects=True).get_data(as_text=True)
    assert "利用停止中のユーザーには招待メールを再送できません" in page
    assert len(outbox(app)) == before
    assert client.get(old_path).status_code == 410


def test_an_orgadmin_cannot_resend_for_another_hospitals_user(app, client, ctx):
    user, path = invited_user(code="H0002", email="new@minato-hp.example.jp")
    login_as(client, ORGADMIN_A)
    before = len(outbox(app))
    assert client.post(f"/users/resend-invitation/{user.id}").status_code == 404
    assert client.post(f"/api/v1/users/{user.id}/resend-invitation", json={}, headers=ORIGIN).status_code == 404
    assert len(outbox(app)) == before
    assert client.get(path).status_code == 200  # the link mailed before still works
    # the service refuses too, whoever calls it
    with pytest.raises(UserError, match="権限がありません"):
        resend_invitation(user, user_by_email(ORGADMIN_A))


def test_a_dealer_acting_for_the_hospital_cannot_resend(app, client, ctx):
    user, path = invited_user()
    login_as(client, DEALER)
    choose_dealer_hospital(client, "H0001", 3)
    before = len(outbox(app))
    assert client.post(f"/users/resend-invitation/{user.id}").status_code == 403
    assert client.post(f"/api/v1/users/{user.id}/resend-invitation", json={},
                       headers=ORIGIN).status_code == 403
    assert len(outbox(app)) == before
    assert client.get(path).status_code == 200
    with pytest.raises(UserError, match="権限がありません"):
        resend_invitation(user, user_by_email(DEALER))


def test_the_button_shows_only_for_pending_users(app, client, ctx):
    user, _path = invited_user()
    active_id = user_by_email(HOSPITAL_A).id
    login_as(client, ORGADMIN_A)
    assert BUTTON in client.get(f"/users/show/{user.id}").get_data(as_text=True)
    assert BUTTON not in client.get(f"/users/show/{active_id}").get_data(as_text=True)
    listing = client.get("/users/list/").get_data(as_text=True)
    assert listing.count(BUTTON) == 1  # the seeded users of hospital A have all logged in
    assert f"/users/resend-invitation/{user.id}" in listing
    # the list's button comes back to the list
    answer = client.post(f"/users/resend-invitation/{user.id}", data={"back": "list"})
    assert answer.headers["Location"].endswith("/users/list/")


def test_the_button_is_not_offered_to_those_who_may_not_resend(app, client, ctx):
    user, _path = invited_user()
    login_as(client, HOSPITAL_A)
    assert client.get(f"/users/show/{user.id}").status_code == 403
    assert client.post(f"/users/resend-invitation/{user.id}").status_code == 403


def test_english_wording(app, client, ctx):
    user, _path = invited_user()
    login_as(client, ORGADMIN_A)
    client.get("/lang/en")
    assert "Resend invitation" in client.get(f"/users/show/{user.id}").get_data(as_text=True)
    page = client.post(f"/users/resend-invitation/{user.id}", follow_redirects=True).get_data(as_text=True)
    assert "The invitation was sent again to new@sakura-hp.example.jp" in page
    refused = client.post(f"/api/v1/users/{user.id}/resend-invitation?_l_=en", json={}, headers=ORIGIN)
    assert refused.get_json()["message"] == "An invitation was sent to this user just now. Wait a minute before resending it"
    with pytest.raises(ResendTooSoon):
        resend_invitation(user, user_by_email(ORGADMIN_A))


def test_the_start_page_offers_the_resend_and_lists_each_pending_user_once(app, client, ctx):
    user, _path = invited_user()
    login_as(client, ORGADMIN_A)
    answer = client.post(f"/users/resend-invitation/{user.id}", data={"back": "start"})
    assert answer.headers["Location"].endswith("/")
    pending = client.get("/").get_data(as_text=True).split('id="start-invitations"')[1].split('id="start-locked"')[0]
    # the ended first link is not listed beside the new one as 「期限切れ」
    assert pending.count("new@sakura-hp.example.jp") == 1 and "期限切れ" not in pending
    assert f"/users/resend-invitation/{user.id}" in pending and BUTTON in pending


def test_the_openapi_spec_documents_the_resend(client, ctx):
    login_as(client, ADMIN)
    operation = client.get("/api/v1/_openapi").get_json()["paths"]["/api/v1/users/{pk}/resend-invitation"]["post"]
    assert set(operation["responses"]) >= {"200", "400", "404", "429"}
    assert all(set(answer) <= {"description", "content", "$ref"} for answer in operation["responses"].values())


FILTERED_LIST = "/users/list/?_flt_2_first_name=%E6%96%B0%E4%BA%BA&page_UserMaintenanceView=0"


def test_the_list_button_carries_the_filtered_list_and_comes_back_to_it(app, client, ctx):
    user, _path = invited_user()
    login_as(client, ORGADMIN_A)
    listing = client.get(FILTERED_LIST).get_data(as_text=True)
    assert 'name="next" value="/users/list/?_flt_2_first_name=%E6%96%B0%E4%BA%BA&amp;page_UserMaintenanceView=0"' in listing
    answer = client.post(f"/users/resend-invitation/{user.id}", data={"back": "list", "next": FILTERED_LIST})
    assert answer.status_code == 302
    assert answer.headers["Location"] == FILTERED_LIST


@pytest.mark.parametrize("next_url", [
    "https://evil.example/users/list/", "//evil.example/users/list/", "/\\evil.example/users/list/",
    "http://localhost/users/list/?x=1", "/users/show/1", "/login/?next=/users/list/",
    "javascript:alert(1)", "/users/list/\r\nX: y",
])
def test_the_list_button_goes_nowhere_but_this_sites_users_list(app, client, ctx, next_url):
    user, _path = invited_user()
    login_as(client, ORGADMIN_A)
    answer = client.post(f"/users/resend-invitation/{user.id}", data={"back": "list", "next": next_url})
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/users/list/"


def test_another_hospitals_user_stays_out_of_reach_with_a_list_to_come_back_to(app, client, ctx):
    user, path = invited_user(code="H0002", email="new@minato-hp.example.jp")
    login_as(client, ORGADMIN_A)
    before = len(outbox(app))
    answer = client.post(f"/users/resend-invitation/{user.id}", data={"back": "list", "next": FILTERED_LIST})
    assert answer.status_code == 404
    assert len(outbox(app)) == before
    assert client.get(path).status_code == 200
