"""Screen 5 in headless Chromium: the classifications are a type-ahead (ledger.js and
/ledger/classifications) rather than ~1,000 options sent with every page; typing narrows
them (width ignored), the filter keeps its choice, and a device's classification changes
through the change form's type-ahead."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import Classification, Equipment, Organization

from .browser import BROWSER_TEST, answer_dialog, logged_in_page
from .conftest import HOSPITAL_A

pytestmark = BROWSER_TEST


def choose(page, select_id: str, typed: str, option_text: str) -> None:
    """Open the select2 of ``select_id``, type, and pick the option ``option_text``."""
    page.click(f"#{select_id} + .select2-container .select2-selection")
    page.fill(".select2-container--open .select2-search__field", typed)
    page.click(f".select2-container--open .select2-results__option:text-is('{option_text}')")


def test_type_ahead_filters_and_changes_a_devices_classification(app, ctx):
    hospital = db.session.query(Organization).filter_by(code="H0001").one()
    own = Classification(hospital_id=hospital.id, level=1, name="透析用監視装置（ブラウザ試験）",
                         normalized_name="透析用監視装置（ブラウザ試験）")
    shared = db.session.scalars(select(Classification).where(Classification.hospital_id.is_(None))
                                .order_by(Classification.id).limit(1)).one()
    db.session.add(own)
    db.session.flush()
    for number, classification in (("BL-1", shared), ("BL-2", own)):
        db.session.add(Equipment(hospital_id=hospital.id, device_number=number, device_key=number,
                                 department_use="ICU", product_name="輸液ポンプ",
                                 classification_id=classification.id, default_counts=True))
    db.session.commit()
    device = db.session.query(Equipment).filter_by(hospital_id=hospital.id, device_number="BL-1").one()
    with logged_in_page(app, HOSPITAL_A) as (page, base):
        page.goto(f"{base}/ledger/")
        sent = page.request.get(f"{base}/ledger/").text()
        assert sent.count("<option") < 100  # no ~1,000 classification options in the page

        choose(page, "ledger-filter-class", "ﾌﾞﾗｳｻﾞ試験", "透析用監視装置（ブラウザ試験） *")  # half width typed
        page.click("#ledger-filter button[type=submit]")
        page.wait_for_url(f"**/ledger/?*classification_id={own.id}*")
        rows = page.eval_on_selector_all("#ledger-table tbody tr[data-device-id]", "rows => rows.length")
        assert rows == 1 and "BL-2" in page.inner_text("#ledger-table")
        assert "透析用監視装置（ブラウザ試験） *" in page.inner_text("#ledger-filter")  # the choice is kept

        page.goto(f"{base}/ledger/?q=BL-1")
        page.check(f"input.ledger-select[value='{device.id}']")
        choose(page, "ledger-class", "ブラウザ試験", "透析用監視装置（ブラウザ試験） *")
        page.fill("#ledger-reason", "分類の見直し")
        page.click("#ledger-change button.btn-primary")
        answer_dialog(page)
        page.wait_for_selector("text=1 件の設定を変更しました。")
    db.session.expire_all()
    assert db.session.get(Equipment, device.id).override_classification_id == own.id


def test_a_devices_page_offers_the_same_type_ahead(app, ctx):
    hospital = db.session.query(Organization).filter_by(code="H0001").one()
    own = Classification(hospital_id=hospital.id, level=1, name="除細動器（端末試験）", normalized_name="除細動器（端末試験）")
    db.session.add(own)
    db.session.flush()
    device = Equipment(hospital_id=hospital.id, device_number="BL-9", device_key="BL-9", department_use="ICU",
                       product_name="除細動器", default_counts=True)
    db.session.add(device)
    db.session.commit()
    with logged_in_page(app, HOSPITAL_A) as (page, base):
        page.goto(f"{base}/ledger/{device.id}")
        choose(page, "one-class", "(端末試験)", "除細動器（端末試験） *")
        page.fill("#one-reason", "分類の登録")
        page.click("form.well button.btn-primary")
        page.wait_for_selector("text=1 件の設定を変更しました。")
    db.session.expire_all()
    assert db.session.get(Equipment, device.id).override_classification_id == own.id


def test_the_change_form_says_what_is_missing_before_asking_to_confirm(app, ctx):
    """An incomplete change form is not confirmed and then refused: what is missing is said
    first (no device chosen, nothing to change, no reason), and the question, once asked,
    says that published reports may get a new version."""
    hospital = db.session.query(Organization).filter_by(code="H0001").one()
    device = Equipment(hospital_id=hospital.id, device_number="BL-7", device_key="BL-7", department_use="ICU",
                       product_name="輸液ポンプ", default_counts=True)
    db.session.add(device)
    db.session.commit()
    with logged_in_page(app, HOSPITAL_A) as (page, base):
        page.goto(f"{base}/ledger/?q=BL-7")
        register = "#ledger-change button.btn-primary"
        page.click(register)
        assert answer_dialog(page) == "機器を選択してください。"  # an alert: only OK
        page.check(f"input.ledger-select[value='{device.id}']")
        page.click(register)
        assert answer_dialog(page) == "変更する内容（集計対象・機器分類）を選択してください。"
        page.select_option("#ledger-counts", "0")
        page.click(register)  # no reason: the browser's own "required" message, no dialog
        page.wait_for_timeout(300)
        assert page.query_selector(".os-dialog") is None
        assert page.evaluate("document.activeElement.id") == "ledger-reason"
        page.fill("#ledger-reason", "貸出停止中")
        page.click(register)
        assert "新しい版が発行されます" in answer_dialog(page)
        page.wait_for_selector("text=1 件の設定を変更しました。")

        page.goto(f"{base}/ledger/?q=no-such-device")
        page.check("#ledger-change input[name=target][value=filter]")
        page.click(register)
        assert answer_dialog(page) == "該当する機器はありません。"
    db.session.expire_all()
    assert db.session.get(Equipment, device.id).override_counts is False
