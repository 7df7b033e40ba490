"""Cleaned ledger push: the on-prem system (datarefinery) sends a hospital's cleaned ledger
for a month, and it takes the path of a ledger uploaded on screen 3.

The rows (JSON objects keyed by the canonical ledger fields of
:data:`app.services.ingest.headers.CANONICAL_FIELDS`) are written as a CSV file whose headers are
those field names, then accepted by :func:`app.services.uploads.records.accept_files` as a ledger upload of
the System account: the same month window, file checks, duplicate detection, storage, upload
history, ingest job (validation, rejected rows, "ledgers over time" listing) and
notification. A CSV or Excel file may be sent instead of rows; it is accepted as it is.
"""
from __future__ import annotations

import csv
import io

from flask_babel import gettext as _

from app.models import UploadFile, UploadType
from app.services.ingest.headers import CANONICAL_FIELDS, LEDGER
from app.services.sync.onprem import SyncError, hospital_by_code
from app.services.uploads.checks import UploadRejected
from app.services.uploads.records import accept_files

LEDGER_FIELDS = [name for name, _label, _required in CANONICAL_FIELDS[LEDGER]]
MAX_ERRORS = 20


def rows_csv(rows) -> bytes:
    """The rows as a UTF-8 CSV with the canonical field names as headers (the fields any
    row uses, in canonical order). Raises :class:`SyncError` listing what is malformed."""
    if not isinstance(rows, list) or not rows:
        raise SyncError(_("rows には台帳の行（オブジェクト）の配列を1行以上指定してください。"))
    errors: list[str] = []
    used: set[str] = {"device_number"}
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            errors.append(f"rows[{index}]: " + _("オブジェクトにしてください。"))
            continue
        for name, value in row.items():
            if name not in LEDGER_FIELDS:
                errors.append(f"rows[{index}].{name}: " + _("不明な項目です。使える項目: %(fields)s",
                                                             fields=", ".join(LEDGER_FIELDS)))
            elif isinstance(value, bool) or value is not None and not isinstance(value, (str, int, float)):
                errors.append(f"rows[{index}].{name}: " + _("文字列・数値・null のいずれかにしてください。"))
            else:
                used.add(name)
        if len(errors) >= MAX_ERRORS:
            break
    if errors:
        raise SyncError(errors[0], errors=errors)
    header = [name for name in LEDGER_FIELDS if name in used]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if row.get(name) is None else str(row.get(name)) for name in header])
    return buffer.getvalue().encode("utf-8")


def push_ledger(actor, hospital_code, month_text, config, *, rows=None, stream=None,
                filename: str | None = None) -> UploadFile:
    """Record the pushed ledger as a ledger upload of ``actor`` and queue its ingest."""
    hospital_code, month_text = (None if v is None else str(v) for v in (hospital_code, month_text))
    hospital = hospital_by_code(hospital_code)
    if rows is not None:
        data = rows_csv(rows)
        stream, filename = io.BytesIO(data), f"onprem-ledger-{(month_text or '').strip()[:7]}.csv"
    elif stream is None:
        raise SyncError(_("台帳の行を rows で、または台帳ファイルを file で送ってください。"))
    try:
        accepted, errors = accept_files(hospital, month_text, {UploadType.ledger: (stream, filename)},
                                        actor.id, config)
    except UploadRejected as exc:
        raise SyncError(exc.message, exc.status) from None
    if errors:
        raise SyncError(errors[0].message, errors[0].status)
    return accepted[0]
