"""Issue 14 acceptance: a CSV export downloaded in Chromium from the ledger screen, opened and
parsed (UTF-8 with BOM), holding only the hospital's own devices; the Excel export beside it
likewise (a workbook whose device numbers are text cells)."""
from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from playwright import sync_api
from sqlalchemy import insert

from app.extensions import db
from app.models import Equipment, Organization

from .browser import ARGS, BROWSER_TEST, CHROMIUM, browser_login, serve
from .conftest import HOSPITAL_A

pytestmark = BROWSER_TEST


@pytest.fixture()
def live_server(app):
    with serve(app) as base:
        yield base


def test_ledger_csv_download_opens_and_parses(live_server, ctx):
    ids = dict(db.session.query(Organization.code, Organization.id))
    db.session.execute(insert(Equipment), [
        dict(hospital_id=ids["H0001"], device_number="CSV-A1", department_use="ＩＣＵ", product_name="輸液ポンプ",
             model_number="TE-281A", maker_name="ﾃﾙﾓ", default_counts=True),
        dict(hospital_id=ids["H0002"], device_number="CSV-B1", department_use="ICU", product_name="輸液ポンプ",
             model_number="TE-281A", maker_name="テルモ", default_counts=True),
    ])
    db.session.commit()
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(accept_downloads=True)
        try:
            browser_login(page, live_server, HOSPITAL_A)
            page.goto(f"{live_server}/ledger/?q=テルモ")
            assert "CSV-A1" in page.content()
            with page.expect_download() as info:
                page.click("#ledger-export")
            download = info.value
            assert download.suggested_filename.startswith("ledger-H0001-")
            raw = open(download.path(), "rb").read()
            assert raw.startswith(b"\xef\xbb\xbf")
            rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
            assert rows[0][3] == "機器番号"
            assert [r[3] for r in rows[1:]] == ["CSV-A1"]
            assert rows[1][2] == "ＩＣＵ"
        finally:
            browser.close()


def test_ledger_xlsx_download_opens_with_text_device_numbers(live_server, ctx):
    ids = dict(db.session.query(Organization.code, Organization.id))
    db.session.execute(insert(Equipment), [
        dict(hospital_id=ids["H0001"], device_number="0000286061", department_use="ICU", product_name="輸液ポンプ",
             model_number="TE-281A", serial_number="123456789012", maker_name="テルモ", default_counts=True),
        dict(hospital_id=ids["H0002"], device_number="0000999999", department_use="ICU", product_name="輸液ポンプ",
             model_number="TE-281A", maker_name="テルモ", default_counts=True),
    ])
    db.session.commit()
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(accept_downloads=True)
        try:
            browser_login(page, live_server, HOSPITAL_A)
            page.goto(f"{live_server}/ledger/?q=テルモ")
            with page.expect_download() as info:
                page.click("#ledger-export-xlsx")
            download = info.value
            assert download.suggested_filename.startswith("ledger-H0001-")
            assert download.suggested_filename.endswith(".xlsx")
            sheet = openpyxl.load_workbook(io.BytesIO(open(download.path(), "rb").read())).worksheets[0]
            rows = list(sheet.iter_rows(values_only=True))
            assert rows[0][3] == "機器番号"
            assert [(r[3], r[6]) for r in rows[1:]] == [("0000286061", "123456789012")]
            assert (sheet["D2"].data_type, sheet["D2"].number_format) == ("s", "@")
        finally:
            browser.close()
