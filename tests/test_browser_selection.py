"""Screen 6 (K007) in headless Chromium: select, order, boundaries, unselect, level change,
automatic mode and saving with the spec's confirmations — CSP and CSRF in force."""


from playwright import sync_api

from app.extensions import db
from app.models import Classification, Organization, ReportSelection

from .browser import ARGS, BROWSER_TEST, CHROMIUM, answer_dialog, browser_login, serve
from .conftest import HOSPITAL_A

pytestmark = BROWSER_TEST


def wait_until(page, condition, seconds=10):
    """Poll from Python: the page's CSP forbids the string eval of wait_for_function."""
    for _ in range(int(seconds * 10)):
        if condition():
            return
        page.wait_for_timeout(100)
    raise AssertionError("condition not met in time")


def test_ordering_ui(app, ctx):
    hospital = db.session.query(Organization).filter_by(code="H0001").one()
    level1 = (db.session.query(Classification).filter_by(hospital_id=hospital.id, level=1)
              .order_by(Classification.name, Classification.id).all())
    a, b, c = level1[0], level1[1], level1[2]
    with serve(app) as base, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        errors = []

        def on_console(message):
            url = message.location.get("url") or ""
            # The browser's own favicon request is not the screen's business.
            if message.type == "error" and not url.endswith("/favicon.ico"):
                errors.append(f"{message.text} {url}")

        page.on("console", on_console)
        page.on("pageerror", lambda e: errors.append(str(e)))
        # The questions are the page's own dialog (dialog.js): the browser's must not appear.
        page.on("dialog", lambda dialog: errors.append(f"native dialog: {dialog.message}"))
        try:
            browser_login(page, base, HOSPITAL_A)
            page.goto(f"{base}/report-selection/")
            page.wait_for_selector("#sel-selected tbody tr")
            # This test orders classes picked by name, 0-device ones included.
            page.check("#sel-show-zero")
            page.select_option("#sel-sort", "name")
            # T01: nothing saved — level 1, automatic on, rank-count empty rows, buttons off.
            assert page.locator("#sel-selected tbody tr").count() == 5
            assert page.input_value("#sel-level") == "1"
            assert page.is_checked("#sel-auto")
            assert page.is_disabled("#btn-select") and page.is_disabled("#btn-up")
            # T05: unchecking automatic enables 選択.
            page.uncheck("#sel-auto")
            assert page.is_enabled("#btn-select")
            # T06: 選択 fills the first empty row, in order.
            for item in (a, b, c):
                page.click(f"#sel-available tr[data-id='{item.id}']")
                page.click("#btn-select")
            assert page.locator(f"#sel-available tr[data-id='{a.id}']").count() == 0
            ids = page.locator("#sel-selected tbody tr td:nth-child(2)").all_inner_texts()
            assert ids[:3] == [str(a.id), str(b.id), str(c.id)] and ids[3:] == ["", ""]
            assert "あと2個選択できます。" in page.inner_text("#sel-message")
            # T07/T08: rank 1 cannot go up; moving up and down swaps.
            page.click("#sel-selected tr[data-rank='1']")
            assert page.is_disabled("#btn-up") and page.is_enabled("#btn-down")
            page.click("#btn-down")
            ids = page.locator("#sel-selected tbody tr td:nth-child(2)").all_inner_texts()
            assert ids[:2] == [str(b.id), str(a.id)]
            page.click("#btn-up")
            # T09/T10: the last rank (rank count) cannot go down.
            page.click("#sel-selected tr[data-rank='3']")
            page.click("#btn-down")
            page.click("#btn-down")
            assert page.is_disabled("#btn-down")
            ids = page.locator("#sel-selected tbody tr td:nth-child(2)").all_inner_texts()
            assert ids == [str(a.id), str(b.id), "", "", str(c.id)]
            # 選択解除 returns it to the list.
            page.click("#btn-unselect")
            assert page.locator(f"#sel-available tr[data-id='{c.id}']").count() == 1
            # T11: save with a partly filled list asks the partial question.
            page.click("#btn-save")
            assert answer_dialog(page) == "選択数が上限に達していませんが、よろしいですか？"
            assert answer_dialog(page) == "登録が完了しました"
            assert page.evaluate("document.activeElement.id") == "btn-save"  # the focus came back
            db.session.expire_all()
            saved = [r.classification_id for r in
                     db.session.query(ReportSelection).order_by(ReportSelection.rank)]
            assert saved == [a.id, b.id]
            # T15: re-initialised from the saved rows.
            ids = page.locator("#sel-selected tbody tr td:nth-child(2)").all_inner_texts()
            assert ids[:2] == [str(a.id), str(b.id)]
            # T03: a level change empties the selection and lists that level only.
            page.select_option("#sel-level", "2")
            assert page.locator("#sel-selected tbody tr td:nth-child(2)").all_inner_texts() == [""] * 5
            assert page.is_enabled("#btn-select") and page.is_disabled("#btn-unselect")
            # T14: 最初に戻る reloads the saved state.
            page.click("#btn-reset")
            wait_until(page, lambda: page.input_value("#sel-level") == "1" and page.locator(
                "#sel-selected tbody tr td:nth-child(2)").all_inner_texts()[0] == str(a.id))
            # T04/T13: automatic mode asks, empties, and saving stores no rows.
            page.check("#sel-auto")
            assert answer_dialog(page) == "機器保有台数が多い順に機器分類を出力します。よろしいですか？"
            assert page.is_disabled("#btn-select")
            page.click("#btn-save")
            assert answer_dialog(page) == "機器保有台数が多い順に機器分類を出力します。よろしいですか？"
            assert answer_dialog(page) == "登録が完了しました"
            db.session.expire_all()
            assert db.session.query(ReportSelection).filter_by(hospital_id=hospital.id).count() == 0
            assert not errors, errors
        finally:
            browser.close()


def test_grouping_switch(app, ctx):
    """Switching to SMDS groups asks first, then lists the SMDS classifications the
    hospital's devices are mapped to; a refused confirmation changes nothing."""
    import datetime as dt

    from app.models import Equipment
    from app.services.ledger.device_months import list_devices

    hospital = db.session.query(Organization).filter_by(code="H0001").one()
    pump = db.session.query(Classification).filter_by(hospital_id=None, name="輸液ポンプ").one()
    own = Classification(hospital_id=hospital.id, level=1, name="ユエキポンプ", normalized_name="ユエキポンプ",
                         smds_classification_id=pump.id)
    db.session.add(own)
    db.session.flush()
    device = Equipment(hospital_id=hospital.id, device_number="GB1", classification_id=own.id,
                       default_counts=True)
    db.session.add(device)
    db.session.flush()
    list_devices(db.session, hospital.id, dt.date(2025, 5, 1), [device.id])  # a ledger in force now
    db.session.commit()
    with serve(app) as base, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        try:
            browser_login(page, base, HOSPITAL_A)
            page.goto(f"{base}/report-selection/")
            page.wait_for_selector("#sel-available tbody tr[data-id]")
            assert page.is_checked("#sel-grouping input[value=own]")
            assert page.locator(f"#sel-available tr[data-id='{own.id}']").count() == 1
            page.click("#sel-grouping input[value=smds]")  # Escape cancels: stays own
            assert "選択中の機器分類は解除され" in answer_dialog(page, accept=False)
            assert page.is_checked("#sel-grouping input[value=own]")
            assert page.evaluate("document.activeElement.value") == "smds"  # the focus came back
            page.click("#sel-grouping input[value=smds]")  # accepted
            assert "選択中の機器分類は解除され" in answer_dialog(page)
            wait_until(page, lambda: page.locator(f"#sel-available tr[data-id='{pump.id}']").count() == 1)
            assert page.locator(f"#sel-available tr[data-id='{own.id}']").count() == 0
            assert page.locator("#sel-available tbody tr").count() == 1
            assert page.inner_text("#sel-message") == "分類の基準を変更しました"
            db.session.expire_all()
            assert db.session.get(Organization, hospital.id).report_grouping == "smds"
            assert not errors, errors
        finally:
            browser.close()


def test_search_sort_and_zero_device_classes(app, ctx):
    """Issue 14: the list shows device counts, most devices first, hides 0-device classes
    unless asked, sorts by name on request and searches with width and case folded."""
    from app.services.classifications.mapping import ensure_hospital_classifications

    from .test_classifications import add_devices

    hospital = db.session.query(Organization).filter_by(code="H0001").one()
    ids = ensure_hospital_classifications(db.session, hospital.id, [("検索用輸液ポンプ",), ("検索用ＭＲＩ輸液ポンプ",),
                                                                    ("検索用シリンジポンプ",)])
    db.session.commit()
    pump, mri, syringe = ids[("検索用輸液ポンプ",)], ids[("検索用MRI輸液ポンプ",)], ids[("検索用シリンジポンプ",)]
    add_devices("H0001", pump, 7)
    add_devices("H0001", syringe, 2, start=100)
    with serve(app) as base, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        try:
            browser_login(page, base, HOSPITAL_A)
            page.goto(f"{base}/report-selection/")
            page.wait_for_selector("#sel-available tbody tr[data-id]")

            def listed():
                rows = page.locator("#sel-available tbody tr[data-id]").all()
                return [(int(r.get_attribute("data-id")), r.locator("td").nth(1).inner_text(),
                         int(r.locator("td").nth(2).inner_text())) for r in rows]

            # Default: device count, most first; no 0-device class; the count beside each name.
            assert page.input_value("#sel-sort") == "count" and not page.is_checked("#sel-show-zero")
            rows = listed()
            counts = [n for _, _, n in rows]
            assert counts == sorted(counts, reverse=True) and all(n > 0 for n in counts)
            assert pump in [i for i, _, _ in rows] and mri not in [i for i, _, _ in rows]
            assert "非表示" in page.inner_text("#sel-hidden-note")
            # Search (full-width, lower case) narrows the list.
            page.fill("#sel-search", "検索用")
            assert [(i, n) for i, _, n in listed()] == [(pump, 7), (syringe, 2)]
            page.fill("#sel-search", "ｍｒｉ")
            assert listed() == []
            page.check("#sel-show-zero")
            assert listed() == [(mri, "検索用MRI輸液ポンプ", 0)]
            # By name.
            page.fill("#sel-search", "検索用")
            page.select_option("#sel-sort", "name")
            assert [i for i, _, _ in listed()] == sorted([pump, mri, syringe], key=lambda i: {
                pump: "検索用輸液ポンプ", mri: "検索用MRI輸液ポンプ", syringe: "検索用シリンジポンプ"}[i])
            page.select_option("#sel-sort", "count")
            assert [i for i, _, _ in listed()] == [pump, syringe, mri]
            # Picking from a searched list still works.
            page.uncheck("#sel-auto")
            page.click(f"#sel-available tr[data-id='{pump}']")
            page.click("#btn-select")
            assert page.locator("#sel-selected tbody tr td:nth-child(2)").all_inner_texts()[0] == str(pump)
            assert page.locator("#sel-selected tbody tr td:nth-child(4)").all_inner_texts()[0] == "7"
            assert not errors, errors
        finally:
            browser.close()


def test_a_failed_load_says_so_and_a_reset_that_loads_looks_as_usual(app, ctx):
    """The data not loaded: a red alert, and no 読み込み中… left in the list. リセット loads it
    again: the screen's usual blue message then (it stayed red)."""
    errors = []
    with serve(app) as base, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        try:
            browser_login(page, base, HOSPITAL_A)
            def is_data(url: str) -> bool:
                return "/report-selection/data" in url

            page.route(is_data, lambda route: route.fulfill(status=500, body="{}"))
            page.goto(f"{base}/report-selection/")
            message = page.locator("#sel-message")
            wait_until(page, lambda: "読み込めませんでした" in message.inner_text())
            assert message.get_attribute("class") == "alert alert-danger"
            assert "読み込み中" not in page.inner_text("#sel-available")
            page.unroute(is_data)
            page.click("#btn-reset")
            wait_until(page, lambda: "読み込めませんでした" not in message.inner_text())
            assert "保有台数の多い順に出力します" in message.inner_text()  # automatic mode, as loaded
            assert message.get_attribute("class") == "alert alert-info"
            assert not errors, errors
        finally:
            browser.close()


def test_selection_with_the_keyboard_only(app, ctx):
    """Both lists were click-only: a keyboard user could not pick a classification. Tab
    reaches each list once, ↑↓ move, Enter selects (as a double-click), Space highlights a
    selected row for 順位を上げる/下げる/選択解除, and the focus stays on the list."""
    hospital = db.session.query(Organization).filter_by(code="H0001").one()
    level1 = (db.session.query(Classification).filter_by(hospital_id=hospital.id, level=1)
              .order_by(Classification.name, Classification.id).all())
    first, second = level1[0], level1[1]
    with serve(app) as base, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        try:
            browser_login(page, base, HOSPITAL_A)
            page.goto(f"{base}/report-selection/")
            page.wait_for_selector("#sel-selected tbody tr")
            page.check("#sel-show-zero")
            page.select_option("#sel-sort", "name")
            page.uncheck("#sel-auto")
            page.focus("#sel-show-zero")
            page.keyboard.press("Tab")  # the classification list, at its first row
            assert page.evaluate("document.activeElement.dataset.id") == str(first.id)
            page.keyboard.press("ArrowDown")
            page.keyboard.press("Enter")
            ids = page.locator("#sel-selected tbody tr td:nth-child(2)").all_inner_texts()
            assert ids[0] == str(second.id)
            assert page.evaluate("!!document.activeElement.closest('#sel-available')")
            page.keyboard.press("ArrowUp")
            page.keyboard.press("Enter")
            ids = page.locator("#sel-selected tbody tr td:nth-child(2)").all_inner_texts()
            assert ids[:2] == [str(second.id), str(first.id)]
            page.focus("#sel-selected tbody tr[tabindex='0']")
            page.keyboard.press("ArrowDown")
            page.keyboard.press(" ")
            assert page.get_attribute("#sel-selected tr[data-rank='2']", "aria-selected") == "true"
            assert page.evaluate("document.activeElement.dataset.rank") == "2"
            page.focus("#btn-up")
            page.keyboard.press("Enter")
            ids = page.locator("#sel-selected tbody tr td:nth-child(2)").all_inner_texts()
            assert ids[:2] == [str(first.id), str(second.id)]
        finally:
            browser.close()


def test_saving_after_a_logout_in_another_tab_says_it_was_not_saved(app, ctx):
    """The save's answer was the login page (not JSON): an uncaught error, and 登録 seemed to
    do nothing at all."""
    with serve(app) as base, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context()
        page = context.new_page()
        try:
            browser_login(page, base, HOSPITAL_A)
            page.goto(f"{base}/report-selection/")
            page.wait_for_selector("#sel-selected tbody tr")
            other_tab = context.new_page()
            other_tab.goto(f"{base}/logout/")
            page.click("#btn-save")
            answer_dialog(page)
            wait_until(page, lambda: "保存できませんでした" in page.inner_text("#sel-message"))
            assert "alert-danger" in page.get_attribute("#sel-message", "class")
        finally:
            browser.close()
    assert db.session.query(ReportSelection).count() == 0
