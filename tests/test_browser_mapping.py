"""Screen 7 in headless Chromium (issue 14): search, accept with the keyboard and by click
without a reload, and the bulk accept on a filter (preview, then apply) — CSP and CSRF on."""
from playwright import sync_api

from app.extensions import db
from app.models import Classification, Organization
from app.services.classifications.mapping import ensure_hospital_classifications

from .browser import ARGS, BROWSER_TEST, CHROMIUM, browser_login, serve
from .conftest import HOSPITAL_A
from .test_browser_selection import wait_until
from .test_classifications import add_devices

pytestmark = BROWSER_TEST


def mapped_name(cid):
    db.session.expire_all()
    cls = db.session.get(Classification, cid)
    return cls.smds_classification.name if cls.smds_classification else None


def test_mapping_search_accept_and_bulk_without_reload(app, ctx):
    hospital = db.session.query(Organization).filter_by(code="H0001").one()
    ids = ensure_hospital_classifications(db.session, hospital.id, [
        ("ｼﾘﾝｼﾞﾎﾟﾝﾌﾟ(病棟Ａ)",), ("ｼﾘﾝｼﾞﾎﾟﾝﾌﾟ(病棟Ｂ)",), ("ポンプ(輸液)",), ("ポンプ（シリンジ）",)])
    db.session.commit()
    ward_a, ward_b = ids[("シリンジポンプ(病棟A)",)], ids[("シリンジポンプ(病棟B)",)]
    pump_iv, pump_syringe = ids[("ポンプ(輸液)",)], ids[("ポンプ(シリンジ)",)]
    add_devices("H0001", ward_a, 3)
    add_devices("H0001", pump_iv, 30)
    with serve(app) as base, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        errors, loads = [], []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: m.type == "error" and "favicon" not in (m.location.get("url") or "")
                and errors.append(m.text))
        try:
            browser_login(page, base, HOSPITAL_A)
            page.goto(f"{base}/classification-mapping/")
            page.wait_for_selector("#mapping-table tbody tr[data-id]")
            assert page.locator("#mapping-table tbody tr[data-id]").count() == 50
            assert "1 / " in page.inner_text("#page-info")
            unmapped_before = int(page.inner_text("#mapping-unmapped"))
            page.on("load", lambda _: loads.append(1))  # any full page load from here on is a failure

            # Search: half-width kana and full-width letters find the ordinary spelling.
            page.fill("#mf-q", "ｼﾘﾝｼﾞﾎﾟﾝﾌﾟ(病棟")
            wait_until(page, lambda: page.locator("#mapping-table tbody tr[data-id]").count() == 2)
            names = page.locator("#mapping-table tbody .cls-name").all_inner_texts()
            assert names == ["シリンジポンプ(病棟A)", "シリンジポンプ(病棟B)"]  # most devices first
            assert "?q=" in page.url  # the filter stays in the address

            # Keyboard: the first row is highlighted; Enter accepts its first suggestion.
            page.click("#mapping-table tbody tr[data-index='0'] .cls-name")
            page.keyboard.press("Enter")
            wait_until(page, lambda: "シリンジポンプ" in page.inner_text(
                f"#mapping-table tr[data-id='{ward_a}'] td.mapped"))
            assert mapped_name(ward_a) == "シリンジポンプ"
            assert int(page.inner_text("#mapping-unmapped")) == unmapped_before - 1
            # The highlight moved on; ↑ then ↓ comes back to it, Enter accepts the second row.
            assert page.get_attribute(f"#mapping-table tr[data-id='{ward_b}']", "aria-selected") == "true"
            page.keyboard.press("ArrowUp")
            page.keyboard.press("ArrowDown")
            page.keyboard.press("Enter")
            wait_until(page, lambda: "シリンジポンプ" in page.inner_text(
                f"#mapping-table tr[data-id='{ward_b}'] td.mapped"))
            assert mapped_name(ward_b) == "シリンジポンプ"
            # Unmap by click, without reload either.
            page.click(f"#mapping-table tr[data-id='{ward_b}'] button.unmap")
            wait_until(page, lambda: "未紐付け" in page.inner_text(
                f"#mapping-table tr[data-id='{ward_b}'] td.mapped"))
            assert mapped_name(ward_b) is None

            # Bulk accept on a filter: unmapped + "ポンプ(" — preview first, nothing changes.
            page.fill("#mf-q", "ポンプ(")
            page.select_option("#mf-status", "unmapped")
            wait_until(page, lambda: page.locator(f"#mapping-table tr[data-id='{pump_iv}']").count() == 1)
            page.click("#bulk-preview")
            page.wait_for_selector(f"#bulk-table tr[data-id='{pump_iv}']")
            preview = {row.get_attribute("data-id"): row.inner_text()
                       for row in page.locator("#bulk-table tbody tr").all()}
            assert "輸液ポンプ" in preview[str(pump_iv)]  # the qualifier is the head, not ポンプ
            assert "シリンジポンプ" in preview[str(pump_syringe)]
            assert str(ward_a) not in preview  # already mapped
            assert page.locator("#bulk-table tbody tr").first.get_attribute("data-id") == str(pump_iv)
            assert f"{len(preview)}件" in page.inner_text("#bulk-summary")
            assert mapped_name(pump_iv) is None
            page.click("#bulk-apply")
            wait_until(page, lambda: "件を紐付けました" in page.inner_text("#mapping-message"))
            assert mapped_name(pump_iv) == "輸液ポンプ" and mapped_name(pump_syringe) == "シリンジポンプ"
            assert page.is_hidden("#bulk-panel")
            # The unmapped filter no longer lists them.
            wait_until(page, lambda: page.locator(f"#mapping-table tr[data-id='{pump_iv}']").count() == 0)
            assert not loads, "the screen reloaded"
            assert not errors, errors
        finally:
            browser.close()


def test_a_suggestion_backed_by_other_hospitals_models_says_so(app, ctx):
    from .test_mapping_models import mapped_class, sonota_of_a

    cid = sonota_of_a()
    mapped_class("H0002", "モニタ類（病棟）", "生体情報モニター", "B-BSM")
    with serve(app) as base, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        try:
            browser_login(page, base, HOSPITAL_A)
            page.goto(f"{base}/classification-mapping/?q=その他&level=2")
            row = f"#mapping-table tr[data-id='{cid}']"
            page.wait_for_selector(row)
            assert page.inner_text(f"{row} td.suggestions button.accept-first").startswith("生体情報モニター")
            hint = page.locator(f"{row} .model-hint")
            assert hint.count() == 1 and hint.inner_text() == "同じ型式: 他院1施設"
            assert "機器4台" in hint.get_attribute("title")
            assert errors == []
        finally:
            browser.close()


def test_keyboard_enter_on_a_link_follows_it_and_esc_closes_the_bulk_preview(app, ctx):
    """Enter on a focused link (menu bar, CSV download) is the link's, not "accept the
    highlighted row"; the bulk preview closes with Esc and gives the focus back to its button."""
    hospital = db.session.query(Organization).filter_by(code="H0001").one()
    ids = ensure_hospital_classifications(db.session, hospital.id, [("ｼﾘﾝｼﾞﾎﾟﾝﾌﾟ(病棟Ｃ)",)])
    db.session.commit()
    ward_c = ids[("シリンジポンプ(病棟C)",)]
    add_devices("H0001", ward_c, 3)
    with serve(app) as base, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        try:
            browser_login(page, base, HOSPITAL_A)
            page.goto(f"{base}/classification-mapping/?q=病棟C&status=unmapped")
            page.wait_for_selector(f"#mapping-table tr[data-id='{ward_c}'][aria-selected='true']")

            page.focus("#bulk-preview")
            page.keyboard.press("Enter")
            page.wait_for_selector("#bulk-panel:not([hidden])")
            page.keyboard.press("Tab")
            page.keyboard.press("Escape")
            assert page.is_hidden("#bulk-panel")
            assert page.evaluate("document.activeElement.id") == "bulk-preview"

            page.focus(".navbar a[href='/dashboard/']")
            with page.expect_navigation():
                page.keyboard.press("Enter")
            assert page.url.endswith("/dashboard/")
        finally:
            browser.close()
    assert mapped_name(ward_c) is None
