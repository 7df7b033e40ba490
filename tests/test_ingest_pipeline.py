"""run_ingest end to end: files in storage → rows, statuses, messages, rejected rows."""
from __future__ import annotations

import datetime as dt
import io
import zipfile

import openpyxl
import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.infra.storage import get_storage
from app.models import Classification, Equipment, Failure, LedgerListing, Lending, Maker, UploadFile
from app.services.ingest.pipeline import run_ingest

from .ingest_helpers import (
    LEDGER_HEADER,
    MONTH,
    SAMPLE_LEDGER,
    csv_bytes,
    hospital_id,
    ledger_rows,
    make_upload,
    xlsx_bytes,
)


def devices(code="H0001"):
    return {e.device_number: e for e in db.session.scalars(
        select(Equipment).where(Equipment.hospital_id == hospital_id(code)))}


def rejected_rows(upload):
    book = openpyxl.load_workbook(io.BytesIO(get_storage().open(upload.rejected_key).read()), read_only=True)
    return [list(r) for r in book.active.iter_rows(values_only=True)]


def _sample_as(kind: str) -> tuple[bytes, str]:
    raw = SAMPLE_LEDGER.read_bytes()
    if kind == "utf8":
        return raw, "csv"
    if kind == "cp932":
        return raw.decode("utf-8").encode("cp932"), "csv"
    import csv

    rows = list(csv.reader(io.StringIO(raw.decode("utf-8"))))
    return xlsx_bytes(rows), "xlsx"


@pytest.mark.parametrize("kind", ["utf8", "cp932", "xlsx"])
def test_sample_ledger_imports(ctx, kind):
    data, ext = _sample_as(kind)
    outcome = run_ingest(make_upload(data, 1, ext))
    # The real sample repeats two device numbers (0350000016, 0350000021) with other serials.
    assert outcome.status == "succeeded_with_rejections", outcome.message
    assert (outcome.rows_total, outcome.rows_imported, outcome.rows_rejected) == (50, 48, 2)
    found = devices()
    assert len(found) == 48
    first = found["0000286061"]  # leading zeros kept, also from xlsx
    assert first.product_name == "バイオビュー1000シリーズ"
    assert first.maker_name == "GEヘルスケア・ジャパン(株)"
    assert first.maker_id is not None
    assert first.delivered_on == dt.date(2008, 11, 27)
    assert first.expires_on == dt.date(2014, 11, 27)
    assert first.department_use == "MEセンター2"
    assert first.default_counts is True
    assert found["0350000016"].serial_number == "551-10552"  # the first occurrence wins
    assert all("㈱" not in (e.maker_name or "") for e in found.values())
    siemens = [e for e in found.values() if "シーメンス" in (e.maker_name or "")]
    assert siemens and siemens[0].maker_name == "シーメンスヘルスケア・ダイアグノスティクス(株)"
    upload = db.session.get(UploadFile, outcome and found["0000286061"].upload_id)
    assert upload.detected_format == ("xlsx" if kind == "xlsx" else "csv")
    if kind != "xlsx":
        assert upload.detected_encoding == ("utf-8" if kind == "utf8" else "cp932")
    assert upload.column_mapping["me_number"] == "device_number"
    rows = rejected_rows(upload)
    assert rows[0][:3] == ["元の行番号", "列", "理由"]
    assert {r[0] for r in rows[1:]} == {43, 49} or len(rows) == 3
    assert all("重複" in r[2] for r in rows[1:])


def test_dirty_rows_are_rejected_with_reasons(ctx):
    rows = ledger_rows(100)
    rows[10][0] = ""  # no device number
    rows[20][6] = "2023/13/45"  # impossible date
    rows[30][0] = rows[29][0]  # duplicate of the row above
    upload_id = make_upload(csv_bytes([LEDGER_HEADER, *rows], "cp932"), 1)
    outcome = run_ingest(upload_id)
    assert outcome.status == "succeeded_with_rejections"
    assert (outcome.rows_imported, outcome.rows_rejected) == (97, 3)
    assert len(devices()) == 97
    upload = db.session.get(UploadFile, upload_id)
    assert upload.rejected_key == f"uploads/{upload.hospital_id}/2025-10/{upload_id}/rejected.xlsx"
    reasons = {r[0]: (r[1], r[2]) for r in rejected_rows(upload)[1:]}
    assert set(reasons) == {12, 22, 32}
    assert reasons[12] == ("機器番号", "機器番号が空です。")
    assert reasons[22][0] == "納入日" and "2023/13/45" in reasons[22][1]
    assert "31 行目と重複" in reasons[32][1]
    assert "3 件" in upload.message


def test_classifications_and_makers_are_resolved(ctx):
    run_ingest(make_upload(csv_bytes([LEDGER_HEADER, *ledger_rows(6)]), 1))
    found = devices()
    by_device = {n: db.session.get(Classification, e.classification_id) for n, e in found.items()}
    assert by_device["ME00001"].name == "シリンジポンプ"
    # The seeded hospital already has 生体情報モニター: the spelling without the long vowel is it.
    assert by_device["ME00002"].name.startswith("生体情報モニタ")
    assert all(c.hospital_id == hospital_id() for c in by_device.values())
    assert db.session.get(Maker, found["ME00001"].maker_id) is not None
    assert found["ME00001"].expires_on == dt.date(2028, 3, 31)  # R10.3.31


def test_three_level_classification_columns(ctx):
    header = ["管理番号", "大分類", "中分類", "小分類", "機器名称"]
    rows = [["A1", "治療機器", "輸液関連", "輸液ポンプ", "ポンプ"], ["A2", "生体情報", "", "", "モニタ"]]
    run_ingest(make_upload(csv_bytes([header, *rows]), 1))
    found = devices()
    leaf = db.session.get(Classification, found["A1"].classification_id)
    assert (leaf.name, leaf.level, leaf.parent.name) == ("輸液ポンプ", 3, "輸液関連")
    assert db.session.get(Classification, found["A2"].classification_id).level == 1


def test_reuploaded_ledger_replaces_that_months_listing_and_keeps_devices(ctx):
    run_ingest(make_upload(csv_bytes([LEDGER_HEADER, *ledger_rows(10)]), 1))
    before = devices()["ME00001"].classification_id
    header = ["機器番号", "製品名"]  # no classification column: classifications stay
    second = run_ingest(make_upload(csv_bytes([header] + [[f"ME{n:05d}", "新製品"] for n in range(1, 9)]), 1))
    assert second.status == "succeeded"
    db.session.expire_all()
    found = devices()
    assert len(found) == 10  # devices (and their history) are kept
    assert found["ME00001"].product_name == "新製品"
    assert found["ME00001"].classification_id == before
    assert all(e.default_counts for e in found.values())  # the listing, not the flag, decides
    listed = set(db.session.scalars(select(Equipment.device_number).join(
        LedgerListing, LedgerListing.equipment_id == Equipment.id).where(LedgerListing.month == MONTH)))
    assert listed == {f"ME{n:05d}" for n in range(1, 9)}
    assert "2 台" in second.message


def _ledger(count=5):
    run_ingest(make_upload(csv_bytes([LEDGER_HEADER, *ledger_rows(count)]), 1))
    return devices()


def test_lending_unknown_device_rejected_rest_imported(ctx):
    known = _ledger()
    header = ["機器番号", "貸出日時", "返却日時", "貸出先"]
    rows = [
        ["ME00001", "2025/10/01 09:00", "2025/10/03 17:30", "５階東病棟"],
        ["ME99999", "2025/10/02 09:00", "", "ICU"],
        ["ME00002", "R7.10.5 8:00", "2025-10-04 10:00", "ICU"],  # returned before lent
        ["ME00003", "20251010", "", "手術室"],
    ]
    upload_id = make_upload(csv_bytes([header, *rows], "cp932"), 2)
    outcome = run_ingest(upload_id)
    assert (outcome.status, outcome.rows_imported, outcome.rows_rejected) == ("succeeded_with_rejections", 2, 2)
    lendings = db.session.scalars(select(Lending).order_by(Lending.lent_at)).all()
    assert [(l.equipment_id, l.lent_at, l.returned_at, l.department, l.month) for l in lendings] == [
        (known["ME00001"].id, dt.datetime(2025, 10, 1, 9), dt.datetime(2025, 10, 3, 17, 30), "5階東病棟", MONTH),
        (known["ME00003"].id, dt.datetime(2025, 10, 10), None, "手術室", MONTH),
    ]
    reasons = {r[0]: r[2] for r in rejected_rows(db.session.get(UploadFile, upload_id))[1:]}
    assert "ME99999 は機器台帳にありません" in reasons[3]
    assert reasons[4] == "返却日時が貸出日時より前です。"


def test_lending_reupload_is_authoritative_for_the_events_starting_in_its_month(ctx):
    """A re-upload of October removes the October lendings it no longer lists; September's
    lending (listed by no October file) is untouched."""
    known = _ledger()
    header = ["機器番号", "貸出日時", "返却日時"]
    run_ingest(make_upload(csv_bytes([header, ["ME00001", "2025/09/01 10:00", "2025/09/02 10:00"]]), 2,
                           month=dt.date(2025, 9, 1)))
    run_ingest(make_upload(csv_bytes([header, ["ME00001", "2025/10/01 10:00", ""], ["ME00002", "2025/10/02 10:00", ""]]), 2))
    run_ingest(make_upload(csv_bytes([header, ["ME00003", "2025/10/05 10:00", ""]]), 2))
    rows = db.session.execute(select(Lending.equipment_id, Lending.lent_at, Lending.month).order_by(Lending.lent_at)).all()
    assert rows == [(known["ME00001"].id, dt.datetime(2025, 9, 1, 10), dt.date(2025, 9, 1)),
                    (known["ME00003"].id, dt.datetime(2025, 10, 5, 10), MONTH)]


def test_failure_file(ctx):
    known = _ledger()
    header = ["ME番号", "発生日", "修理完了日", "故障内容"]
    rows = [["ME00004", "令和7年10月3日", "2025/10/20", "=HYPERLINK(\"x\")"],
            ["ME00005", "2025/10/09", "2025/10/01", "液漏れ"]]
    upload_id = make_upload(xlsx_bytes([header, *rows]), 3, "xlsx")
    outcome = run_ingest(upload_id)
    assert (outcome.rows_imported, outcome.rows_rejected) == (1, 1)
    failure = db.session.scalars(select(Failure)).one()
    assert (failure.equipment_id, failure.failed_at, failure.repaired_at) == (
        known["ME00004"].id, dt.datetime(2025, 10, 3), dt.datetime(2025, 10, 20))
    assert failure.description == '=HYPERLINK("x")'  # stored as text, never evaluated
    rejected = rejected_rows(db.session.get(UploadFile, upload_id))
    assert rejected[1][2] == "修理完了日が故障日より前です。"


def test_rejected_file_keeps_formula_like_cells_as_text(ctx):
    _ledger()
    header = ["機器番号", "貸出日時", "貸出先"]
    rows = [["=cmd|' /C calc'!A0", "2025/10/01", "+SUM(1)"], ["ME00001", "2025/10/01", "@x"]]
    upload_id = make_upload(csv_bytes([header, *rows]), 2)
    run_ingest(upload_id)
    upload = db.session.get(UploadFile, upload_id)
    rejected = rejected_rows(upload)
    # exactly as written (no apostrophe), in string cells, which a spreadsheet never evaluates
    assert rejected[1][3] == "=cmd|' /C calc'!A0"
    assert rejected[1][5] == "+SUM(1)"
    with zipfile.ZipFile(io.BytesIO(get_storage().open(upload.rejected_key).read())) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet and "<f " not in sheet
    assert '<c r="D2" t="inlineStr">' in sheet


def test_needs_mapping_then_profile(ctx):
    from app.models import ColumnProfile

    header = ["No", "貸出開始時刻", "戻り"]
    data = csv_bytes([header, ["ME00001", "2025/10/01 10:00", ""]])
    _ledger()
    upload_id = make_upload(data, 2)
    outcome = run_ingest(upload_id)
    assert outcome.status == "needs_mapping"
    assert "機器番号" in outcome.message and "貸出日時" in outcome.message and "貸出開始時刻" in outcome.message
    assert db.session.scalar(select(func.count()).select_from(Lending)) == 0
    db.session.add(ColumnProfile(hospital_id=hospital_id(), file_type=2,
                                 mapping={"No": "device_number", "貸出開始時刻": "lent_at", "戻り": "returned_at"}))
    db.session.commit()
    again = run_ingest(upload_id)
    assert (again.status, again.rows_imported) == ("succeeded", 1)
    assert db.session.get(UploadFile, upload_id).column_mapping == {
        "No": "device_number", "貸出開始時刻": "lent_at", "戻り": "returned_at"}


def test_title_rows_above_header_and_english_headers(ctx):
    rows = [["機器台帳 出力日 2025/11/02"], [], LEDGER_HEADER, *ledger_rows(3)]
    outcome = run_ingest(make_upload(xlsx_bytes(rows), 1, "xlsx"))
    assert (outcome.status, outcome.rows_imported) == ("succeeded", 3)


def test_read_headers_for_the_mapping_screen(ctx):
    from app.services.ingest.headers import CANONICAL_FIELDS, read_headers

    upload_id = make_upload(xlsx_bytes([["台帳"], ["No", "名称X", "日付"], ["1", "a", "2025/1/1"]]), 1, "xlsx")
    upload = db.session.get(UploadFile, upload_id)
    path = get_storage().local_path(upload.storage_key)
    assert read_headers(path, "xlsx") == ["No", "名称X", "日付"]
    assert read_headers(path, "xlsx", file_type=1, profile={"No": "device_number"}) == ["No", "名称X", "日付"]
    assert CANONICAL_FIELDS[1][0] == ("device_number", "機器番号", True)


def test_large_workbook_streams_in_batches(ctx):
    # More rows than one child batch (2,000): every batch must decode on its own.
    rows = ledger_rows(4_500)
    outcome = run_ingest(make_upload(xlsx_bytes([LEDGER_HEADER, *rows]), 1, "xlsx"))
    assert (outcome.status, outcome.rows_imported) == ("succeeded", 4_500)
    found = devices()
    assert found["ME04500"].serial_number == "SN4500" and found["ME02001"].product_name == "製品6"


def test_no_activity_marker(ctx):
    from app.services.ingest.activity import no_activity

    known = _ledger(3)
    run_ingest(make_upload(csv_bytes([["機器番号", "貸出日時"], ["ME00001", "2025/10/01 10:00"]]), 2))
    idle = db.session.scalars(
        select(Equipment.device_number).where(no_activity(Equipment.id, dt.date(2025, 10, 15)))
        .order_by(Equipment.device_number)).all()
    assert idle == ["ME00002", "ME00003"]
    assert all(e.default_counts for e in known.values())  # idle devices still count by default
    later = db.session.scalars(
        select(Equipment.device_number).where(no_activity(Equipment.id, dt.date(2026, 11, 1)))).all()
    assert "ME00001" in later  # a year later the lending is out of the window
