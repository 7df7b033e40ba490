"""The rejected-rows workbook speaks its reader's language: Japanese by default, English after
/lang/en (or ``_l_=en`` on the API). The hospital's own cells stay exactly as read, as text that
a spreadsheet never evaluates; only our words (sheet name, titles, columns, reasons) change.
A workbook stored before its reasons were kept as codes is given as it is."""
from __future__ import annotations

import io
import re
import zipfile

import openpyxl
import pytest

from app.extensions import db
from app.infra.storage import get_storage
from app.models import UploadFile
from app.services.ingest.pipeline import run_ingest
from app.services.ingest.rejects import RejectWriter, open_rejected, reasons_key
from app.services.stored_messages import part, translated

from .conftest import HOSPITAL_A, HOSPITAL_B, login_as
from .ingest_helpers import LEDGER_HEADER, csv_bytes, ledger_rows, make_upload
from .test_stored_messages import upload_and_ingest

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
HYPERLINK = '=HYPERLINK("http://example.com","x")'

pytestmark = pytest.mark.usefixtures("empty_queue")


def workbook(data: bytes):
    book = openpyxl.load_workbook(io.BytesIO(data))
    sheet = book.worksheets[0]
    return book.sheetnames[0], [[c.value for c in row] for row in sheet.iter_rows()], sheet


def dirty_ledger() -> bytes:
    rows = ledger_rows(6)
    rows[1][0] = ""  # row 3: no device number
    rows[2][6] = "2023/13/45"  # row 4: no such date
    rows[3][7] = "R0.4.1"  # row 5: 令和 has no year 0
    rows[4][0] = rows[0][0]  # row 6: the device number of row 2
    rows[4][2] = HYPERLINK  # a formula-looking cell of the hospital's, on a rejected row
    rows[5][6] = "=1+1"  # row 7: a formula-looking date: its reason quotes it
    return csv_bytes([LEDGER_HEADER] + rows)


def test_the_rejected_rows_follow_the_readers_language(client, ctx):
    login_as(client, HOSPITAL_A)
    upload = upload_and_ingest(client, ledger=(dirty_ledger(), "ledger.csv"))
    assert upload.rows_rejected == 5

    name, rows, _sheet = workbook(client.get(f"/upload/{upload.id}/rejected").data)
    assert name == "取り込めなかった行"
    assert rows[0] == ["元の行番号", "列", "理由", *LEDGER_HEADER]
    assert {r[0]: r[1:3] for r in rows[1:]} == {
        3: ["機器番号", "機器番号が空です。"],
        4: ["納入日", "日付として読めません: 2023/13/45（例: 2023/04/01、R5.4.1）"],
        5: ["使用期限", "令和0年はありません（元年が1年です）: R0.4.1（例: 2023/04/01、R5.4.1）"],
        6: ["機器番号", "機器番号 ME00001 が 2 行目と重複しています。"],
        7: ["納入日", "日付として読めません: =1+1（例: 2023/04/01、R5.4.1）"],
    }
    japanese_data = [r[3:] for r in rows]

    client.get("/lang/en")
    response = client.get(f"/upload/{upload.id}/rejected")
    assert response.status_code == 200 and "rejected_" in response.headers["Content-Disposition"]
    name, rows, sheet = workbook(response.data)
    assert name == "Rejected rows"
    assert rows[0] == ["Original row", "Column", "Reason", *LEDGER_HEADER]  # the file's headers are data
    assert {r[0]: r[1:3] for r in rows[1:]} == {
        3: ["Device number", "The device number is empty."],
        4: ["Delivery date", "Not readable as a date: 2023/13/45 (e.g. 2023/04/01, R5.4.1)"],
        5: ["End of service life", "Reiwa has no year 0 (its first year is year 1): R0.4.1 (e.g. 2023/04/01, R5.4.1)"],
        6: ["Device number", "Device number ME00001 is a duplicate of row 2."],
        7: ["Delivery date", "Not readable as a date: =1+1 (e.g. 2023/04/01, R5.4.1)"],
    }
    assert not any(JAPANESE.search(str(v)) for r in rows for v in r[:3] if v is not None)
    assert [r[3:] for r in rows] == japanese_data  # the hospital's cells as read, in both
    row_6 = next(r for r in sheet.iter_rows(min_row=2) if r[0].value == 6)
    assert row_6[5].value == HYPERLINK and row_6[5].data_type == "s"  # text, not a formula
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode() + archive.read("xl/sharedStrings.xml").decode()
    assert "<f>" not in xml and "<f " not in xml

    english_api = client.get(f"/api/v1/uploads/{upload.id}/rejected?_l_=en")
    assert english_api.status_code == 200 and workbook(english_api.data)[0] == "Rejected rows"


def test_an_event_files_reasons_in_english(client, ctx):
    """Lendings: an unknown device, a return before the lending, a CSV record of the wrong width."""
    run_ingest(make_upload(csv_bytes([LEDGER_HEADER] + ledger_rows(2)), 1))
    lending = ("機器番号,貸出日時,返却日時,貸出先\r\n"
               "ME00001,2025/10/01 10:00,2025/10/02 10:00,ICU\r\n"
               "ME09999,2025/10/01 10:00,,ICU\r\n"
               "ME00002,2025/10/03 10:00,2025/10/02 10:00,ICU\r\n"
               "ME00002,2025/10/05 10:00,,ICU,extra,more\r\n").encode()
    upload_id = make_upload(lending, 2)
    run_ingest(upload_id)
    upload = db.session.get(UploadFile, upload_id)
    assert upload.rows_rejected == 3
    login_as(client, HOSPITAL_A)
    client.get("/lang/en")
    _name, rows, _sheet = workbook(client.get(f"/upload/{upload.id}/rejected").data)
    assert {r[0]: r[1:3] for r in rows[1:]} == {
        3: ["Device number", "Device number ME09999 is not in the device ledger. Import the ledger first."],
        4: ["Returned at", "The return is earlier than the lending."],
        5: ["Columns", "The row has 6 columns, the header 4. Check the separators (,) and quotes (\")."],
    }


def test_another_hospitals_user_gets_no_rejected_rows_in_any_language(client, ctx):
    login_as(client, HOSPITAL_A)
    upload = upload_and_ingest(client, ledger=(dirty_ledger(), "ledger.csv"))
    login_as(client, HOSPITAL_B)
    for language in ("ja", "en"):
        client.get(f"/lang/{language}")
        assert client.get(f"/upload/{upload.id}/rejected").status_code == 404
        assert client.get(f"/api/v1/uploads/{upload.id}/rejected?_l_={language}").status_code == 404


def test_a_workbook_stored_before_the_reasons_were_kept_is_given_as_stored(client, ctx):
    login_as(client, HOSPITAL_A)
    upload = upload_and_ingest(client, ledger=(dirty_ledger(), "ledger.csv"))
    storage = get_storage()
    stored = storage.open(upload.rejected_key).read()
    storage.delete(reasons_key(upload.rejected_key))
    client.get("/lang/en")
    response = client.get(f"/upload/{upload.id}/rejected")
    assert response.data == stored and workbook(response.data)[0] == "取り込めなかった行"


def test_the_english_workbook_keeps_the_cell_limits(app, tmp_path):
    """A reason quoting a huge value is cut at Excel's 32,767 characters; characters XML cannot
    carry are dropped from our words as from the data."""
    from app.infra.storage import storage_from_url

    storage = storage_from_url(f"file://{tmp_path}")
    writer = RejectWriter(["機器番号", "納入日"])
    huge = "9" * 40_000
    writer.add(2, [(translated("納入日"), part("reject.date", reason=translated(
        "日付として読めません: %(value)s", value=huge)))], ["ME1", huge])
    writer.add(3, [("見出し\x01", part("reject.excel_error", value="#N/A\x0b"))], ["ME2", "#N/A"])
    writer.close()
    for path, key in ((writer.path, "r/rejected.xlsx"), (writer.reasons_path, reasons_key("r/rejected.xlsx"))):
        with open(path, "rb") as handle:
            storage.put_file(key, handle)
    writer.discard()
    with app.app_context():
        handle = open_rejected(storage, "r/rejected.xlsx", "en")
    _name, rows, _sheet = workbook(handle.read())
    assert rows[1][2].startswith("Not readable as a date: 999") and len(rows[1][2]) == 32_767
    assert len(rows[1][4]) == 32_767
    assert rows[2][1:3] == ["見出し", "The Excel error value \"#N/A\". Check the formula in the original file."]


def test_a_rerun_that_fails_between_its_two_writes_never_pairs_a_workbook_with_old_reasons(app, tmp_path):
    """A re-run writes over the earlier run's workbook and reasons. Should the reasons' write
    fail, the new workbook is given as stored (Japanese), not rewritten from the old reasons."""
    from app.infra.storage import storage_from_url
    from app.services.ingest.rejects import store_rejected

    storage = storage_from_url(f"file://{tmp_path}")
    key = "r/rejected.xlsx"

    def run(value):
        writer = RejectWriter(["機器番号"])
        writer.add(2, [("機器番号", part("reject.excel_error", value=value))], [value])
        writer.close()
        return writer

    first, second = run("#N/A"), run("#REF!")
    store_rejected(storage, first, key)
    put_file = storage.put_file

    def reasons_write_fails(target, handle):
        if target == reasons_key(key):
            raise OSError("disk full")
        put_file(target, handle)

    storage.put_file = reasons_write_fails
    with pytest.raises(OSError):
        store_rejected(storage, second, key)
    for writer in (first, second):
        writer.discard()
    assert not storage.exists(reasons_key(key))
    with app.app_context():
        _name, rows, _sheet = workbook(open_rejected(storage, key, "en").read())
    assert rows[1][3] == "#REF!" and "Excel のエラー値「#REF!」" in rows[1][2]  # the new run's, in Japanese
