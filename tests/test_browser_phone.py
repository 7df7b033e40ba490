"""On a phone (390×844), a page is no wider than the screen: a wide table scrolls inside
its own box, and a row of columns does not stick out past the right edge. A page wider than
the screen lets the whole layout slide sideways under the thumb and hides the menu button."""
from __future__ import annotations

import datetime as dt

from playwright import sync_api

from app.core.months import utc_now
from app.extensions import db
from app.models import ReportFile

from .browser import ARGS, BROWSER_TEST, CHROMIUM, pages_wider_than_a_phone, serve
from .conftest import HOSPITAL_A, MANUFACTURER, OPERATOR
from .report_data import hospital, make_dataset

pytestmark = BROWSER_TEST

PAGES = {
    HOSPITAL_A: ["/users/userinfo/", "/reports/?month=2025-05", "/ledger/", "/classification-mapping/",
                 "/dashboard/devices?month=2025-05&scope=all"],
    OPERATOR: ["/makers/"],
    MANUFACTURER: ["/"],
}


def test_pages_fit_a_phone_screen(app, ctx):
    make_dataset()
    h = hospital("H0001")
    db.session.add(ReportFile(hospital_id=h.id, month=dt.date(2025, 5, 1), file_type=1, status="published",
                              file_name="分析レポート_さくら台総合病院_2025-05.xlsx", size=140_000,
                              storage_key="reports/phone.xlsx", published_at=utc_now()))
    db.session.commit()
    db.session.remove()
    with serve(app) as base, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            too_wide = pages_wider_than_a_phone(browser, base, PAGES)
        finally:
            browser.close()
    assert too_wide == []
