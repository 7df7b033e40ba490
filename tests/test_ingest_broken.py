"""Broken files and bad input (issue 11): never a silent merge, never a wrong date, never an
unexplained failure. Each test failed on the code before the change."""
from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
import xlsxwriter
from sqlalchemy import select

from app.extensions import db
from app.infra.storage import get_storage
from app.models import Equipment, Lending, UploadFile
from app.services.ingest.pipeline import run_ingest
from app.services.ingest.values import parse_date
from app.services.uploads.checks import UploadRejected, check_upload, clean_filename

from .conftest import HOSPITAL_A, login_as
from .ingest_helpers import LEDGER_HEADER, csv_bytes, ledger_rows, make_upload, xlsx_bytes


def ingest(data: bytes, file_type: int = 1, ext: str = "csv") -> UploadFile:
    upload_id = make_upload(data, file_type, ext)
    run_ingest(upload_id)
    db.session.expire_all()
    return db.session.get(UploadFile, upload_id)


def rejected(upload: UploadFile) -> list[list]:
    book = openpyxl.load_workbook(io.BytesIO(get_storage().open(upload.rejected_key).read()), read_only=True)
    return [list(r) for r in book.active.iter_rows(values_only=True)]


def devices() -> dict[str, Equipment]:
    return {e.device_number: e for e in db.session.scalars(select(Equipment))}


# ---------------------------------------------------------------- CSV structure


def _ledger_text(rows: int) -> str:
    return "機器番号,製品名,納入日\n" + "".join(f"ME{n:03d},製品{n},2020/04/01\n" for n in range(1, rows + 1))


def test_unclosed_quote_is_a_rejected_row_not_a_silent_merge(ctx):
    lines = _ledger_text(7).splitlines(keepends=True)
    lines[3] = 'ME003,"シリンジ,2020/04/01\n'  # the quote is never closed
    upload = ingest("".join(lines).encode())
    assert upload.status == "succeeded_with_rejections"
    assert (upload.rows_imported, upload.rows_rejected) == (2, 1)
    assert sorted(devices()) == ["ME001", "ME002"]
    row = rejected(upload)[1]
    assert row[0] == 4 and row[1] == "列数"
    assert "4〜8 行目が1行として読まれています" in row[2] and "引用符" in row[2]
    assert "ME007" in row[4]  # what was swallowed is in the rejected file, not lost


def test_unclosed_quote_further_down_names_its_lines(ctx):
    lines = _ledger_text(40).splitlines(keepends=True)
    lines[30] = 'ME030,"ポンプ,2020/04/01\n'  # swallows lines 31–41
    upload = ingest("".join(lines).encode())
    assert (upload.rows_imported, upload.rows_rejected) == (29, 1)
    row = rejected(upload)[1]
    assert row[0] == 31 and "31〜41 行目が1行として読まれています" in row[2]


def test_quote_swallowing_the_rest_of_a_long_file_fails_naming_the_row(ctx):
    lines = _ledger_text(60).splitlines(keepends=True)
    lines[5] = 'ME005,"ポンプ,2020/04/01\n'
    upload = ingest("".join(lines).encode())
    assert upload.status == "failed"
    assert "6 行目（ファイルの 6 行目から）の値が 56 行にわたっています" in upload.message and "引用符" in upload.message
    assert devices() == {}


def test_line_breaks_inside_quotes_are_still_one_value(ctx):
    data = '機器番号,製品名,納入日\nME001,"輸液\nポンプ",2020/04/01\nME002,b,2020/04/01\n'.encode()
    upload = ingest(data)
    assert (upload.status, upload.rows_imported) == ("succeeded", 2)
    assert devices()["ME001"].product_name == "輸液 ポンプ"


def test_record_with_more_columns_than_the_header_is_rejected(ctx):
    data = "機器番号,製品名\nME001,a\nME002,b,余分\nME003,c,,\n".encode()
    upload = ingest(data)
    assert (upload.rows_imported, upload.rows_rejected) == (2, 1)  # trailing empty columns are fine
    row = rejected(upload)[1]
    assert row[0] == 3 and "列の数（3 列）が見出しの列数（2 列）と違います" in row[2]
    assert sorted(devices()) == ["ME001", "ME003"]


def test_one_megabyte_field_rejects_its_row_naming_the_column(ctx):
    data = csv_bytes([["機器番号", "製品名", "備考"], ["ME001", "a", "x" * 1_000_000], ["ME002", "b", ""]])
    upload = ingest(data)
    assert upload.status == "succeeded_with_rejections"
    assert (upload.rows_imported, upload.rows_rejected) == (1, 1)
    row = rejected(upload)[1]
    assert row[1] == "備考" and "長すぎます（1,000,000 文字" in row[2]
    assert len(row[5]) == 32_767  # cut to what a spreadsheet cell holds


# ---------------------------------------------------------------- headers


def test_duplicate_headers_need_mapping_naming_them(ctx):
    data = csv_bytes([["機器番号", "製品名", "機器番号"], ["ME001", "a", "X1"]])
    upload = ingest(data)
    assert upload.status == "needs_mapping"
    assert "「機器番号」（A列・C列）" in upload.message
    assert devices() == {}


# ---------------------------------------------------------------- dates


@pytest.mark.parametrize("text_, reason", [
    ("令和0年4月1日", "令和0年はありません"),
    ("令和元年2月1日", "令和の期間（2019年5月1日〜）"),
    ("H31.5.1", "平成の期間（1989年1月8日〜2019年4月30日）"),
    ("平成32年4月1日", "平成の期間"),
    ("S64.1.8", "昭和の期間"),
    ("大正16年1月1日", "大正の期間"),
    ("M45.7.30", "明治の期間"),
])
def test_dates_outside_their_era_are_refused(text_, reason):
    with pytest.raises(ValueError, match=reason):
        parse_date(text_)


@pytest.mark.parametrize("text_, expected", [
    ("令和元年5月1日", dt.date(2019, 5, 1)), ("H31.4.30", dt.date(2019, 4, 30)),
    ("S64.1.7", dt.date(1989, 1, 7)), ("平成元年1月8日", dt.date(1989, 1, 8)),
    ("r5.4.1", dt.date(2023, 4, 1)), ("T15.12.24", dt.date(1926, 12, 24)), ("昭和元年12月25日", dt.date(1926, 12, 25)),
])
def test_dates_inside_their_era(text_, expected):
    assert parse_date(text_) == expected


def test_era_errors_are_rejected_rows_with_the_reason(ctx):
    rows = [["ME001", "a", "令和元年2月1日"], ["ME002", "b", "令和元年5月1日"]]
    upload = ingest(csv_bytes([["機器番号", "製品名", "納入日"], *rows]))
    assert (upload.rows_imported, upload.rows_rejected) == (1, 1)
    assert devices()["ME002"].delivered_on == dt.date(2019, 5, 1)
    row = rejected(upload)[1]
    assert row[1] == "納入日" and "令和の期間" in row[2] and "令和元年2月1日" in row[2]


def _xlsx_with_errors() -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet()
    sheet.write_row(0, 1, ["機器番号", "製品名", "納入日"])  # starts in column B
    sheet.write_row(1, 1, ["ME001", "a", "2020/04/01"])
    sheet.write_row(2, 1, ["ME002", "b"])
    sheet.write_formula(2, 3, "=1/0", None, "#DIV/0!")
    sheet.write_row(3, 1, ["ME003", "c"])
    sheet.write_formula(3, 3, "=NA()", None, "#N/A")
    sheet.write_row(4, 1, ["ME004"])
    sheet.write_formula(4, 2, "=NA()", None, "#N/A")  # a read text column
    sheet.write_formula(4, 4, "=1/0", None, "#DIV/0!")  # a column nobody reads
    book.close()
    return buffer.getvalue()


def test_excel_error_values_in_a_workbook_are_rejected_with_their_text(ctx):
    upload = ingest(_xlsx_with_errors(), ext="xlsx")
    assert (upload.rows_imported, upload.rows_rejected) == (1, 3)
    reasons = {row[0]: (row[1], row[2]) for row in rejected(upload)[1:]}
    assert reasons[3][0] == "納入日" and "「#DIV/0!」" in reasons[3][1]
    assert reasons[4][0] == "納入日" and "「#N/A」" in reasons[4][1]
    assert reasons[5][0] == "製品名" and "「#N/A」" in reasons[5][1]
    assert list(devices()) == ["ME001"]


def test_excel_error_values_in_a_csv_are_rejected(ctx):
    upload = ingest(csv_bytes([["機器番号", "納入日"], ["ME001", "#DIV/0!"], ["ME002", "2020/04/01"]]))
    assert (upload.rows_imported, upload.rows_rejected) == (1, 1)
    assert "「#DIV/0!」" in rejected(upload)[1][2]


# ---------------------------------------------------------------- device numbers


def test_device_numbers_match_across_width_and_case(ctx):
    ingest(csv_bytes([LEDGER_HEADER, ["ME000513", *ledger_rows(1)[0][1:]]]))
    upload = ingest(csv_bytes([["機器番号", "貸出日時"], ["ｍｅ000513", "2025/10/01 10:00"],
                               ["me000513", "2025/10/02 10:00"]]), 2)
    assert (upload.status, upload.rows_imported) == ("succeeded", 2)
    device = devices()["ME000513"]
    assert {lending.equipment_id for lending in db.session.scalars(select(Lending))} == {device.id}


def test_ledger_respelling_updates_the_same_device(ctx):
    ingest(csv_bytes([LEDGER_HEADER, ["ME000513", *ledger_rows(1)[0][1:]]]))
    first_id = devices()["ME000513"].id
    upload = ingest(csv_bytes([["機器番号", "製品名"], ["ｍｅ000513", "新しい名前"]]))
    assert upload.status == "succeeded"
    found = devices()
    assert list(found) == ["me000513"]  # the newest ledger's spelling (NFKC) is shown
    assert (found["me000513"].id, found["me000513"].product_name) == (first_id, "新しい名前")


def test_same_device_twice_in_one_ledger_differing_in_case_is_a_duplicate(ctx):
    upload = ingest(csv_bytes([["機器番号", "製品名"], ["ME1", "a"], ["ｍｅ1", "b"]]))
    assert (upload.rows_imported, upload.rows_rejected) == (1, 1)
    assert "2 行目と重複" in rejected(upload)[1][2]


# ---------------------------------------------------------------- encrypted workbooks


def _encrypted_xlsx() -> bytes:
    from msoffcrypto.format.ooxml import OOXMLFile

    plain = io.BytesIO(xlsx_bytes([["機器番号", "製品名"], ["ME001", "a"]]))
    out = io.BytesIO()
    OOXMLFile(plain).encrypt("secret", out)
    return out.getvalue()


def test_password_protected_workbook_is_named_as_such(app, ctx):
    data = _encrypted_xlsx()
    with pytest.raises(UploadRejected, match="パスワードで保護"):
        check_upload(io.BytesIO(data), "台帳.xlsx", app.config)
    upload = ingest(data, ext="xlsx")
    assert upload.status == "failed" and "パスワードで保護" in upload.message


# ---------------------------------------------------------------- file names


@pytest.mark.parametrize("raw, clean", [
    ("台帳\x00.csv", "台帳.csv"), ("..\\..\\windows\\台帳.csv", "台帳.csv"), ("/etc/passwd", "passwd"),
    ("a\u202excod.csv", "axcod.csv"), ("\r\n..", "upload"), ("あ" * 300 + ".xlsx", "あ" * 250 + ".xlsx"),
])
def test_clean_filename(raw, clean):
    assert clean_filename(raw) == clean


def test_nul_in_an_uploaded_file_name_is_not_stored(app, client, ctx):
    from app.infra.queue import redis_connection

    redis_connection().flushdb()
    login_as(client, HOSPITAL_A)
    from app.services.uploads import records as uploads

    data = csv_bytes([LEDGER_HEADER, *ledger_rows(2)])
    response = client.post("/upload/", data={"month": f"{uploads.default_month():%Y-%m}",
                                              "ledger": (io.BytesIO(data), "台帳\x00<b>.csv")},
                           content_type="multipart/form-data")
    assert response.status_code in (200, 302)
    names = [u.original_name for u in db.session.scalars(select(UploadFile))]
    assert names == ["台帳<b>.csv"]


def test_migration_fills_device_keys_of_existing_devices(tmp_path):
    from flask_migrate import upgrade
    from sqlalchemy import create_engine, text

    from app import MIGRATIONS_DIR, create_app
    from config import TestConfig

    url = f"sqlite:///{tmp_path / 'keys.db'}"

    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = url

    app = create_app(Config)
    with app.app_context():
        upgrade(directory=MIGRATIONS_DIR, revision="0001")
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO organization (id, kind, code, name, mfa_required, report_rank_count, analysis_level, "
                "manufacturer_selection_count, allows_manufacturer_access, created_on, changed_on) "
                "VALUES (1, 'hospital', 'H1', 'h', 1, 5, 1, 5, 0, '2026-01-01', '2026-01-01')"))
            for id_, number in [(1, "ME000513"), (2, "me000513"), (3, "Pump A")]:
                connection.execute(text("INSERT INTO equipment (id, hospital_id, device_number, default_counts, "
                                        "updated_on) VALUES (:i, 1, :n, 1, '2026-01-01')"), {"i": id_, "n": number})
        upgrade(directory=MIGRATIONS_DIR, revision="0008")  # via 0009
        with engine.connect() as connection:
            keys = dict(connection.execute(text("SELECT id, device_key FROM equipment")).all())
        engine.dispose()
    # the older device keeps the key; the newer one stays a separate device, not merged
    assert keys == {1: "me000513", 2: "me000513#2", 3: "pump a"}
