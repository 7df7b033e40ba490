"""Dashboard table exports (CSV / Excel) speak the reader's language: headers, figure names,
units, fixed labels, the sheet and file names; Japanese unchanged by default. Names from the
data (makers, departments, classifications) stay as stored, and formula-looking data stays text."""
from __future__ import annotations

import csv
import io
import re
from urllib.parse import unquote

import openpyxl
import pytest

from .conftest import HOSPITAL_A, login_as
from .report_data import make_dataset

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
HEADERS = {
    "lending": (["項目", "単位", "当月", "前月", "前年同月", "過去12か月平均", "前月差", "前年同月差", "12か月平均差"],
                ["Item", "Unit", "This month", "Previous month", "Same month last year", "12-month average",
                 "vs. previous month", "vs. same month last year", "vs. 12-month average"]),
    "life": (["残耐用年数", "機器台数", "合計貸出時間"], ["Remaining useful life", "Devices", "Total lending hours"]),
    "models_near_end": (["メーカー", "型番", "製品名", "機器台数", "残耐用1年以内の台数", "割合（%）"],
                        ["Maker", "Model", "Product name", "Devices", "Devices within 1 year of end of life",
                         "Share (%)"]),
    "top_models": (["順位", "メーカー", "型番", "製品名", "貸出回数", "合計貸出時間", "1回あたり貸出時間", "利用部署（割合）"],
                   ["Rank", "Maker", "Model", "Product name", "Lendings", "Total lending hours", "Hours per lending",
                    "Departments (share)"]),
    "ranking": (["順位", "機器分類", "機器台数", "当月貸出時間", "稼働率（%）", "前月順位", "前年同月順位"],
                ["Rank", "Device classification", "Devices", "Lending hours in the month", "Utilization (%)",
                 "Previous month's rank", "Rank a year before"]),
    "devices": (["機器番号", "製品名", "メーカー", "型番", "利用部門", "貸出回数", "合計貸出時間", "稼働率（%）", "故障回数",
                 "合計故障時間"],
                ["Device number", "Product name", "Maker", "Model", "Department", "Lendings", "Total lending hours",
                 "Utilization (%)", "Failures", "Total failure hours"]),
}


@pytest.fixture()
def data(ctx):
    return make_dataset(hyperlink_department=True)


def export_csv(client, table: str) -> tuple[list[list[str]], str]:
    response = client.get(f"/dashboard/export?month=2025-05&table={table}&scope=all&format=csv")
    assert response.status_code == 200
    filename = unquote(response.headers["Content-Disposition"].split("UTF-8''")[1])
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig")))), filename


def test_exports_are_japanese_by_default_and_english_on_request(data, client):
    login_as(client, HOSPITAL_A)
    japanese = {table: export_csv(client, table) for table in HEADERS}
    for table, (japanese_header, _english) in HEADERS.items():
        assert japanese[table][0][0] == japanese_header, table
    assert japanese["lending"][0][1][:2] == ["機器台数", "台"]
    assert [r[0] for r in japanese["life"][0][1:3]] == ["期限切れ", "1年未満"]
    assert japanese["lending"][1] == "①貸出サマリー_全機器_さくら台総合病院_2025-05.csv"
    assert "5階病棟 50.0%、=HYPERLINK" in japanese["top_models"][0][2][7]

    client.get("/lang/en")
    english = {table: export_csv(client, table) for table in HEADERS}
    for table, (_japanese, english_header) in HEADERS.items():
        assert english[table][0][0] == english_header, table
        # the same rows under the translated words
        assert len(english[table][0]) == len(japanese[table][0]) > 1, table
    assert [r[2:] for r in english["lending"][0]][1:] == [r[2:] for r in japanese["lending"][0]][1:]
    lending = english["lending"][0]
    assert lending[1][:2] == ["Devices", "devices"] and [r[1] for r in lending[1:]].count("hours") > 0
    assert not any(JAPANESE.search(cell) for row in lending for cell in row)
    assert [r[0] for r in english["life"][0][1:3]] == ["Expired", "Under 1 year"]
    trend, _name = export_csv(client, "trend")
    assert trend[0][:3] == ["Month", "Devices (devices)", "Devices lent (devices)"] and "Utilization (%)" in trend[0]
    # data stays data: makers and departments as stored, joined the English way, a formula still inside a cell
    assert english["top_models"][0][2][1] == "テストメーカー"
    assert english["top_models"][0][2][7] == '5階病棟 50.0%, =HYPERLINK("http://evil.example/","x") 50.0%'
    assert english["lending"][1] == "①Lending summary_All devices_さくら台総合病院_2025-05.csv"
    assert english["devices"][1].startswith("Devices_All devices_")


def test_english_excel_export_has_english_sheet_and_headers(data, client):
    login_as(client, HOSPITAL_A)
    client.get("/lang/en")
    response = client.get("/dashboard/export?month=2025-05&table=lending&scope=all&format=xlsx")
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["① Lending summary"]
    rows = list(book.active.iter_rows(values_only=True))
    assert list(rows[0]) == HEADERS["lending"][1]
    values = {row[0]: row for row in rows[1:]}
    assert values["Utilization"][1] == "%" and values["Lending hours"][1:3] == ("hours", 330.0)


def test_formula_looking_data_stays_text_in_english_exports(data, client):
    """A department written as a formula, at the start of a cell (the devices list), is written
    as text in English as in Japanese: an apostrophe in CSV, a string cell in Excel."""
    from app.extensions import db
    from app.models import Equipment

    device = db.session.query(Equipment).filter_by(device_number="D1").one()
    device.department_use = '=HYPERLINK("http://evil.example/","x")'
    db.session.commit()
    login_as(client, HOSPITAL_A)
    client.get("/lang/en")
    rows, _name = export_csv(client, "devices")
    assert next(r for r in rows if r[0] == "D1")[4] == "'=HYPERLINK(\"http://evil.example/\",\"x\")"
    response = client.get("/dashboard/export?month=2025-05&table=devices&scope=all&format=xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    cell = next(r for r in sheet.iter_rows(min_row=2) if r[0].value == "D1")[4]
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")
