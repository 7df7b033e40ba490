"""In headless Chromium: the upload screen follows an unfinished upload until it is done, and
then its month's row of the upload history says so too (it said 処理中 until a reload)."""
from __future__ import annotations

import datetime as dt

from playwright import sync_api

from app.extensions import db
from app.models import Organization, UploadFile
from app.services.uploads import records as uploads

from .browser import ARGS, BROWSER_TEST, CHROMIUM, browser_login, serve
from .conftest import HOSPITAL_A

pytestmark = BROWSER_TEST


def test_finished_upload_updates_status_and_history_without_reload(app, ctx):
    hospital = db.session.query(Organization).filter_by(code="H0001").one()
    month = uploads.default_month()
    upload = UploadFile(hospital_id=hospital.id, month=month, file_type=1, original_name="ledger.csv", size=1,
                        sha256="2" * 64, status="processing", uploaded_at=dt.datetime(2026, 11, 1))
    db.session.add(upload)
    db.session.commit()
    upload_id = upload.id
    db.session.remove()
    errors: list[str] = []
    with serve(app) as base, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        try:
            browser_login(page, base, HOSPITAL_A)
            page.goto(f"{base}/upload/")
            row = page.locator("#upload-history tr", has_text=f"{month:%Y-%m}")
            assert "処理中" in row.inner_text()
            stored = db.session.get(UploadFile, upload_id)
            stored.status, stored.rows_total, stored.rows_imported = "succeeded", 3, 3
            db.session.commit()
            db.session.remove()
            page.wait_for_function(
                f"() => document.querySelector('#upload-status tr[data-upload-id=\"{upload_id}\"]')"
                ".getAttribute('data-done') === 'true'", timeout=15000)
            page.wait_for_function(
                "() => !document.getElementById('upload-history').textContent.includes('処理中')", timeout=15000)
            assert "一部完了" in row.inner_text() and "○" in row.inner_text()
        finally:
            browser.close()
    assert not errors, errors
