"""The ```sh curl examples of docs/api.md (changes feed, masters and ledger push), replayed
against the app in order; the ```bash integration-test blocks (the key, the daily pull of
uploads, the report publish) run as one script in tests/test_api_doc.py.

Each ```sh block holds one curl command followed by ``# answers NNN``. Variables are what the
scripts of the page have at that point: ``$OPTISERVE`` (the base URL), ``$KEY`` (the System
account's key, issued as in section 1) and ``$MONTH`` (a month of the upload window).
"""
from __future__ import annotations

import io
import re
import shlex
from pathlib import Path

from sqlalchemy import select

from app.extensions import db
from app.models import Organization, UploadFile
from app.services.uploads.records import default_month

from .conftest import ADMIN
from .test_api_keys import key_for

DOC = Path(__file__).resolve().parent.parent / "docs" / "api.md"
BLOCK = re.compile(r"```sh\n(.*?)```", re.S)
FILES = {"analysis.pdf": b"%PDF-1.7\n% report of the documentation test\n"}


def documented_requests() -> list[tuple[list[str], int]]:
    requests = []
    for block in BLOCK.findall(DOC.read_text(encoding="utf-8")):
        command = block.replace("\\\n", " ")
        lines = [line for line in command.splitlines() if line.strip()]
        expected = re.match(r"#\s*answers\s+(\d{3})", lines[-1])
        assert lines[0].startswith("curl ") and expected, f"malformed example in docs/api.md:\n{block}"
        requests.append((lines[0], int(expected.group(1))))
    return requests


def parse_curl(line: str, variables: dict[str, str]) -> dict:
    for name, value in sorted(variables.items(), key=lambda item: -len(item[0])):
        line = line.replace(f"${name}", value)
    assert "$" not in line, f"unknown variable in docs/api.md: {line}"
    args = shlex.split(line)[1:]
    request = {"method": "GET", "headers": {}, "form": {}, "body": None, "url": None}
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in ("-sS", "-s", "-S", "-f"):
            pass
        elif arg == "-o":
            i += 1
        elif arg == "-X":
            request["method"] = args[i + 1]
            i += 1
        elif arg == "-H":
            name, value = args[i + 1].split(":", 1)
            request["headers"][name.strip()] = value.strip()
            i += 1
        elif arg == "-F":
            name, value = args[i + 1].split("=", 1)
            request["form"][name] = value
            i += 1
        elif arg == "-d":
            request["body"] = args[i + 1]
            i += 1
        elif arg.startswith("-"):
            raise AssertionError(f"curl option {arg} is not understood by tests/test_api_doc.py")
        else:
            request["url"] = arg
        i += 1
    if (request["form"] or request["body"]) and request["method"] == "GET":
        request["method"] = "POST"
    return request


def replay(client, request: dict):
    kwargs = {"method": request["method"], "headers": dict(request["headers"])}
    if request["form"]:
        kwargs["headers"].pop("Content-Type", None)
        data = {}
        for name, value in request["form"].items():
            data[name] = (io.BytesIO(FILES[value[1:]]), value[1:]) if value.startswith("@") else value
        kwargs.update(data=data, content_type="multipart/form-data")
    elif request["body"] is not None:
        kwargs["data"] = request["body"]
    return client.open(request["url"], **kwargs)


def test_documented_curl_requests_work(app, client, ctx):
    variables = {"OPTISERVE": "", "KEY": key_for(app, "system@smds.example", actor=ADMIN),
                 "MONTH": f"{default_month():%Y-%m}"}
    requests = documented_requests()
    assert [path for path in ("/api/v1/system/changes/", "/api/v1/system/masters/", "/api/v1/system/ledger/")
            if not any(path in line for line, _ in requests)] == []
    answers = []
    for line, expected in requests:
        response = replay(client, parse_curl(line, variables))
        assert response.status_code == expected, (line, response.status_code, response.get_data(as_text=True)[:300])
        answers.append(response.get_json(silent=True) or {})
    # the feed answered the documented shape; what the pushes stored
    feed = next(a for (line, _), a in zip(requests, answers) if "/system/changes/" in line)
    assert {"result", "next_cursor", "has_more", "latest"} <= set(feed)
    db.session.expire_all()
    pushed = db.session.scalars(select(Organization).where(Organization.code == "H1001")).one()
    assert pushed.external_id == "1001" and pushed.is_active
    assert db.session.scalars(select(Organization).where(Organization.code == "H1002")).first() is None
    ledger = db.session.scalars(select(UploadFile).where(UploadFile.original_name.like("onprem-ledger-%"))).one()
    assert ledger.file_type == 1 and f"{ledger.month:%Y-%m}" == variables["MONTH"]
