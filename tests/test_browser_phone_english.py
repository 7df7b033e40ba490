"""In English on a phone (390×844), a page is no wider than the screen. English headers
("Previous month's rank", "Receipt no.") do not break between characters as Japanese ones do,
so tables that fitted in Japanese stuck out past the right edge and the whole page slid
sideways; every table now scrolls inside its own box."""
from __future__ import annotations

import pathlib
import re

from playwright import sync_api

from .browser import ARGS, BROWSER_TEST, CHROMIUM, pages_wider_than_a_phone, serve
from .conftest import ADMIN, HOSPITAL_A, MANUFACTURER
from .report_data import make_dataset

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
    with serve(app) as base, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            too_wide = pages_wider_than_a_phone(browser, base, PAGES, language="en")
        finally:
            browser.close()
    assert too_wide == []
