"""In headless Chromium: log in as a hospital user, land on the dashboard, download the
analysis report."""

import openpyxl
from playwright import sync_api

from app.extensions import db
from app.models import Download
from app.services.reports.service import generate_reports

from .browser import ARGS, BROWSER_TEST, CHROMIUM, browser_login, serve
from .conftest import HOSPITAL_A
from .report_data import MONTH, make_dataset

pytestmark = BROWSER_TEST


def test_login_dashboard_and_download(app, ctx, tmp_path):
    data = make_dataset()
    generate_reports(data["hospital"], MONTH, notify=False)
    db.session.remove()
    with serve(app) as base, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(accept_downloads=True)
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        try:
            browser_login(page, base, HOSPITAL_A)
            page.goto(f"{base}/")
            page.wait_for_selector("#dashboard")
            assert "/dashboard/" in page.url
            assert "さくら台総合病院" in page.inner_text("#dashboard .panel-heading")
            row = page.locator('section[data-scope="all"] .dashboard-lending tr[data-figure="lending_hours"] td').first
            assert row.inner_text() == "330.0"
            charts = page.locator("section[data-scope=all] img")
            assert charts.count() == 2
            charts.first.scroll_into_view_if_needed()
            page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=charts.first.element_handle())
            page.click("text=分析レポートのダウンロード")
            page.wait_for_selector("#report-download")
            with page.expect_download() as info:
                page.click('.report-card[data-type="1"] a.report-download')
            download = info.value
            target = tmp_path / download.suggested_filename
            download.save_as(target)
            assert download.suggested_filename == "分析レポート_さくら台総合病院_2025-05.xlsx"
            assert "①貸出サマリー" in openpyxl.load_workbook(target).sheetnames
        finally:
            browser.close()
    assert not errors
    db.session.expire_all()
    assert db.session.query(Download).count() == 1
