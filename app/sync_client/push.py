"""``flask optiserve sync push``: send masters or a cleaned ledger to OptiServe.

    flask optiserve sync push --base-url URL --api-key-file PATH masters masters.json
    flask optiserve sync push --base-url URL --api-key-file PATH ledger --hospital H0001 --month 2025-10 FILE

``masters`` sends a JSON file as it is (POST /api/v1/system/masters/). ``ledger`` sends a
``.json`` file (a list of rows, or an object with ``rows``) as JSON rows, and a ``.csv``,
``.xlsx`` or ``.xls`` file as a file (POST /api/v1/system/ledger/). The ``Idempotency-Key``
is derived from what is sent (kind, hospital, month and the file's SHA-256), so sending
again after a failure — a lost connection, a timeout, a server error — is safe: OptiServe
applies it once and answers the retry with the first answer. Connection errors, 5xx, 429
and "still in progress" (409) are retried with a growing pause; other refusals print the
server's message and exit 1. Plain standard library (urllib), no app context needed.
"""
from __future__ import annotations

import hashlib
import json
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import click

MASTERS_PATH = "/api/v1/system/masters/"
LEDGER_PATH = "/api/v1/system/ledger/"
FILE_TYPES = {
    ".csv": "text/csv",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".xls": "application/vnd.ms-excel",
}
RETRY_STATUSES = {409, 429, 500, 502, 503, 504}


class PushFailed(click.ClickException):
    """A refusal (or retries used up): the server's message, exit status 1."""


def idempotency_key(kind: str, data: bytes, *parts: str) -> str:
    digest = hashlib.sha256()
    for part in (kind, *parts):
        digest.update(part.encode() + b"\0")
    digest.update(data)
    return f"push-{kind}-{digest.hexdigest()[:48]}"


def read_api_key(path: str) -> str:
    key = Path(path).read_text(encoding="utf-8").strip()
    if not key:
        raise click.BadParameter("the file is empty", param_hint="--api-key-file")
    return key


def multipart(fields: dict[str, str], name: str, filename: str, data: bytes, content_type: str) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for key, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode())
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                 f"Content-Type: {content_type}\r\n\r\n".encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def send(base_url: str, path: str, api_key: str, body: bytes, content_type: str, key: str,
         retries: int = 4, timeout: float = 300.0, pause: float = 2.0) -> tuple[int, dict]:
    """POST once, retrying what a retry can fix with the same Idempotency-Key."""
    url = base_url.rstrip("/") + path
    headers = {"Authorization": f"Bearer {api_key}", "Idempotency-Key": key, "Content-Type": content_type,
               "Accept": "application/json"}
    attempt = 0
    while True:
        attempt += 1
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, _json(response.read())
        except urllib.error.HTTPError as error:
            status, answer = error.code, _json(error.read())
            if status not in RETRY_STATUSES or (status == 409 and "処理中" not in answer.get("message", "")):
                return status, answer
            problem = f"HTTP {status}: {answer.get('message', '')}"
        except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
            problem = str(getattr(error, "reason", error))
        if attempt > retries:
            raise PushFailed(f"giving up after {attempt} attempts: {problem}")
        click.echo(f"attempt {attempt} failed ({problem}); retrying", err=True)
        time.sleep(pause * 2 ** (attempt - 1))


def _json(raw: bytes) -> dict:
    try:
        value = json.loads(raw or b"{}")
    except ValueError:
        return {"message": raw[:500].decode("utf-8", "replace")}
    return value if isinstance(value, dict) else {"result": value}


def _finish(status: int, answer: dict) -> None:
    if status >= 400:
        lines = [f"HTTP {status}: {answer.get('message', '')}"]
        lines += [f"  {e}" for e in answer.get("errors", [])[1:]]
        raise PushFailed("\n".join(lines))
    click.echo(json.dumps(answer.get("result", answer), ensure_ascii=False, indent=2))


@click.group("push")
@click.option("--base-url", required=True, help="OptiServe's address, e.g. https://optiserve.example.jp")
@click.option("--api-key-file", required=True, type=click.Path(exists=True, dir_okay=False),
              help="file holding the API key of a System account")
@click.option("--retries", default=4, show_default=True, help="retries after a connection or server error")
@click.option("--idempotency-key", default=None,
              help="use this key instead of the one derived from the content (to send identical content again as new)")
@click.pass_context
def push_cli(ctx, base_url: str, api_key_file: str, retries: int, idempotency_key: str | None) -> None:
    """Push masters or a cleaned ledger to OptiServe."""
    ctx.obj = {"base_url": base_url, "api_key": read_api_key(api_key_file), "retries": retries,
               "key": idempotency_key}


@push_cli.command("masters")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.pass_obj
def push_masters(options: dict, path: str) -> None:
    """Send the masters JSON file PATH (see docs/api.md, "masters and ledger push")."""
    data = Path(path).read_bytes()
    try:
        json.loads(data)
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="PATH") from None
    key = options["key"] or idempotency_key("masters", data)
    _finish(*send(options["base_url"], MASTERS_PATH, options["api_key"], data, "application/json", key,
                  options["retries"]))


@push_cli.command("ledger")
@click.option("--hospital", "organization_code", required=True, help="the hospital's organization code")
@click.option("--month", required=True, help="the ledger's month, YYYY-MM")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.pass_obj
def push_ledger(options: dict, organization_code: str, month: str, path: str) -> None:
    """Send the cleaned ledger PATH (.json rows, or a .csv / .xlsx / .xls file)."""
    file = Path(path)
    data = file.read_bytes()
    suffix = file.suffix.lower()
    if suffix == ".json":
        try:
            rows = json.loads(data)
        except ValueError as exc:
            raise click.BadParameter(f"not JSON: {exc}", param_hint="PATH") from None
        rows = rows.get("rows") if isinstance(rows, dict) else rows
        body = json.dumps({"organization_code": organization_code, "month": month, "rows": rows},
                          ensure_ascii=False).encode()
        content_type = "application/json"
    elif suffix in FILE_TYPES:
        body, content_type = multipart({"organization_code": organization_code, "month": month},
                                       "file", file.name, data, FILE_TYPES[suffix])
    else:
        raise click.BadParameter("use a .json, .csv, .xlsx or .xls file", param_hint="PATH")
    key = options["key"] or idempotency_key("ledger", data, organization_code, month)
    _finish(*send(options["base_url"], LEDGER_PATH, options["api_key"], body, content_type, key,
                  options["retries"]))
