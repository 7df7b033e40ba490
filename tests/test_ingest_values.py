"""Cell parsing, header mapping and reading details (no database)."""
from __future__ import annotations

import codecs
import datetime as dt

import pytest

from app.services.ingest import reading
from app.services.ingest.headers import FAILURE, LEDGER, LENDING, find_header_row, map_headers
from app.services.ingest.values import parse_date, parse_datetime, text


@pytest.mark.parametrize("raw, expected", [
    ("2023/04/01", dt.date(2023, 4, 1)),
    ("2023-4-1", dt.date(2023, 4, 1)),
    ("20230401", dt.date(2023, 4, 1)),
    ("R5.4.1", dt.date(2023, 4, 1)),
    ("Ｒ５．４．１", dt.date(2023, 4, 1)),
    ("令和5年4月1日", dt.date(2023, 4, 1)),
    ("令和元年5月1日", dt.date(2019, 5, 1)),
    ("H31.4.30", dt.date(2019, 4, 30)),
    ("平成31年4月30日", dt.date(2019, 4, 30)),
    ("S60/1/2", dt.date(1985, 1, 2)),
    ("2023年4月1日", dt.date(2023, 4, 1)),
    ("２０２３／０４／０１", dt.date(2023, 4, 1)),
    (45017, dt.date(2023, 4, 1)),
    (45017.0, dt.date(2023, 4, 1)),
    ("45017", dt.date(2023, 4, 1)),
    (dt.datetime(2023, 4, 1, 10, 0), dt.date(2023, 4, 1)),
    (dt.date(2023, 4, 1), dt.date(2023, 4, 1)),
    ("", None), (None, None), ("  ", None),
])
def test_dates(raw, expected):
    assert parse_date(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    ("2023/04/01 10:30", dt.datetime(2023, 4, 1, 10, 30)),
    ("2023/4/1 9:05:07", dt.datetime(2023, 4, 1, 9, 5, 7)),
    ("2023-04-01T10:30:00", dt.datetime(2023, 4, 1, 10, 30)),
    ("R5.4.1 8:00", dt.datetime(2023, 4, 1, 8, 0)),
    ("2023年4月1日 10時30分", dt.datetime(2023, 4, 1, 10, 30)),
    ("2023/04/01 24:00", dt.datetime(2023, 4, 2)),
    (45017.5, dt.datetime(2023, 4, 1, 12)),
    ("202304011030", dt.datetime(2023, 4, 1, 10, 30)),
])
def test_datetimes(raw, expected):
    assert parse_datetime(raw) == expected


@pytest.mark.parametrize("raw", ["abc", "2023/13/01", "2023/02/30", "0", "R5.13.1", "12:00", True])
def test_bad_dates_say_why(raw):
    with pytest.raises(ValueError, match="日付として読めません"):
        parse_datetime(raw)


def test_text():
    assert text(100000029.0) == "100000029"
    assert text("ＧＥヘルスケア・ジャパン㈱ ") == "GEヘルスケア・ジャパン(株)"
    assert text("ｼﾘﾝｼﾞﾎﾟﾝﾌﾟ") == "シリンジポンプ"
    assert text("   ") is None


def test_the_apostrophe_our_csv_exports_put_before_a_formula_is_removed():
    from app.views.csv_export import cell

    for value in ("=HYPERLINK(1)", "+12", "@home", "-AB"):
        assert cell(value) == "'" + value and text(cell(value)) == value
    assert text("'-5") == "'-5" and text("'abc") == "'abc"  # not a formula: the apostrophe is data


def test_header_synonyms():
    mapping = map_headers(["ＭＥ番号", "設置部署", "機器名称", "型式", "製造元", "製造番号", "取得日", "耐用期限", "分類"], LEDGER)
    assert mapping.columns == {
        "device_number": 0, "department_use": 1, "product_name": 2, "model_number": 3, "maker_name": 4,
        "serial_number": 5, "purchased_on": 6, "expires_on": 7, "classification": 8,
    }
    english = map_headers(["hospital_id", "me_number", "grp_user", "serial_number", "date_stocked",
                           "product_name", "model_number", "maker_name", "date_expiration"], LEDGER)
    assert not english.missing and english.columns["delivered_on"] == 4
    assert map_headers(["機器番号", "貸出日時", "返却日時", "貸出先"], LENDING).columns == {
        "device_number": 0, "lent_at": 1, "returned_at": 2, "department": 3}
    assert map_headers(["機器番号", "発生日", "修理完了日", "故障内容"], FAILURE).missing == []
    assert map_headers(["番号", "日付"], FAILURE).missing == ["device_number"]


def test_profile_first_and_header_row_search():
    profile = {"番号": "device_number", "機器名称": ""}  # "" ignores a column
    mapping = map_headers(["番号", "機器名称"], LEDGER, profile)
    assert mapping.columns == {"device_number": 0}
    rows = [["機器台帳"], ["出力日", "2025/11/01"], ["機器番号", "製品名"], ["A", "B"]]
    assert find_header_row(rows, LEDGER) == 2


def test_encoding_detection(tmp_path):
    text_ = "機器番号,製品名\r\nA1,シリンジポンプ\r\n"
    cases = {"utf-8": text_.encode(), "utf-8-sig": codecs.BOM_UTF8 + text_.encode(),
             "cp932": text_.encode("cp932"), "utf-16": text_.encode("utf-16")}
    for expected, data in cases.items():
        path = tmp_path / f"{expected}.csv"
        path.write_bytes(data)
        assert reading.detect_encoding(str(path)) == expected
        rows = list(reading.read_csv_rows(str(path), expected, reading.Limits()))
        assert rows[1] == ["A1", "シリンジポンプ"]


def test_cp932_far_into_a_file(tmp_path):
    path = tmp_path / "late.csv"
    path.write_bytes(b"a,b\r\n" * 300_000 + "機器,ポンプ\r\n".encode("cp932"))
    assert reading.detect_encoding(str(path)) == "cp932"


def test_sniffing_refuses_mismatched_extensions(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(b"PK\x03\x04rest")
    with pytest.raises(reading.ReadError, match="内容が Excel"):
        reading.check_format(str(path), "csv")
    path.write_bytes(b"a,b\r\n")
    with pytest.raises(reading.ReadError, match="Excel ファイルではありません"):
        reading.check_format(str(path), "xlsx")
