"""In headless Chromium (issue 14 acceptance): the demo dealer acting for its level-1 hospital
opens every item of its menu and none is refused; a screen its level does not allow, typed as a
URL, is a Japanese error page in the app's layout."""
from __future__ import annotations

from playwright import sync_api

from .browser import ARGS, BROWSER_TEST, CHROMIUM, browser_login, serve
from .conftest import DEALER

pytestmark = BROWSER_TEST


def test_level_1_dealer_menu_crawl_and_japanese_refusal(app, ctx):
    with serve(app) as base, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        try:
            browser_login(page, base, DEALER)
            page.goto(f"{base}/")
            page.wait_for_selector("#dealer-hospitals")
            page.locator("#dealer-hospitals tr", has_text="みなと中央病院").locator("button").click()
            page.wait_for_load_state()
            hrefs = page.eval_on_selector_all(
                "header.top ul.nav.navbar-nav:not(.navbar-right) a[href^='/']",
                "links => links.map(a => a.getAttribute('href'))")
            menu = sorted({h for h in hrefs if not h.startswith(("/logout", "/lang/"))})
            assert {"/upload/", "/reports/"} <= set(menu), menu
            assert not {"/ledger/", "/report-selection/", "/classification-mapping/"} & set(menu), menu
            answers = {}
            for href in menu:
                response = page.goto(base + href)
                answers[href] = response.status
            assert all(status == 200 for status in answers.values()), answers

            response = page.goto(f"{base}/ledger/")
            assert response.status == 403
            body = page.inner_text("body")
            assert "アクセスできません" in body and "Forbidden" not in body
            assert page.locator("header.top").count() == 1  # the app's layout, with its menu
        finally:
            browser.close()
