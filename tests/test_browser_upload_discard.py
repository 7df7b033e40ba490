"""In headless Chromium (CSP and CSRF on): 取り消す asks in the in-page dialog, from the mapping
page and from the status list — also on a row the poll found failed after the page loaded —
Escape sends nothing, OK withdraws the file; never the browser's confirm()."""
from __future__ import annotations

from app.extensions import db
from app.models import UploadFile

from .browser import BROWSER_TEST, answer_dialog, logged_in_page
from .conftest import HOSPITAL_A
from .ingest_helpers import make_upload
from .test_upload_stray import FAILURE, LENDING, WRONG_CSV, complete_month, due_month

pytestmark = BROWSER_TEST

QUESTION = "このファイルを取り消します。取り込み済みのデータは変わりません。よろしいですか？"


def set_status(upload_id: int, status: str) -> None:
    db.session.get(UploadFile, upload_id).status = status
    db.session.commit()


def status_of(upload_id: int) -> str:
    db.session.expire_all()
    return db.session.get(UploadFile, upload_id).status


def test_discard_asks_in_page_on_the_mapping_page_and_the_polled_list(app, ctx):
    complete_month()
    stray = make_upload(WRONG_CSV, LENDING, month=due_month())
    set_status(stray, "needs_mapping")
    late = make_upload(WRONG_CSV + b"3,4\r\n", FAILURE, month=due_month())  # still processing
    db.session.remove()
    with logged_in_page(app, HOSPITAL_A) as (page, base):
        native = []
        page.on("dialog", lambda d: (native.append(d.message), d.dismiss()))
        page.goto(f"{base}/upload/{stray}/mapping")
        page.click("#upload-discard-button")
        assert answer_dialog(page, accept=False) == QUESTION
        page.wait_for_timeout(300)
        assert status_of(stray) == "needs_mapping"  # nothing was sent
        page.click("#upload-discard-button")
        answer_dialog(page)
        page.wait_for_selector("text=を取り消しました。")
        assert page.url.startswith(f"{base}/upload/") and status_of(stray) == "discarded"

        # A row that fails after the page loaded gets its 取り消す from the poll.
        set_status(late, "failed")
        button = page.wait_for_selector(f'tr[data-upload-id="{late}"] .upload-discard-form button', timeout=15000)
        button.click()
        assert answer_dialog(page) == QUESTION
        page.wait_for_selector(f'text=（受付番号 {late}）を取り消しました。')
        assert status_of(late) == "discarded"
        assert native == []
