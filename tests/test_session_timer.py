"""The idle-expiry notice's server side: how much of a session is left, extending it, and
the page polls that must not count as activity (app/access/sessions.py,
app/views/session_timer.py)."""
from __future__ import annotations

import re
import time

from app.access.sessions import SEEN_KEY, remaining_seconds

from .conftest import DEALER, HOSPITAL_A, OPERATOR, login_as


def test_remaining_seconds_counts_down_to_zero_and_stays_there():
    assert remaining_seconds(1000, 1000, 30) == 1800
    assert remaining_seconds(1000, 1000 + 1799, 30) == 1
    assert remaining_seconds(1000, 1000 + 1800, 30) == 0
    assert remaining_seconds(1000, 1000 + 5000, 30) == 0
    assert remaining_seconds(None, 1000, 30) == 0  # a session that never recorded activity


def _age(client, seconds: int) -> int:
    """Move the session's last activity ``seconds`` into the past; returns the new value."""
    with client.session_transaction() as session:
        session[SEEN_KEY] = int(time.time()) - seconds
        return session[SEEN_KEY]


def _seen(client) -> int:
    with client.session_transaction() as session:
        return session[SEEN_KEY]


def _page_token(client) -> str:
    page = client.get("/users/userinfo/").get_data(as_text=True)
    return re.search(r'id="session-timer"[^>]*data-csrf="([^"]+)"', page, re.S).group(1)


def test_asking_what_is_left_does_not_extend_the_session(app, client):
    login_as(client, HOSPITAL_A)
    seen = _age(client, 600)
    answer = client.get("/session/remaining")
    idle = app.config["SESSION_IDLE_MINUTES"] * 60
    assert answer.status_code == 200
    assert idle - 600 - 2 <= answer.get_json()["seconds"] <= idle - 600
    assert answer.get_json()["warn_seconds"] == app.config["SESSION_WARN_SECONDS"] == 300
    assert _seen(client) == seen
    # an ordinary page does count as activity
    client.get("/users/userinfo/")
    assert _seen(client) > seen


def test_status_polls_of_a_page_do_not_extend_the_session(client):
    login_as(client, OPERATOR)
    seen = _age(client, 600)
    client.get("/upload/status?ids=1")
    client.get("/reports/jobs")
    assert _seen(client) == seen


def test_an_expired_session_answers_zero_and_401(app, client):
    login_as(client, HOSPITAL_A)
    _age(client, app.config["SESSION_IDLE_MINUTES"] * 60 + 1)
    answer = client.get("/session/remaining")
    assert answer.status_code == 401 and answer.get_json()["seconds"] == 0


def test_extend_restarts_the_idle_time(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    login_as(client, HOSPITAL_A)
    token = _page_token(client)
    seen = _age(client, 1000)
    answer = client.post("/session/extend", headers={"X-CSRFToken": token, "Accept": "application/json"})
    assert answer.status_code == 200
    assert answer.get_json()["seconds"] >= app.config["SESSION_IDLE_MINUTES"] * 60 - 2
    assert _seen(client) > seen + 900


def test_extend_needs_the_csrf_token(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    login_as(client, HOSPITAL_A)
    seen = _age(client, 1000)
    answer = client.post("/session/extend", headers={"Accept": "application/json"})
    assert answer.status_code == 400
    assert "画面の有効期限が切れました" in answer.get_json()["message"]
    answer = client.post("/session/extend", headers={"X-CSRFToken": "an-old-token"})
    assert answer.status_code == 400
    assert _seen(client) == seen


def test_extend_needs_a_login(app, client):
    answer = client.post("/session/extend", headers={"Accept": "application/json"})
    assert answer.status_code == 401 and answer.get_json()["seconds"] == 0
    with client.session_transaction() as session:
        assert SEEN_KEY not in session
    # an ended session is not brought back either
    login_as(client, HOSPITAL_A)
    _age(client, app.config["SESSION_IDLE_MINUTES"] * 60 + 1)
    assert client.post("/session/extend").status_code == 401
    assert client.get("/users/userinfo/").status_code != 200


def test_every_logged_in_page_carries_the_notice_words_and_the_login_page_does_not(client):
    assert 'id="session-timer"' not in client.get("/login/").get_data(as_text=True)
    login_as(client, HOSPITAL_A)
    page = client.get("/users/userinfo/").get_data(as_text=True)
    assert "まもなく自動ログアウトします（残り {m} 分）" in page and "ログインを続ける" in page
    assert "js/session_timer.js" in page
    client.get("/lang/en")
    page = client.get("/users/userinfo/").get_data(as_text=True)
    assert "You will be logged out soon ({m} min left)" in page and "Stay logged in" in page


def test_a_poll_answers_without_a_cookie_so_a_late_one_cannot_undo_a_language_choice(app, client):
    login_as(client, HOSPITAL_A)
    with client.session_transaction() as session:
        session.permanent = True  # as a real login makes it (sessions.start)
    client.get("/users/userinfo/")
    stale = client.get_cookie("session").value  # the cookie a page's poll was sent with
    assert client.get("/lang/en").status_code == 302
    chosen = client.get_cookie("session").value
    assert chosen != stale
    # the poll sent before the choice is answered after it: no Set-Cookie, the choice stays
    client.set_cookie("session", stale)
    poll = client.get("/session/remaining")
    assert poll.status_code == 200 and "Set-Cookie" not in poll.headers
    client.set_cookie("session", chosen)
    assert 'lang="en"' in client.get("/users/userinfo/").get_data(as_text=True)


def test_a_dealer_who_has_not_chosen_a_hospital_yet_gets_the_time_left_not_the_choice(app, client):
    """The choice page's own timer asked /session/remaining, was sent to the choice page, and
    read that HTML as "the session has ended": a false logout notice seconds after login."""
    login_as(client, DEALER)
    assert "/dealer/hospitals" in client.get("/").headers["Location"]  # the gate still applies to pages
    answer = client.get("/session/remaining")
    assert answer.status_code == 200 and answer.get_json()["seconds"] > 60
