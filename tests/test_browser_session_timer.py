"""The idle-expiry notice in headless Chromium (CSP and CSRF in force), with a one-minute
idle time: it appears, is focused and speaks Japanese; 「ログインを続ける」 extends the
session; once the session has ended it says so and links to the login page."""
from __future__ import annotations

from .browser import BROWSER_TEST, logged_in_page
from .conftest import HOSPITAL_A

pytestmark = BROWSER_TEST


def test_the_notice_warns_extends_and_reports_the_end(app, monkeypatch):
    monkeypatch.setitem(app.config, "SESSION_IDLE_MINUTES", 1)
    monkeypatch.setitem(app.config, "SESSION_WARN_SECONDS", 57)  # the notice after ~3 s
    with logged_in_page(app, HOSPITAL_A) as (page, base):
        page.goto(f"{base}/users/userinfo/")
        notice = page.wait_for_selector("#session-notice", timeout=15000)
        assert notice.get_attribute("role") == "alertdialog"
        assert "まもなく自動ログアウトします（残り 1 分）" in notice.inner_text()
        assert page.evaluate("document.activeElement.id") == "session-continue"
        assert page.get_attribute("#session-notice", "aria-labelledby") == "session-notice-title"

        page.click("#session-continue")
        page.wait_for_selector("#session-notice", state="detached", timeout=5000)
        left = page.request.get(f"{base}/session/remaining").json()["seconds"]
        assert left >= 57  # extended: a full minute again, less the moments since
        # the session now ends at once: the next look finds it over
        monkeypatch.setitem(app.config, "SESSION_IDLE_MINUTES", 0)
        page.wait_for_selector("#session-login", timeout=15000)
        text = page.inner_text("#session-notice")
        assert "一定時間操作がなかったため、ログアウトしました" in text
        assert page.get_attribute("#session-login", "href").startswith("/login")
        page.click("#session-login")
        page.wait_for_load_state()
        assert page.locator("input[name=password]").count() == 1


def test_the_notice_speaks_english_when_chosen(app, monkeypatch):
    monkeypatch.setitem(app.config, "SESSION_IDLE_MINUTES", 1)
    monkeypatch.setitem(app.config, "SESSION_WARN_SECONDS", 57)
    with logged_in_page(app, HOSPITAL_A) as (page, base):
        page.goto(f"{base}/lang/en")
        page.goto(f"{base}/users/userinfo/")
        notice = page.wait_for_selector("#session-notice", timeout=15000)
        assert "You will be logged out soon (1 min left)" in notice.inner_text()
        assert page.inner_text("#session-continue") == "Stay logged in"
