"""docs/api.md cannot rot: its ```bash integration-test blocks run, in order, as one bash
session, with curl against a live instance (tests/browser.py ``serve``).

Only blocks marked ``integration-test`` run (other sections may carry their own examples and
tests). The session gets what an operator has: ``OPTISERVE`` (the base URL) and ``ADMIN_KEY``
(an Admin's key); everything else — the service account's id, its key, the uploads to fetch —
the scripts find themselves, as an on-prem job would. Then what they did is checked: the
files fetched and acknowledged, the report published, the key issued for the System account.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from flask_appbuilder.security.sqla.models import ApiKey
from sqlalchemy import select

from app.extensions import db
from app.models import ReportFile, UploadFile

from .browser import serve
from .conftest import ADMIN, user_by_email
from .ingest_helpers import LEDGER_HEADER, MONTH, csv_bytes, ledger_rows, make_upload
from .test_api_keys import key_for

DOC = Path(__file__).resolve().parent.parent / "docs" / "api.md"
BLOCK = re.compile(r"^```bash integration-test\n(.*?)^```", re.S | re.M)
PDF = b"%PDF-1.7\n% report of the documentation test\n"

# curl and jq are what the page asks of an on-prem machine. Missing, the test is skipped on a
# developer's machine, never under CI (CI=true), where it must fail.
TOOLS = pytest.mark.skipif(
    not (shutil.which("curl") and shutil.which("jq") and shutil.which("bash")) and os.environ.get("CI") != "true",
    reason="curl, jq and bash are needed (apt-get install -y curl jq)")


def documented_scripts() -> list[str]:
    return BLOCK.findall(DOC.read_text(encoding="utf-8"))


def test_the_page_has_the_integration_steps():
    scripts = documented_scripts()
    assert len(scripts) >= 5
    text = "\n".join(scripts)
    for step in ("/api/v1/_openapi", "/api/v1/apikeys/", "/api/v1/system/uploads/", "/ack",
                 "/api/v1/system/reports/", "Idempotency-Key"):
        assert step in text, step


@TOOLS
def test_documented_scripts_run_against_a_live_instance(app, ctx, tmp_path):
    data = csv_bytes([LEDGER_HEADER] + ledger_rows(3))
    upload_id = make_upload(data, 1)
    other_id = make_upload(csv_bytes([LEDGER_HEADER] + ledger_rows(2)), 1, code="H0002")
    admin_key = key_for(app, ADMIN, actor=ADMIN)
    (tmp_path / "analysis.pdf").write_bytes(PDF)
    db.session.remove()  # the live server's threads use their own sessions
    separator = "\necho '::block-done'\n"
    script = separator.join(documented_scripts()) + separator
    with serve(app) as base:
        env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "LANG": "C.UTF-8",
               "OPTISERVE": base, "ADMIN_KEY": admin_key}
        run = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=120)
    output = run.stdout
    assert run.returncode == 0, f"exit {run.returncode}\n{output[-2000:]}\n{run.stderr[-2000:]}"
    assert output.count("::block-done") == len(documented_scripts())
    lines = output.splitlines()
    # the OpenAPI document lists the System APIs
    assert int(lines[0]) >= 3
    # the key was issued for the System account and stored by the script, readable by it only
    system = user_by_email("system@smds.example")
    key = db.session.scalars(select(ApiKey).where(ApiKey.user_id == system.id, ApiKey.name == "datahub")).one()
    key_file = tmp_path / "datahub.key"
    assert key_file.read_text().strip().startswith(key.key_prefix)
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    # the daily pull fetched both hospitals' uploads, byte for byte, and acknowledged them
    fetched = {line.split()[1] for line in lines if line.startswith("fetched ")}
    month = f"{MONTH:%Y-%m}"
    assert fetched == {f"H0001_{month}_ledger_{upload_id}", f"H0002_{month}_ledger_{other_id}"}
    assert (tmp_path / f"H0001_{month}_ledger_{upload_id}").read_bytes() == data
    for pk in (upload_id, other_id):
        assert db.session.get(UploadFile, pk).fetched_at is not None
    # the repeated acknowledgement answered the first answer again
    assert any(re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+Z", line) for line in lines)
    # the monthly publish stored the file for H0001, 2026-08, type 1, and mailed the hospital
    report = db.session.scalars(select(ReportFile).where(ReportFile.source == "onprem")).one()
    assert report.month.strftime("%Y-%m") == "2026-08" and report.file_type == 1
    assert report.sha256 == hashlib.sha256(PDF).hexdigest()
    assert f"published {report.file_name} {report.sha256} notified=true" in lines
    # the hospital's figures of that month, as the dashboard shows them (8 headline cards)
    assert "figures H0001 2026-08 cards=8" in lines
