"""Screen 1 in headless Chromium: enrollment (QR page, #totp-secret), recovery codes, logout,
and a second login with a fresh TOTP code, with the real CSP and CSRF in force."""
import shutil
import threading
import time

import pyotp
import pytest
from werkzeug.serving import make_server

from app.seed import DEMO_PASSWORD

from .conftest import HOSPITAL_A

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="chromium is not installed"),
]


@pytest.fixture()
def live_server(app):
    saved = app.config["WTF_CSRF_ENABLED"]
    app.config["WTF_CSRF_ENABLED"] = True
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)
        app.config["WTF_CSRF_ENABLED"] = saved


def test_enroll_logout_and_login_again_with_totp(live_server):
    sync_api = pytest.importorskip("playwright.sync_api")
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
