"""Helpers for headless-Chromium tests: a live server on a free port and a login through
the real screens (password, then TOTP enrollment or a TOTP code)."""
from __future__ import annotations

import contextlib
import os
import shutil
import threading
import time

import pyotp
import pytest
from werkzeug.serving import make_server

from app.seeding.seed import DEMO_PASSWORD

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

# Browser tests need Debian's Chromium. Without it they are skipped on a developer's machine,
# but never under CI (CI=true), where a missing browser must fail the run.
BROWSER_TEST = [
    pytest.mark.browser,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None and os.environ.get("CI") != "true",
                       reason="chromium is not installed (apt-get install -y chromium)"),
]


@contextlib.contextmanager
def serve(app, csrf: bool = True):
    """Run ``app`` on 127.0.0.1 in a thread (CSRF on, as in production); yield its URL."""
    saved = app.config["WTF_CSRF_ENABLED"]
    app.config["WTF_CSRF_ENABLED"] = csrf
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)
        app.config["WTF_CSRF_ENABLED"] = saved


def browser_login(page, base: str, email: str, password: str = DEMO_PASSWORD) -> str | None:
    """Log ``page`` in as ``email``; returns the TOTP secret when it enrolled one."""
    page.goto(f"{base}/login/")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    secret = None
    if page.locator("#totp-secret").count():
        secret = page.inner_text("#totp-secret").strip()
        page.fill("input[name=code]", pyotp.TOTP(secret).now())
        page.click("button[type=submit]")
        page.wait_for_load_state()
        if page.locator("#continue").count():
            page.click("#continue")
            page.wait_for_load_state()
    elif page.locator("input[name=code]").count():
        raise RuntimeError("the user already has TOTP; pass a fresh user or its secret")
    return secret


def next_totp(secret: str) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30)


PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@contextlib.contextmanager
def logged_in_page(app, email: str, viewport: dict = DESKTOP):
    """``(page, base)``: a live server and one Chromium page logged in as ``email``."""
    from playwright import sync_api

    with serve(app) as base, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_context(viewport=viewport).new_page()
            browser_login(page, base, email)
            yield page, base
        finally:
            browser.close()


def pages_wider_than_a_phone(browser, base: str, pages: dict[str, list[str]],
                             language: str | None = None) -> list[tuple[str, int]]:
    """``(url, width)`` of each page wider than :data:`PHONE`, each login in its own context
    (after /lang/<language> when given: the page must then say it is in that language)."""
    too_wide = []
    for email, urls in pages.items():
        context = browser.new_context(viewport=PHONE)
        page = context.new_page()
        browser_login(page, base, email)
        if language:
            page.goto(f"{base}/lang/{language}")
        for url in urls:
            response = page.goto(base + url)
            assert response.status == 200, url
            if language:
                assert page.locator("html").get_attribute("lang") == language, url
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > PHONE["width"]:
                too_wide.append((url, width))
        context.close()
    return too_wide


def answer_dialog(page, accept: bool = True, timeout: float = 10000) -> str:
    """The question of the page's in-page dialog (static/js/dialog.js), answered with its OK
    button or with Escape; returns the question once the dialog has closed."""
    dialog = page.wait_for_selector(".os-dialog[role=alertdialog][aria-modal=true]", timeout=timeout)
    dialog_id = dialog.get_attribute("id")
    question = dialog.query_selector(".os-dialog-text").inner_text()
    if accept:
        page.click(f"#{dialog_id} [data-answer=ok]")
    else:
        page.keyboard.press("Escape")
    page.wait_for_selector(f"#{dialog_id}", state="detached", timeout=timeout)
    return question
