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
