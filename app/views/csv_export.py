"""CSV downloads of the lists (issue 14 item 12): UTF-8 with a byte-order mark and CRLF, so
Excel opens the Japanese text directly; times in JST. Each list's view builds the rows with
the same scope and filters as the screen; this module only writes them."""
from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable

from flask import Response

from app.core.months import format_jst, jst_now
from app.core.normalize import escape_formula

BOM = "\ufeff"
# The one Content-Type of every CSV download. Given as ``content_type`` (used as it is), never
# as ``mimetype``: Werkzeug appends "; charset=utf-8" to a text/ mimetype even when it names its
# charset already, and the dashboard's export answered "text/csv; charset=utf-8; charset=utf-8".
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"


def boolean_text(value: bool) -> str:
    """A yes/no column as the lists show it (the Excel export writes the same)."""
    return "○" if value else "×"


def download_name(filename: str, extension: str) -> str:
    """``ledger-H0001-20261130-1005.csv``: the list's name and the time of the export (JST)."""
    return f"{filename}-{jst_now():%Y%m%d-%H%M}.{extension}"


def cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return boolean_text(value)
    if isinstance(value, dt.datetime):
        return format_jst(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return escape_formula(str(value))  # the ingest removes the apostrophe (values.text)


def csv_text(header: Iterable, rows: Iterable[Iterable]) -> str:
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([str(h) for h in header])
    for row in rows:
        writer.writerow([cell(value) for value in row])
    return buffer.getvalue()


def csv_download(body: bytes, headers: dict[str, str]) -> Response:
    """A CSV file (UTF-8 ``body``) as a download: :data:`CSV_CONTENT_TYPE`, once, and
    ``headers`` (its Content-Disposition, Cache-Control)."""
    return Response(body, content_type=CSV_CONTENT_TYPE, headers=headers)


def csv_response(filename: str, header: Iterable, rows: Iterable[Iterable]) -> Response:
    """``filename``: ASCII, without the date (added here, JST)."""
    name = download_name(filename, "csv")
    return csv_download(csv_text(header, rows).encode("utf-8"),
                        {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})
