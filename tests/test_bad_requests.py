"""Oversized ids, unreadable API queries and the error pages (issue 11).

The id sweep covers every registered rule with an argument, so a new screen or API with an
id is covered without being listed here."""
from __future__ import annotations

import re

import pytest
from werkzeug.exceptions import BadRequest, Forbidden, RequestEntityTooLarge, TooManyRequests

from .conftest import ADMIN, HOSPITAL_A, OPERATOR, login_as

HUGE = "99999999999999999999"


def _url(rule, value: str) -> str | None:
    """The rule's path with ``value`` for every id argument (None: the rule has no id)."""
    url, has_id = rule.rule, False
    for name, converter in rule._converters.items():
        is_id = type(converter).__name__ == "IntegerConverter" or name == "pk"
        has_id |= is_id
        url = re.sub(r"<(?:[^:<>]+:)?%s>" % re.escape(name), value if is_id else "x", url)
    return url if has_id else None


def _id_rules(app):
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


@pytest.mark.parametrize("email", [ADMIN, OPERATOR, HOSPITAL_A])
def test_every_id_route_answers_404_for_ids_no_column_holds(app, client, ctx, email):
    login_as(client, email)
    answered = []
    for rule, method in _id_rules(app):
        for value in (HUGE, "2147483648") if email == ADMIN else (HUGE,):
            url = _url(rule, value)
            if url is None:
                continue
            response = client.open(url, method=method, json={} if url.startswith("/api/") else None)
            answered.append((response.status_code, method, url))
    assert len({url for _s, _m, url in answered if HUGE in url}) >= 14  # ~14 endpoints at issue time
    assert [a for a in answered if a[0] != 404] == []


def test_fab_string_pk_must_be_a_number(app, client, ctx):
    login_as(client, ADMIN)
    for path in ("/users/show/abc", "/users/edit/1%27--", "/organizations/show/-1", "/users/show/2147483648"):
        assert client.get(path).status_code == 404, path


def test_unreadable_query_on_every_api_list_is_400_json(app, client, ctx):
    login_as(client, ADMIN)
    lists = [r.rule for r in app.url_map.iter_rules()
             if r.rule.startswith("/api/") and r.rule.endswith("/") and not r.arguments and "GET" in r.methods]
    assert "/api/v1/users/" in lists
    for path in lists:
        response = client.get(f"{path}?q=((((((")
        assert response.status_code == 400, path
        assert "リクエストの内容が正しくありません" in response.get_json()["message"], path
    assert client.get("/api/v1/users/?q=(page:0,page_size:5)").status_code == 200


def _content(response) -> str:
    return response.get_data(as_text=True)


def test_404_page_is_japanese_in_the_layout_with_a_way_back(app, client, ctx):
    login_as(client, HOSPITAL_A)
    response = client.get("/no-such-page")
    page = _content(response)
    assert response.status_code == 404
    assert "ページが見つかりません" in page and "Not Found" not in page
    assert 'class="navbar' in page  # the app's layout (FAB's base template)
    with app.test_request_context():
        home = app.appbuilder.get_url_for_index
    assert "トップページへ戻る" in page and f'href="{home}"' in page
    client.get("/lang/en")
    page = _content(client.get("/no-such-page"))
    assert "Page not found" in page and "Back to the start page" in page


def test_405_page(client, ctx):
    login_as(client, HOSPITAL_A)
    response = client.post("/ledger/")
    assert response.status_code == 405 and "この操作はできません" in _content(response)


# The API's words (app/views/errors.py API_MESSAGES) where a page's would speak of a page.
@pytest.mark.parametrize("error, code, title, detail, api_detail", [
    (BadRequest, 400, "リクエストが正しくありません", "送信された内容を読み取れませんでした", "リクエストの内容が正しくありません"),
    (Forbidden, 403, "アクセスできません", "権限がありません", "この操作を行う権限がありません"),
    (RequestEntityTooLarge, 413, "ファイルが大きすぎます", "送信されたデータが大きすぎます", "送信されたデータが大きすぎます"),
    (TooManyRequests, 429, "アクセスが集中しています", "しばらく待ってから", "しばらく待ってから"),
    (RuntimeError, 500, "システムエラーが発生しました", "予期しないエラー", "予期しないエラー"),
])
def test_error_pages_and_api_errors(app, client, ctx, monkeypatch, error, code, title, detail, api_detail):
    def fail(*_args, **_kwargs):
        raise error()

    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    monkeypatch.setitem(app.view_functions, "LedgerView.index", fail)
    login_as(client, HOSPITAL_A)
    response = client.get("/ledger/")
    assert response.status_code == code
    page = _content(response)
    assert title in page and detail in page and 'class="navbar' in page and "トップページへ戻る" in page
    api = _api_endpoint(app)
    monkeypatch.setitem(app.view_functions, api[0], fail)
    response = client.get(api[1])
    assert response.status_code == code and api_detail in response.get_json()["message"]
    client.get("/lang/en")
    english = client.get(api[1]).get_json()["message"]
    assert english and english.isascii() and len(english) > 20


def _api_endpoint(app):
    for rule in app.url_map.iter_rules():
        if rule.rule == "/api/v1/uploads/" and "GET" in rule.methods:
            return rule.endpoint, rule.rule
    raise AssertionError("no upload list API")


def test_unknown_api_path_is_json(client, ctx):
    login_as(client, HOSPITAL_A)
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert "存在しないか" in response.get_json()["message"]


def test_a_form_sent_with_a_stale_csrf_token_says_the_page_expired(app, client, ctx, monkeypatch):
    """A page left open across a new login (or a logout in another tab) sends an old token:
    the answer says what happened and what to do, not "could not read what was sent"."""
    from app.extensions import db
    from app.models import User

    from .conftest import ORGADMIN_A

    login_as(client, ORGADMIN_A)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    response = client.post("/users/add", data={"first_name": "期限切れ", "email": "stale@sakura-hp.example.jp",
                                               "csrf_token": "an-old-token"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "画面の有効期限が切れました" in page and "ブラウザの「戻る」で前の画面に戻り" in page
    assert "トップページへ戻る" in page
    assert db.session.query(User).filter_by(email="stale@sakura-hp.example.jp").count() == 0
    client.get("/lang/en")
    page = client.post("/users/add", data={"csrf_token": "an-old-token"}).get_data(as_text=True)
    assert "This page has expired" in page and "Back button" in page


def _profile_form_token(client) -> str:
    page = client.get("/users/userinfo/").get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def test_a_form_sent_after_a_logout_in_another_tab_says_so_and_leads_to_the_login(app, client, ctx, monkeypatch):
    """Logged out meanwhile in another tab (tabs share the cookie), the stale
    form's page must not claim the user "logged in again": it says the login ended and its
    button leads to the login page, coming back to the form's page afterwards."""
    from .conftest import ORGADMIN_A

    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    login_as(client, ORGADMIN_A)
    client.get("/lang/en")
    token = _profile_form_token(client)
    client.get("/logout/")
    response = client.post("/profile/details", data={"csrf_token": token, "first_name": "X", "phone": "1"},
                           headers={"Referer": "http://localhost/users/userinfo/"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "This page has expired" in page
    assert "logged in again" not in page and "log in again" in page
    assert re.search(r'id="error-action" href="/login/\?next=(/|%2F)users(/|%2F)userinfo(/|%2F)"', page)


def test_a_stale_form_of_someone_still_logged_in_keeps_the_start_page_button(app, client, ctx, monkeypatch):
    from .conftest import ORGADMIN_A

    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    login_as(client, ORGADMIN_A)
    page = client.post("/profile/details", data={"csrf_token": "an-old-token"}).get_data(as_text=True)
    assert "ログインし直したなど" in page and 'id="error-action"' not in page


def test_a_screen_whose_login_ended_is_told_to_log_in_again_not_to_send_an_api_key(client):
    """Screen 7 after a logout in another tab: its fetches were answered "send an API key in
    the Authorization: Bearer header", words for programs, shown to a hospital's user."""
    url = "/api/v1/classification/hospital/2/mapping/page"
    from_the_screen = client.get(url, headers={"X-CSRFToken": "a-token", "Accept": "application/json"})
    assert from_the_screen.status_code == 401
    assert from_the_screen.get_json()["message"] == "ログインが終了しました。ページを再読み込みして、もう一度ログインしてください。"
    client.get("/lang/en")
    english = client.get(url, headers={"Sec-Fetch-Site": "same-origin"}).get_json()["message"]
    assert english == "Your login has ended. Reload the page and log in again."
    from_a_program = client.get(url)
    assert from_a_program.status_code == 401 and "Bearer" in from_a_program.get_json()["message"]


def test_a_stale_login_form_does_not_claim_a_login_ended(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    response = client.post("/login/", data={"csrf_token": "an-old-token", "email": HOSPITAL_A, "password": "x"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "画面の有効期限が切れました" in page
    assert "ログインが終了していたため" not in page
