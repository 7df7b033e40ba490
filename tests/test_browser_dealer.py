"""In headless Chromium: a dealer logs in, picks a hospital, switches to another in the
navbar, and uploads a file for it (CSP and CSRF in force)."""


from playwright import sync_api

from app.extensions import db
from app.models import Organization, UploadFile

from .browser import ARGS, BROWSER_TEST, CHROMIUM, browser_login, serve
from .conftest import DEALER
from .ingest_helpers import LEDGER_HEADER, csv_bytes, ledger_rows

pytestmark = BROWSER_TEST


def test_dealer_logs_in_switches_and_uploads(app, ctx, tmp_path):
    ledger = tmp_path / "台帳.csv"
    ledger.write_bytes(csv_bytes([LEDGER_HEADER] + ledger_rows(3)))
    sakura = db.session.query(Organization).filter_by(code="H0001").one().id
    minato = db.session.query(Organization).filter_by(code="H0002").one().id
    db.session.remove()
    with serve(app) as base, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        try:
            browser_login(page, base, DEALER)
            page.goto(f"{base}/")
            # Two hospitals and none chosen: the dealer is asked to pick one.
            page.wait_for_selector("#dealer-hospitals")
            assert "/dealer/hospitals" in page.url
            table = page.inner_text("#dealer-hospitals")
            assert "さくら台総合病院" in table and "3 全機能利用" in table
            assert "みなと中央病院" in table and "1 ダウンロードサイト閲覧" in table
            page.locator("#dealer-hospitals tr", has_text="みなと中央病院").locator("button").click()
            page.wait_for_load_state()
            assert "みなと中央病院（1 ダウンロードサイト閲覧）" in page.inner_text("#dealer-switcher")
            # Switch in the navigation bar.
            page.click("#dealer-switcher > a.dropdown-toggle")
            page.locator("#dealer-switcher button", has_text="さくら台総合病院").click()
            page.wait_for_load_state()
            assert "さくら台総合病院（3 全機能利用）" in page.inner_text("#dealer-switcher")
            page.goto(f"{base}/upload/")
            page.set_input_files("#file-ledger", str(ledger))
            page.click("button[type=submit].btn-primary")
            page.wait_for_load_state()
            assert "/upload/" in page.url
        finally:
            browser.close()
    assert not errors
    db.session.expire_all()
    stored = db.session.query(UploadFile).all()
    assert [(u.hospital_id, u.original_name) for u in stored] == [(sakura, "台帳.csv")]
    assert minato not in {u.hospital_id for u in stored}
