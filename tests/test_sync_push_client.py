"""``flask optiserve sync push`` against a served instance over HTTP: masters and ledger,
a retry after a lost answer applies once, a refusal exits 1 with the server's message."""
from __future__ import annotations

import json
import urllib.request

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, Organization, UploadFile, UploadStatus
from app.sync_client import sync_cli
from app.sync_client.push import idempotency_key

from .browser import serve
from .ingest_helpers import LEDGER_HEADER, MONTH, csv_bytes, ledger_rows
from .test_api_keys import key_for

SYSTEM = "system@smds.example"
MASTERS = {"hospitals": [{"id": "HP-9", "code": "H9001", "name": "ひかり台病院"}],
           "makers": [{"id": "MK-1", "name": "東都医科工業株式会社", "aliases": ["TOTO IKA"]}]}


@pytest.fixture()
def server(app, ctx, key_file):  # the key is issued before CSRF is switched on
    with serve(app, csrf=True) as url:
        yield url


@pytest.fixture()
def key_file(app, ctx, tmp_path):
    path = tmp_path / "system.key"
    path.write_text(key_for(app, SYSTEM) + "\n")
    return str(path)


def run(server, key_file, *args):
    return CliRunner().invoke(sync_cli, ["push", "--base-url", server, "--api-key-file", key_file, *args],
                              catch_exceptions=False)


def pushes() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "masters.push"))


def test_masters_push_and_a_second_run_changes_nothing(server, key_file, tmp_path):
    path = tmp_path / "masters.json"
    path.write_text(json.dumps(MASTERS, ensure_ascii=False), encoding="utf-8")
    first = run(server, key_file, "masters", str(path))
    assert first.exit_code == 0, first.output
    assert json.loads(first.output)["counts"]["hospitals"]["created"] == 1
    second = run(server, key_file, "masters", str(path))
    assert second.exit_code == 0 and second.output == first.output  # the first answer, replayed
    assert pushes() == 1
    assert db.session.scalars(select(Organization).where(Organization.code == "H9001")).one().external_id == "HP-9"


def test_a_lost_answer_is_retried_with_the_same_key_and_applied_once(server, key_file, tmp_path, monkeypatch):
    rows = ledger_rows(4)
    path = tmp_path / "ledger.json"
    path.write_text(json.dumps({"rows": [dict(zip(["device_number", "department_use", "product_name",
                                                    "model_number", "maker_name", "serial_number",
                                                    "delivered_on", "expires_on", "classification"], r))
                                          for r in rows]}, ensure_ascii=False), encoding="utf-8")
    real = urllib.request.urlopen
    calls = []

    def lossy(request, timeout=None):
        calls.append(request.headers.get("Idempotency-key"))
        response = real(request, timeout=timeout)
        if len(calls) == 1:  # the server did the work; the answer is lost on the way back
            response.read()
            response.close()
            raise ConnectionResetError("connection reset by peer")
        return response

    monkeypatch.setattr(urllib.request, "urlopen", lossy)
    monkeypatch.setattr("app.sync_client.push.time.sleep", lambda seconds: None)
    result = run(server, key_file, "ledger", "--hospital", "H0001", "--month", f"{MONTH:%Y-%m}", str(path))
    assert result.exit_code == 0, result.output
    assert len(calls) == 2 and calls[0] == calls[1] == idempotency_key(
        "ledger", path.read_bytes(), "H0001", f"{MONTH:%Y-%m}")
    uploads = db.session.scalars(select(UploadFile)).all()
    assert len(uploads) == 1 and uploads[0].status == UploadStatus.queued.value
    assert '"status": "queued"' in result.output


def test_a_ledger_file_is_sent_as_a_file(server, key_file, tmp_path):
    path = tmp_path / "台帳.csv"
    path.write_bytes(csv_bytes([LEDGER_HEADER, *ledger_rows(3)]))
    result = run(server, key_file, "ledger", "--hospital", "H0001", "--month", f"{MONTH:%Y-%m}", str(path))
    assert result.exit_code == 0, result.output
    upload = db.session.scalars(select(UploadFile)).one()
    assert upload.original_name == "台帳.csv" and upload.size == path.stat().st_size


def test_a_refusal_exits_1_with_the_servers_message(server, key_file, tmp_path):
    path = tmp_path / "masters.json"
    path.write_text(json.dumps({"hospitals": [{"id": "X", "code": "H9100"}, {"id": "Y"}]}), encoding="utf-8")
    result = CliRunner().invoke(sync_cli, ["push", "--base-url", server, "--api-key-file", key_file,
                                           "masters", str(path)])
    assert result.exit_code == 1
    assert "HTTP 400: hospitals[0].name: 入力してください。" in result.output
    assert "hospitals[1].code: 入力してください。" in result.output
    assert pushes() == 0
