"""The ledger list's Excel export (app/views/xlsx_export.py): a hospital opens the CSV in Excel,
saves it, and device numbers lose their leading zeros (0000286061 → 286061), long serials become
1.2E+11 — uploaded again, new devices. The workbook keeps them: every value a text cell (format
@), dates real dates, formula-looking values text; uploaded again as the month's ledger it
changes nothing (that round trip is tests/test_ledger_export_roundtrip.py's, run for both formats),
and it is scoped as the CSV is."""
from __future__ import annotations

import datetime as dt
import io
import zipfile

import openpyxl
from sqlalchemy import select

from app.extensions import db
from app.models import Equipment, Organization
from app.services.partners import dealers
from app.services.unit_of_work import unit_of_work

from .conftest import ADMIN, DEALER, HOSPITAL_A, HOSPITAL_B, login_as, user_by_email
from .test_exports import two_hospitals  # noqa: F401  (fixture)
from .test_ledger_export_roundtrip import (  # noqa: F401  (hospital_ledger: fixture)
    DEVICES,
    LATEST,
    export,
    hospital_ledger,
    ledger_upload,
    stored,
    upload_on_screen,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# What Excel mangles in a CSV: leading zeros of a number-like device number, a serial longer
# than a number keeps (12 digits: 1.23457E+11; 20 digits: precision lost as well).
PADDED = [["0000286061", "ME室", "輸液ポンプ", "TE-281A", "テルモ株式会社", "123456789012", "2019/4/1", "",
           "治療機器", "輸液ポンプ", "その他"],
          ["00012", "ME室", "輸液ポンプ", "TE-281A", "テルモ株式会社", "01234567890123456789", "", "",
           "治療機器", "輸液ポンプ", "その他"]]


def sheet_rows(data: bytes):
    """The workbook's one sheet and its rows as {header: cell}."""
    sheet = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
    header = [c.value for c in sheet[1]]
    return sheet, [dict(zip(header, row)) for row in sheet.iter_rows(min_row=2)]


def by_number(rows, header="機器番号"):
    return {row[header].value: row for row in rows}


def test_leading_zeros_and_long_serials_are_text_cells_and_come_back_identical(client, hospital_ledger):  # noqa: F811
    ledger_upload([*DEVICES, *PADDED], LATEST)
    before = stored(hospital_ledger)
    assert before["devices"]["0000286061"]["serial_number"] == "123456789012"
    data = export(client, extension="xlsx")
    sheet, rows = sheet_rows(data)
    found = by_number(rows)
    for number, serial in (("0000286061", "123456789012"), ("00012", "01234567890123456789")):
        row = found[number]
        for cell, value in ((row["機器番号"], number), (row["シリアル番号"], serial)):
            assert (cell.value, cell.data_type, cell.number_format) == (value, "s", "@")
    delivered = found["0000286061"]["納入日"]
    assert delivered.is_date and delivered.value == dt.datetime(2019, 4, 1)  # a date, not text
    assert (sheet.freeze_panes, sheet.auto_filter.ref) == ("A2", f"A1:R{len(rows) + 1}")
    assert sheet.column_dimensions["D"].width >= len("0000286061")
    # what a spreadsheet program does with it: open, save (every cell as it was), upload again
    book = openpyxl.load_workbook(io.BytesIO(data))
    saved = io.BytesIO()
    book.save(saved)
    outcome = upload_on_screen(client, saved.getvalue(), name="ledger.xlsx")
    assert (outcome.rows_imported, outcome.rows_rejected) == (9, 0)
    assert stored(hospital_ledger) == before  # no new device, nothing changed


def test_a_formula_looking_value_stays_text_and_round_trips(client, hospital_ledger):  # noqa: F811
    data = export(client, extension="xlsx")
    me4 = by_number(sheet_rows(data)[1])["ME4"]
    for column, value in (("製品名", "=HYPERLINK(1)"), ("モデル番号", "+12"), ("シリアル番号", "-AB")):
        cell = me4[column]
        assert (cell.value, cell.data_type, cell.number_format) == (value, "s", "@")
        assert cell.quotePrefix  # Excel's "this is text" mark, the CSV's apostrophe
    sheet_xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in sheet_xml and b"HYPERLINK(1)" in sheet_xml  # stored as a string, no formula
    upload_on_screen(client, data, name="ledger.xlsx")
    db.session.expire_all()
    device = db.session.scalar(select(Equipment).where(Equipment.hospital_id == hospital_ledger,
                                                       Equipment.device_number == "ME4"))
    assert (device.product_name, device.model_number, device.serial_number) == ("=HYPERLINK(1)", "+12", "-AB")


def test_the_xlsx_is_named_like_the_csv_and_offered_beside_it(client, two_hospitals):  # noqa: F811
    login_as(client, HOSPITAL_A)
    response = client.get("/ledger/export.xlsx")
    assert response.status_code == 200 and response.mimetype == XLSX
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="ledger-H0001-') and disposition.endswith('.xlsx"')
    page = client.get("/ledger/?q=TE").get_data(as_text=True)
    assert 'id="ledger-export-xlsx" href="/ledger/export.xlsx?q=TE"' in page and "Excelダウンロード" in page
    client.get("/lang/en")
    assert "Download Excel" in client.get("/ledger/").get_data(as_text=True)
    sheet, rows = sheet_rows(client.get("/ledger/export.xlsx").get_data())
    assert sheet.title == "Equipment ledger" and sheet["D1"].value == "Device number"


def test_the_xlsx_is_the_list_filtered_and_scoped(client, two_hospitals):  # noqa: F811
    a, b = two_hospitals
    login_as(client, HOSPITAL_A)
    assert list(by_number(sheet_rows(client.get("/ledger/export.xlsx").get_data())[1])) == ["A-001", "A-002"]
    filtered = client.get("/ledger/export.xlsx?q=ｔｅ－２８１").get_data()
    assert list(by_number(sheet_rows(filtered)[1])) == ["A-001"]
    # another hospital's list, by URL: refused whatever the parameter says
    for query in (f"?hospital_id={b}", f"?hospital_id={b}&hospital={b}", f"?hospital_id={b}&q=B-SECRET"):
        response = client.get(f"/ledger/export.xlsx{query}")
        assert response.status_code == 404 and b"B-SECRET" not in response.get_data()
    login_as(client, HOSPITAL_B)
    assert client.get(f"/ledger/export.xlsx?hospital_id={a}").status_code == 404
    assert list(by_number(sheet_rows(client.get("/ledger/export.xlsx").get_data())[1])) == ["B-SECRET"]
    login_as(client, ADMIN)  # an operator chooses the hospital
    assert list(by_number(sheet_rows(client.get(f"/ledger/export.xlsx?hospital_id={b}").get_data())[1])) \
        == ["B-SECRET"]


def grant(code: str, level: int) -> None:
    hospital = db.session.scalars(select(Organization).where(Organization.code == code)).one()
    with unit_of_work():
        dealers.grant(hospital, DEALER, level, "テスト", user_by_email(HOSPITAL_A if code == "H0001" else HOSPITAL_B))


def both_exports(client, query=""):
    """(status, device numbers) of the CSV and of the Excel export for the same URL."""
    import csv

    answers = []
    for extension in ("csv", "xlsx"):
        response = client.get(f"/ledger/export.{extension}{query}")
        numbers = None
        if response.status_code == 200:
            if extension == "csv":
                rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
                numbers = [r[3] for r in rows[1:]]
            else:
                numbers = list(by_number(sheet_rows(response.get_data())[1]))
        answers.append((response.status_code, numbers))
    return answers


def test_a_dealer_gets_the_xlsx_exactly_where_it_gets_the_csv(client, two_hospitals):  # noqa: F811
    a, b = two_hospitals
    # seeded: the dealer holds A at level 3 (ledger maintenance) and B at level 1 (uploads only)
    login_as(client, DEALER)
    assert client.post("/dealer/choose", data={"hospital": a}).status_code == 302
    csv_answer, xlsx_answer = both_exports(client)
    assert csv_answer == xlsx_answer == (200, ["A-001", "A-002"])
    for query in (f"?hospital_id={b}", f"?hospital_id={a}&hospital={b}"):
        csv_answer, xlsx_answer = both_exports(client, query)
        assert csv_answer[0] == xlsx_answer[0] and xlsx_answer[1] in (None, ["A-001", "A-002"])
    assert both_exports(client, f"?hospital_id={b}")[1][0] == 404
    assert client.post("/dealer/choose", data={"hospital": b}).status_code == 302
    assert both_exports(client) == [(403, None), (403, None)]  # level 1: no ledger
    grant("H0001", 1)
    assert client.post("/dealer/choose", data={"hospital": a}).status_code == 302
    assert both_exports(client) == [(403, None), (403, None)]
