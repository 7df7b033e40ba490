"""In English on a phone (390×844), a page is no wider than the screen. English headers
("Previous month's rank", "Receipt no.") do not break between characters as Japanese ones do,
so tables that fitted in Japanese stuck out past the right edge and the whole page slid
sideways; every table now scrolls inside its own box."""
from __future__ import annotations

import pathlib
import re

from playwright import sync_api

from .browser import ARGS, BROWSER_TEST, CHROMIUM, browser_login, serve
from .conftest import ADMIN, HOSPITAL_A, MANUFACTURER
from .report_data import make_dataset

PHONE = {"width": 390, "height": 844}
TEMPLATES = pathlib.Path(__file__).resolve().parent.parent / "app" / "templates"

PAGES = {
    HOSPITAL_A: ["/dashboard/?month=2025-05", "/upload/", "/dealer-permissions/"],
    ADMIN: ["/"],
    MANUFACTURER: ["/manufacturer/figures"],
}


def test_every_screen_table_scrolls_inside_its_own_box():
    """A table added later keeps to a phone's width too, whatever its language."""
    bare = []
    for template in TEMPLATES.rglob("*.html"):
        if "mail" in template.parts:
            continue
        text = template.read_text(encoding="utf-8")
        for match in re.finditer(r"<table\b", text):
            if not text[:match.start()].rstrip().endswith('<div class="table-responsive">'):
                bare.append(f"{template.relative_to(TEMPLATES)}:{text.count(chr(10), 0, match.start()) + 1}")
    assert bare == []


@BROWSER_TEST[0]
@BROWSER_TEST[1]
def test_english_pages_fit_a_phone_screen(app, ctx):
    make_dataset()
    too_wide = []
    with serve(app) as base, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for email, urls in PAGES.items():
                context = browser.new_context(viewport=PHONE)
                page = context.new_page()
                browser_login(page, base, email)
                page.goto(f"{base}/lang/en")
                for url in urls:
                    response = page.goto(base + url)
                    assert response.status == 200, url
                    assert page.locator("html").get_attribute("lang") == "en", url
                    width = page.evaluate("document.documentElement.scrollWidth")
                    if width > PHONE["width"]:
                        too_wide.append((url, width))
                context.close()
        finally:
            browser.close()
    assert too_wide == []
