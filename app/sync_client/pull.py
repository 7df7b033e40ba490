"""``flask optiserve sync pull``: the daily pull of an on-prem instance.

1. Changes: ``GET /api/v1/system/changes?since=<cursor>`` page after page; each page is
   applied to this instance's database in one transaction (:mod:`app.services.sync.apply`,
   idempotent), committed, and only then is the page's ``next_cursor`` written to the state
   file (atomically: a temporary file renamed over it). A failure anywhere leaves the cursor
   of the last applied page, so the next run resumes there; a page applied but not yet
   recorded is applied again, which changes nothing.
2. Uploads not yet fetched: each is downloaded, checked against its SHA-256, stored under
   ``sync-inbox/<hospital>/<YYYY-MM>/<id>-<kind>.<ext>`` (plus ``.json`` with its metadata) in
   this instance's storage, then acknowledged with ``Idempotency-Key: ack-<id>``. A file
   stored but not acknowledged is offered again and stored again under the same name.
"""
from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from app.core.months import utc_now
from app.extensions import db
from app.infra.storage import get_storage
from app.services.sync import changes
from app.services.sync.apply import Applier
from app.services.unit_of_work import unit_of_work

PAGE_LIMIT = 1000
UPLOAD_PAGE = 100
INBOX = "sync-inbox"


class PullError(click.ClickException):
    pass


class Remote:
    """The few calls the client makes, with retries for transient failures."""

    def __init__(self, base_url: str, key: str, retries: int = 2, timeout: float = 60):
        self.base = base_url.rstrip("/")
        self.key, self.retries, self.timeout = key, retries, timeout

    def _call(self, method: str, path: str, params: dict | None = None, headers: dict | None = None) -> bytes:
        url = self.base + path + ("?" + urllib.parse.urlencode(params) if params else "")
        request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None,
                                         headers={"Authorization": f"Bearer {self.key}", **(headers or {})})
        for attempt in range(self.retries + 1):
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return response.read()
            except urllib.error.HTTPError as exc:
                if exc.code < 500 and exc.code != 429:
                    raise PullError(f"{method} {path}: HTTP {exc.code} {_message(exc)}") from None
                failure = f"HTTP {exc.code}"
            except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:  # refused, cut, timed out
                failure = str(getattr(exc, "reason", exc))
            if attempt < self.retries:
                time.sleep(0.5 * 2 ** attempt)
        raise PullError(f"{method} {path}: {failure} (after {self.retries + 1} attempts)")

    def get_json(self, path: str, params: dict | None = None) -> dict:
        return json.loads(self._call("GET", path, params))

    def get_bytes(self, path: str) -> bytes:
        return self._call("GET", path)

    def post_json(self, path: str, headers: dict) -> dict:
        return json.loads(self._call("POST", path, headers=headers) or b"{}")


def _message(exc: urllib.error.HTTPError) -> str:
    try:
        return json.loads(exc.read()).get("message", "")
    except (ValueError, AttributeError):
        return ""


# ---------------------------------------------------------------- state file

def read_state(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except ValueError as exc:
        raise PullError(f"state file {path} is not JSON ({exc}); fix it or pass --since") from None


def write_state(path: Path, state: dict) -> None:
    """Write the whole file or nothing: a temporary file in the same folder, renamed over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(state, out, indent=1)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# ---------------------------------------------------------------- changes

def pull_changes(remote: Remote, state_path: Path, since: int | None, limit: int = PAGE_LIMIT) -> dict:
    state = read_state(state_path)
    cursor = since if since is not None else int(state.get("cursor", 0))
    totals = {"entries": 0, "pages": 0, "changed": 0, "unchanged": 0, "skipped": 0}
    page = remote.get_json("/api/v1/system/changes/", {"since": cursor, "limit": limit})
    with click.progressbar(length=max(page.get("latest", 0) - cursor, 0) or 1,
                           label="changes", show_pos=True) as bar:
        while True:
            entries = page["result"]
            if entries:
                # one transaction per page; OptiServe's changes are not logged again here
                with changes.suppressed(db.session), unit_of_work(db.session):
                    counts = Applier(db.session).apply(entries)
                for name in ("changed", "unchanged", "skipped"):
                    totals[name] += counts.get(name, 0)
            totals["entries"] += len(entries)
            totals["pages"] += 1
            bar.update(max(page["next_cursor"] - cursor, 0))
            cursor = page["next_cursor"]
            write_state(state_path, {**state, "cursor": cursor, "base_url": remote.base,
                                     "pulled_at": utc_now().isoformat() + "Z"})
            if not page["has_more"]:
                break
            page = remote.get_json("/api/v1/system/changes/", {"since": cursor, "limit": limit})
    totals["cursor"] = cursor
    return totals


# ---------------------------------------------------------------- uploads

def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", text or "") or "_"


def inbox_key(upload: dict) -> str:
    suffix = Path(upload.get("original_name") or "").suffix.lower()
    ext = suffix if re.fullmatch(r"\.[a-z0-9]{1,5}", suffix) else ".bin"
    kind = _safe(str(upload.get("file_kind") or upload.get("file_type")))
    return f"{INBOX}/{_safe(upload['hospital_code'])}/{_safe(upload['month'])}/{upload['id']}-{kind}{ext}"


def pull_uploads(remote: Remote) -> int:
    storage = get_storage()
    fetched, cursor = 0, 0
    while True:
        page = remote.get_json("/api/v1/system/uploads/", {"cursor": cursor, "page_size": UPLOAD_PAGE})
        uploads = page["result"]
        if not uploads:
            return fetched
        with click.progressbar(uploads, label="uploads", show_pos=True) as bar:
            for upload in bar:
                data = remote.get_bytes(f"/api/v1/system/uploads/{upload['id']}/file")
                if hashlib.sha256(data).hexdigest() != upload["sha256"]:
                    raise PullError(f"upload {upload['id']}: SHA-256 differs from the list; not acknowledged")
                key = inbox_key(upload)
                storage.put_bytes(key, data)
                storage.put_bytes(key + ".json", json.dumps(upload, ensure_ascii=False, indent=1).encode())
                remote.post_json(f"/api/v1/system/uploads/{upload['id']}/ack",
                                 {"Idempotency-Key": f"ack-{upload['id']}"})
                fetched += 1
        cursor = page["next_cursor"]


# ---------------------------------------------------------------- command

@click.command("pull")
@click.option("--base-url", required=True, help="OptiServe's address, e.g. https://optiserve.example.jp")
@click.option("--api-key-file", required=True, type=click.Path(exists=True, dir_okay=False),
              help="File holding the System account's API key (sst_…).")
@click.option("--since", type=click.IntRange(min=0), default=None,
              help="Start after this cursor instead of the one in the state file.")
@click.option("--state-file", type=click.Path(dir_okay=False), default=None,
              help="Where the cursor is kept (default: <instance>/sync-pull-state.json).")
@click.option("--limit", type=click.IntRange(1, PAGE_LIMIT), default=PAGE_LIMIT, show_default=True,
              help="Changes per page.")
@click.option("--retries", type=click.IntRange(min=0), default=2, show_default=True,
              help="Retries of a call that failed on the network or with a server error.")
@click.option("--no-uploads", is_flag=True, help="Only the changes, not the uploaded files.")
@with_appcontext
def pull_command(base_url, api_key_file, since, state_file, limit, retries, no_uploads) -> None:
    """Apply OptiServe's changes since the stored cursor to this instance and fetch the new uploads."""
    key = Path(api_key_file).read_text(encoding="utf-8").strip()
    if not key:
        raise PullError(f"{api_key_file} is empty")
    state_path = Path(state_file or os.path.join(current_app.instance_path, "sync-pull-state.json"))
    remote = Remote(base_url, key, retries=retries)
    totals = pull_changes(remote, state_path, since, limit)
    click.echo(f"changes: {totals['entries']} entries in {totals['pages']} pages "
               f"({totals['changed']} changed, {totals['unchanged']} unchanged, {totals['skipped']} skipped); "
               f"cursor {totals['cursor']}")
    if not no_uploads:
        click.echo(f"uploads: {pull_uploads(remote)} fetched")
