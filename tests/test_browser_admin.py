"""Issue 2 acceptance in headless Chromium: the demo Admin logs in and sees the user list,
in Japanese."""
from playwright import sync_api

from .browser import ARGS, BROWSER_TEST, CHROMIUM, browser_login, serve
from .conftest import ADMIN, HOSPITAL_B

pytestmark = BROWSER_TEST


def test_admin_sees_the_user_list_in_japanese(app):
    with serve(app) as base, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        try:
            browser_login(page, base, ADMIN)
            page.goto(f"{base}/users/list/")
            body = page.inner_text("body")
            assert "ユーザー一覧" in body
            assert "メールアドレス" in body and "状態" in body
            assert ADMIN in body and HOSPITAL_B in body
            assert "稼働中" in body
        finally:
            browser.close()
