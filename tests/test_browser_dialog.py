"""The shared in-page dialog (static/js/dialog.js) on the ledger screen, in headless Chromium:
the button's own question in the page's language, Escape cancels and gives the focus back,
Tab stays inside, OK sends the form as the button would have; never the browser's confirm()."""
from __future__ import annotations

from .browser import BROWSER_TEST, answer_dialog, logged_in_page
from .conftest import HOSPITAL_A

pytestmark = BROWSER_TEST

RESTORE_ALL = "#ledger-restore-all button[type=submit]"


def test_ledger_restore_asks_in_page_and_escape_cancels(app):
    with logged_in_page(app, HOSPITAL_A) as (page, base):
        native = []
        page.on("dialog", lambda dialog: (native.append(dialog.message), dialog.dismiss()))
        page.goto(f"{base}/ledger/")
        page.click(RESTORE_ALL)
        dialog = page.wait_for_selector(".os-dialog")
        assert dialog.get_attribute("role") == "alertdialog"
        assert page.evaluate("document.activeElement.dataset.answer") == "ok"
        assert [b.inner_text() for b in dialog.query_selector_all("button")] == ["キャンセル", "OK"]
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.dataset.answer") == "ok"  # Tab stays inside
        assert answer_dialog(page, accept=False) == (
            "すべての機器の設定をデフォルトに戻しますか？この操作は取り消せません。")
        assert page.evaluate("document.activeElement.textContent") == "すべてデフォルトに戻す"
        page.wait_for_timeout(300)
        assert "デフォルトに戻しました" not in page.inner_text("body")  # nothing was sent

        page.click(RESTORE_ALL)
        answer_dialog(page)
        page.wait_for_selector("text=件の設定をデフォルトに戻しました。")
        assert native == []


def test_the_dialog_buttons_speak_english_when_chosen(app):
    with logged_in_page(app, HOSPITAL_A) as (page, base):
        page.goto(f"{base}/lang/en")
        page.goto(f"{base}/ledger/")
        page.click(RESTORE_ALL)
        dialog = page.wait_for_selector(".os-dialog")
        assert [b.inner_text() for b in dialog.query_selector_all("button")] == ["Cancel", "OK"]
        assert answer_dialog(page, accept=False) == (
            "Restore the default settings for all devices? This cannot be undone.")
