"""Files that must fail cleanly: a clear message, nothing stored, and the next upload works.

Workbooks are parsed in a child process; the tests that switch the zip pre-check off prove
that a parser crash (python-calamine aborts on a lying shared-strings count) kills only the
child."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from app.extensions import db
from app.models import Equipment, Lending, UploadFile
from app.services.ingest import reading, write
from app.services.ingest.pipeline import run_ingest

from .ingest_helpers import (
    LEDGER_HEADER,
    csv_bytes,
    declared_rows_xlsx,
    ledger_rows,
    lying_shared_strings_xlsx,
    make_upload,
    zip_bomb_xlsx,
)


def equipment_count():
    return db.session.scalar(select(func.count()).select_from(Equipment))


def assert_next_upload_works():
    outcome = run_ingest(make_upload(csv_bytes([LEDGER_HEADER, *ledger_rows(3, start=500)]), 1))
    assert (outcome.status, outcome.rows_imported) == ("succeeded", 3)


def fail_with(data: bytes, ext: str, file_type: int = 1) -> UploadFile:
    before = equipment_count()
    upload_id = make_upload(data, file_type, ext)
    outcome = run_ingest(upload_id)
    upload = db.session.get(UploadFile, upload_id)
    assert outcome.status == upload.status == "failed"
    assert upload.message == outcome.message and upload.finished_at is not None
    assert upload.rows_imported == 0
    assert equipment_count() == before
    return upload


CASES = {
    "corrupt xlsx": (b"PK\x03\x04" + b"\x00garbage" * 200, "xlsx", "壊れている"),
    "zip bomb": (None, "xlsx", "圧縮爆弾"),
    "lying shared strings": (None, "xlsx", "共有文字列"),
    "declared 2,000,000 rows": (None, "xlsx", "行数が多すぎます"),
    "exe renamed xlsx": (b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 500, "xlsx", "ではない"),
    "empty file": (b"", "csv", "空"),
    "headers only": (None, "csv", "データ行がありません"),
    "cp932 declared utf-8": (None, "csv", "UTF-8"),
    "binary as csv": (b"\x01\x02\x00\x00\xff" * 100, "csv", "テキスト"),
}


def _data(name):
    data, ext, expected = CASES[name]
    if data is None:
        data = {
            "zip bomb": lambda: zip_bomb_xlsx(60),
            "lying shared strings": lying_shared_strings_xlsx,
            "declared 2,000,000 rows": declared_rows_xlsx,
            "headers only": lambda: csv_bytes([LEDGER_HEADER]),
            "cp932 declared utf-8": lambda: b"\xef\xbb\xbf" + csv_bytes([LEDGER_HEADER, *ledger_rows(3)], "cp932"),
        }[name]()
    return data, ext, expected


@pytest.mark.parametrize("name", list(CASES))
def test_bad_file_fails_clearly(ctx, name):
    run_ingest(make_upload(csv_bytes([LEDGER_HEADER, *ledger_rows(5)]), 1))
    data, ext, expected = _data(name)
    upload = fail_with(data, ext)
    assert expected in upload.message
    assert_next_upload_works()


@pytest.mark.parametrize("maker", [lying_shared_strings_xlsx, declared_rows_xlsx])
def test_parser_crash_kills_only_the_child(ctx, monkeypatch, maker):
    monkeypatch.setattr(reading, "check_xlsx_zip", lambda path, limits: None)
    upload = fail_with(maker(), "xlsx")
    assert "異常終了" in upload.message or "行数が多すぎます" in upload.message
    assert_next_upload_works()


def test_parser_time_limit(ctx, app, monkeypatch, tmp_path):
    slow = tmp_path / "slow_child.py"
    slow.write_text("import time\ntime.sleep(30)\n")
    monkeypatch.setattr(reading, "CHILD_SCRIPT", str(slow))
    monkeypatch.setitem(app.config, "INGEST_PARSER_SECONDS", 1)
    from .ingest_helpers import xlsx_bytes

    upload = fail_with(xlsx_bytes([LEDGER_HEADER, *ledger_rows(2)]), "xlsx")
    assert "制限時間（1 秒）" in upload.message


def test_all_rows_bad_fails_but_keeps_reasons(ctx):
    rows = [["", "x"], ["", "y"]]
    upload = fail_with(csv_bytes([["機器番号", "製品名"], *rows]), "csv")
    assert "有効な行がありません" in upload.message
    assert upload.rows_rejected == 2 and upload.rejected_key


def _lending_month():
    run_ingest(make_upload(csv_bytes([LEDGER_HEADER, *ledger_rows(5)]), 1))
    header = ["機器番号", "貸出日時"]
    run_ingest(make_upload(csv_bytes([header, ["ME00001", "2025/10/01 10:00"], ["ME00002", "2025/10/02"]]), 2))
    return sorted(db.session.execute(select(Lending.equipment_id, Lending.lent_at)).all())


def _failing_after_delete(error):
    original = write.replace_events

    def replace_then_fail(session, kind, hospital_id, month, upload_id, records):
        original(session, kind, hospital_id, month, upload_id, records[:1])
        raise error

    return replace_then_fail


def test_infrastructure_error_midway_raises_and_keeps_previous_data(ctx, monkeypatch):
    before = _lending_month()
    monkeypatch.setattr(write, "replace_events", _failing_after_delete(OperationalError("INSERT", {}, Exception("lost"))))
    upload_id = make_upload(csv_bytes([["機器番号", "貸出日時"], ["ME00003", "2025/10/03"], ["ME00004", "2025/10/04"]]), 2)
    with pytest.raises(OperationalError):
        run_ingest(upload_id)
    db.session.expire_all()
    assert sorted(db.session.execute(select(Lending.equipment_id, Lending.lent_at)).all()) == before
    assert db.session.get(UploadFile, upload_id).status == "processing"  # the job wrapper retries


def test_unexpected_error_midway_fails_and_keeps_previous_data(ctx, monkeypatch):
    before = _lending_month()
    monkeypatch.setattr(write, "replace_events", _failing_after_delete(RuntimeError("bug")))
    upload_id = make_upload(csv_bytes([["機器番号", "貸出日時"], ["ME00003", "2025/10/03"]]), 2)
    outcome = run_ingest(upload_id)
    assert outcome.status == "failed" and "データは変更されていません" in outcome.message
    assert sorted(db.session.execute(select(Lending.equipment_id, Lending.lent_at)).all()) == before
    assert before[0][1] == dt.datetime(2025, 10, 1, 10)


def test_ledger_write_failure_keeps_previous_ledger(ctx, monkeypatch):
    run_ingest(make_upload(csv_bytes([LEDGER_HEADER, *ledger_rows(5)]), 1))
    original = write.write_ledger

    def write_then_fail(*args, **kwargs):
        original(*args, **kwargs)
        raise RuntimeError("disk full")

    monkeypatch.setattr(write, "write_ledger", write_then_fail)
    outcome = run_ingest(make_upload(csv_bytes([["機器番号", "製品名"], ["ME00001", "変更後"], ["NEW1", "新"]]), 1))
    assert outcome.status == "failed"
    names = dict(db.session.execute(select(Equipment.device_number, Equipment.product_name)).all())
    assert len(names) == 5 and names["ME00001"] == "製品1"


def test_row_limit_applies_to_csv(ctx, app, monkeypatch):
    monkeypatch.setitem(app.config, "INGEST_MAX_ROWS", 5)
    upload = fail_with(csv_bytes([LEDGER_HEADER, *ledger_rows(10)]), "csv")
    assert "行数が多すぎます（上限 5 行）" in upload.message
