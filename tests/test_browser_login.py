"""Screen 1 in headless Chromium: enrollment (QR page, #totp-secret), recovery codes, logout,
and a second login with a fresh TOTP code, with the real CSP and CSRF in force."""
import time

import pyotp
import pytest
from playwright import sync_api

from app.seeding.seed import DEMO_PASSWORD

from .browser import ARGS, BROWSER_TEST, CHROMIUM, serve
from .conftest import HOSPITAL_A

pytestmark = BROWSER_TEST


@pytest.fixture()
def live_server(app):
    with serve(app) as base:
        yield base


def test_enroll_logout_and_login_again_with_totp(live_server):
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        csp_errors = []
        page.on("console", lambda m: csp_errors.append(m.text)
                if "Content Security Policy" in m.text else None)
        try:
            page.goto(f"{live_server}/login/")
            page.fill("input[name=email]", HOSPITAL_A)
            page.fill("input[name=password]", DEMO_PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_selector("#totp-secret")
            assert page.locator(".totp-qr svg").count() == 1
            secret = page.inner_text("#totp-secret").strip()
            page.fill("input[name=code]", pyotp.TOTP(secret).now())
            page.click("button[type=submit]")
            page.wait_for_selector("#recovery-codes")
            assert page.locator("#recovery-codes li").count() == 10
            page.click("#continue")
            page.goto(f"{live_server}/users/userinfo/")
            assert HOSPITAL_A in page.content()

            page.goto(f"{live_server}/logout/")
            page.goto(f"{live_server}/users/userinfo/")
            assert "/login/" in page.url

            page.goto(f"{live_server}/login/")
            page.fill("input[name=email]", HOSPITAL_A)
            page.fill("input[name=password]", DEMO_PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_selector("input[name=code]")
            assert page.url.endswith("/login/totp")
            # the next step's code: inside the ±1 window and never used before
            page.fill("input[name=code]", pyotp.TOTP(secret).at(time.time() + 30))
            page.click("button[type=submit]")
            page.wait_for_load_state()
            page.goto(f"{live_server}/users/userinfo/")
            assert HOSPITAL_A in page.content()
            assert not csp_errors, csp_errors
        finally:
            browser.close()


def test_profile_password_change_then_login_with_the_new_one(live_server):
    """Issue 14 item 8: the profile page changes the password; the next login takes the new
    one and refuses the old one."""
    from .browser import browser_login, next_totp

    new_password = "hoshi-no-kazu-hodo-88"
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        try:
            secret = browser_login(page, live_server, HOSPITAL_A)
            page.goto(f"{live_server}/users/userinfo/")
            page.fill("input[name=current_password]", DEMO_PASSWORD)
            page.fill("input[name=password]", new_password)
            page.fill("input[name=password_confirm]", new_password)
            page.click("#change-password")
            page.wait_for_load_state()
            assert "パスワードを変更しました" in page.content()
            page.goto(f"{live_server}/logout/")

            page.goto(f"{live_server}/login/")
            page.fill("input[name=email]", HOSPITAL_A)
            page.fill("input[name=password]", DEMO_PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_load_state()
            assert page.url.endswith("/login/")  # the old password is refused

            page.fill("input[name=email]", HOSPITAL_A)
            page.fill("input[name=password]", new_password)
            page.click("button[type=submit]")
            page.wait_for_selector("input[name=code]")
            page.fill("input[name=code]", next_totp(secret))
            page.click("button[type=submit]")
            page.wait_for_load_state()
            page.goto(f"{live_server}/users/userinfo/")
            assert page.locator("#profile-page").count() == 1
            assert HOSPITAL_A in page.content()
        finally:
            browser.close()
