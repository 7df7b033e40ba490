"""One upload, from its stored file to committed rows: :func:`run_ingest`.

The contract with the job wrapper (app/jobs): ``run_ingest(upload_id)`` sets the upload's
status, message, counts, detected format/encoding, column mapping and rejected-rows file,
and commits them together with the rows. Bad data never raises — it ends as ``failed``,
``needs_mapping`` or ``succeeded_with_rejections`` with a message. Only infrastructure
errors (database or storage unreachable) raise, after a rollback, so the job can retry.
"""
from __future__ import annotations

import itertools
import logging
import os
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import exc as sa_exc

from app.core.months import utc_now
from app.extensions import db
from app.infra.storage import get_storage
from app.models import ColumnProfile, UploadFile, UploadStatus
from app.services.audit import trail as audit
from app.services.classifications.makers import resolve_makers
from app.services.classifications.mapping import ensure_hospital_classifications
from app.services.ingest import write
from app.services.ingest.headers import (
    CANONICAL_FIELDS,
    FAILURE,
    HEADER_SCAN_ROWS,
    LEDGER,
    LENDING,
    column_letters,
    duplicates_message,
    field_label,
    find_header_row,
    map_headers,
)
from app.services.ingest.reading import (
    CsvPosition,
    Limits,
    ReadError,
    check_record_span,
    check_shape,
    open_rows,
)
from app.services.ingest.rejects import RejectWriter, store_rejected
from app.services.ingest.validate import FailureChecker, LedgerChecker, LendingChecker
from app.services.ingest.values import EXCEL_ERRORS
from app.services.stored_messages import N_, japanese, joined, part, set_message, translated

# Excel's own limit for one cell; a longer value is a broken export (or an attack).
MAX_CELL_CHARS = 32_767

log = logging.getLogger(__name__)

TYPE_LABELS = {LEDGER: N_("医療機器台帳"), LENDING: N_("貸出履歴"), FAILURE: N_("故障履歴")}
INFRASTRUCTURE_ERRORS: tuple[type[BaseException], ...] = (
    sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError, sa_exc.TimeoutError,
    ConnectionError, TimeoutError,
)


@dataclass
class IngestOutcome:
    status: str
    rows_total: int = 0
    rows_imported: int = 0
    rows_rejected: int = 0
    message: str = ""


class _Stop(Exception):
    """The file cannot be ingested; ``status`` and the message (a stored part) go on the upload."""

    def __init__(self, status: UploadStatus, message: dict):
        super().__init__(japanese([message]))
        self.status = status
        self.part = message
        self.message = japanese([message])


def _infrastructure_errors() -> tuple[type[BaseException], ...]:
    try:
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:  # boto3 is optional in the embedded mode
        return INFRASTRUCTURE_ERRORS
    return (*INFRASTRUCTURE_ERRORS, BotoCoreError, ClientError)


def rejected_key(upload: UploadFile) -> str:
    return f"uploads/{upload.hospital_id}/{upload.month:%Y-%m}/{upload.id}/rejected.xlsx"


def run_ingest(upload_id: int) -> IngestOutcome:
    session = db.session
    upload = session.get(UploadFile, upload_id)
    if upload is None:
        return IngestOutcome(UploadStatus.failed.value, message=f"アップロード {upload_id} が見つかりません。")
    storage = get_storage()
    state = _State(upload)
    try:
        if not upload.storage_key:
            raise _Stop(UploadStatus.failed, part("ingest.not_stored"))
        path = storage.local_path(upload.storage_key)
        declared = os.path.splitext(upload.storage_key)[1]
        _ingest_file(session, upload, path, declared, state)
        if state.rejects is not None and state.rejects.count:
            key = rejected_key(upload)
            store_rejected(storage, state.rejects, key)
            upload.rejected_key = key
        else:
            upload.rejected_key = None
        outcome = state.finish(session)
        session.commit()
        return outcome
    except _Stop as stop:
        session.rollback()
        return _record_stop(session, upload_id, stop, state, storage)
    except _infrastructure_errors():
        session.rollback()
        raise
    except Exception:
        log.exception("ingest of upload %s failed", upload_id)
        session.rollback()
        if state.rejects is not None:
            state.rejects.discard()
            state.rejects = None
        return _record_stop(session, upload_id, _Stop(UploadStatus.failed, part("ingest.unexpected")),
                            state, storage)
    finally:
        if state.rejects is not None:
            state.rejects.discard()
        cleanup = getattr(storage, "cleanup", None)
        if cleanup:
            cleanup()


def _record_stop(session, upload_id: int, stop: _Stop, state: _State, storage) -> IngestOutcome:
    upload = session.get(UploadFile, upload_id)
    upload.status = stop.status.value
    set_message(upload, stop.part)
    upload.rows_total, upload.rows_imported, upload.rows_rejected = state.total, 0, 0
    upload.rejected_key = None
    rejects = state.rejects
    if rejects is not None and rejects.count and rejects.close():
        # Nothing was imported, but the reasons every row was refused are still worth reading.
        key = rejected_key(upload)
        store_rejected(storage, rejects, key)
        upload.rejected_key = key
        upload.rows_rejected = rejects.count
    upload.finished_at = utc_now()
    outcome = IngestOutcome(stop.status.value, state.total, 0, upload.rows_rejected, stop.message)
    session.commit()
    return outcome


class _State:
    """What the run learned, recorded on the upload at the end."""

    def __init__(self, upload: UploadFile):
        self.upload = upload
        self.total = self.imported = self.rejected = 0
        self.rejects: RejectWriter | None = None
        self.notes: list[dict] = []  # stored parts said after the counts

    def finish(self, session) -> IngestOutcome:
        upload = self.upload
        status = UploadStatus.succeeded_with_rejections if self.rejected else UploadStatus.succeeded
        parts = [part("ingest.imported", label=translated(TYPE_LABELS.get(upload.file_type, "")), count=self.imported)]
        if self.rejected:
            parts.append(part("ingest.rows_rejected", count=self.rejected))
        parts += self.notes
        upload.status = status.value
        set_message(upload, *parts)
        message = upload.message
        upload.rows_total, upload.rows_imported, upload.rows_rejected = self.total, self.imported, self.rejected
        upload.finished_at = utc_now()
        audit.record("upload.ingest", upload, organization_id=upload.hospital_id, changes={
            "status": status.value, "rows_total": self.total, "rows_imported": self.imported,
            "rows_rejected": self.rejected,
        })
        return IngestOutcome(status.value, self.total, self.imported, self.rejected, message)


def _profile(session, upload: UploadFile) -> dict | None:
    profile = session.query(ColumnProfile).filter_by(
        hospital_id=upload.hospital_id, file_type=upload.file_type
    ).one_or_none()
    return profile.mapping if profile is not None else None


def _ingest_file(session, upload: UploadFile, path: str, declared: str, state: _State) -> None:
    file_type = int(upload.file_type)
    if file_type not in CANONICAL_FIELDS:
        raise _Stop(UploadStatus.failed, part("ingest.unknown_type", type=str(upload.file_type)))
    limits = Limits.from_config(current_app.config)
    try:
        source = open_rows(path, declared, limits)
    except ReadError as exc:
        raise _Stop(UploadStatus.failed, exc.part) from exc
    upload.detected_format = source.fmt
    upload.detected_encoding = source.encoding
    rows = iter(source.rows)
    try:
        _ingest_rows(session, upload, file_type, rows, state, source.position)
    except ReadError as exc:
        raise _Stop(UploadStatus.failed, exc.part) from exc
    finally:
        close = getattr(rows, "close", None)
        if close:
            close()


def _ingest_rows(session, upload: UploadFile, file_type: int, rows, state: _State,
                 position: CsvPosition | None = None) -> None:
    """``position`` is given for CSV: where a record came from, and the sign that every
    record must have the header's column count (a workbook's rows always do)."""
    head = []
    for row in rows:
        head.append(row)
        if len(head) >= HEADER_SCAN_ROWS:
            break
    if not any(any(not _blank(c) for c in row) for row in head):
        raise _Stop(UploadStatus.failed, part("ingest.no_data"))
    profile = _profile(session, upload)
    header_index = find_header_row(head, file_type, profile)
    mapping = map_headers(head[header_index], file_type, profile)
    upload.column_mapping = mapping.used
    if mapping.missing:
        labels = joined(translated(field_label(file_type, name)) for name in mapping.missing)
        headers = [h for h in mapping.headers if h]
        found = joined(headers[:30] + (["…"] if len(headers) > 30 else [])) if headers else translated(N_("なし"))
        raise _Stop(UploadStatus.needs_mapping, part("ingest.columns_missing", labels=labels, found=found))
    if mapping.duplicates:
        raise _Stop(UploadStatus.needs_mapping, duplicates_message(mapping))
    width = len(mapping.headers)
    mapped = sorted((index, translated(field_label(file_type, name))) for name, index in mapping.columns.items())
    strict = position is not None
    if file_type == LEDGER:
        checker = LedgerChecker(mapping.columns)
    else:
        devices = write.load_devices(session, upload.hospital_id)
        checker_class = LendingChecker if file_type == LENDING else FailureChecker
        checker = checker_class(mapping.columns, devices, upload.month)
    rejects = state.rejects = RejectWriter(mapping.headers)
    records = []
    append = records.append
    check = checker.check
    limits = Limits.from_config(current_app.config)
    rownum = header_index + 1
    max_rows = limits.max_rows
    total = 0
    try:
        for row in itertools.chain(head[header_index + 1:], rows):
            rownum += 1
            if rownum > max_rows or len(row) != width:
                check_shape(rownum, row, limits)
                if strict and len(row) > width and _blank_row(row[width:]):
                    row = row[:width]  # trailing separators
                elif strict and len(row) != width and not _blank_row(row):
                    total += 1
                    first_line, last_line = position.lines(rownum, row)
                    check_record_span(rownum, first_line, last_line)
                    rejects.add(rownum, [_width_problem(row, width, first_line, last_line)], row)
                    continue
                if len(row) < width:
                    row = list(row) + [None] * (width - len(row))
            first = row[0]
            if (first is None or first == "" or type(first) is str and first.isspace()) and _blank_row(row):
                continue
            total += 1
            if strict and max(map(len, row)) > MAX_CELL_CHARS or not EXCEL_ERRORS.isdisjoint(row):
                problems = _cell_problems(row, mapping.headers, mapped, strict)
                if problems:
                    rejects.add(rownum, problems, row)
                    continue
            record, problems = check(rownum, row)
            if record is None:
                rejects.add(rownum, problems, row)
            else:
                append(record)
    finally:
        rejects.close()
        state.total = total
    state.rejected = rejects.count
    if state.total == 0:
        raise _Stop(UploadStatus.failed, part("ingest.header_only"))
    if not records:
        raise _Stop(UploadStatus.failed, part("ingest.no_valid_rows", count=state.rejected))
    if file_type == LEDGER:
        _resolve_ledger(session, upload.hospital_id, records)
        dropped = write.write_ledger(session, upload.hospital_id, upload.id, records, mapping.columns,
                                     upload.month)
        if dropped:
            state.notes.append(part("ingest.ledger_dropped", count=dropped, year=upload.month.year,
                                    month=upload.month.month))
    else:
        kind = "lending" if file_type == LENDING else "failure"
        removed = write.replace_events(session, kind, upload.hospital_id, upload.month, upload.id, records)
        if removed:
            state.notes.append(part(f"ingest.{kind}_removed", count=removed, year=upload.month.year,
                                    month=upload.month.month))
    state.imported = len(records)


def _width_problem(row: list, width: int, first: int, last: int) -> tuple[dict, dict]:
    columns, expected = str(len(row)), str(width)
    if last > first:
        reason = part("reject.width_lines", columns=columns, width=expected, first=first, last=str(last))
    else:
        reason = part("reject.width", columns=columns, width=expected)
    return translated(N_("列数")), reason


def _cell_problems(row: list, headers: list[str], mapped: list[tuple[int, dict]], strict: bool) -> list:
    """Cells too long (any column: the row cannot be trusted) and Excel error values in the
    columns that are read (#DIV/0! in a date is no date). A column is named by the file's
    own header (data, never translated), else by its letter."""
    problems = []
    if strict:
        for index, value in enumerate(row):
            if len(value) > MAX_CELL_CHARS:
                label = (headers[index] if index < len(headers) else "") or translated(
                    N_("%(column)s列"), column=column_letters(index))
                problems.append((label, part("reject.too_long", length=len(value), limit=MAX_CELL_CHARS)))
    for index, label in mapped:
        value = row[index]
        if type(value) is str and value in EXCEL_ERRORS:
            problems.append((label, part("reject.excel_error", value=value)))
    return problems


def _resolve_ledger(session, hospital_id: int, records: list[dict]) -> None:
    """Maker ids through the maker normalizer, classification ids through the
    classification module (unknown names become the hospital's own classifications)."""
    makers = {r["maker_name"] for r in records if r.get("maker_name")}
    maker_ids = resolve_makers(session, sorted(makers)) if makers else {}
    paths = {r["classification_path"] for r in records if r.get("classification_path")}
    class_ids = ensure_hospital_classifications(session, hospital_id, sorted(paths)) if paths else {}
    for record in records:
        name = record.get("maker_name")
        if name:
            record["maker_id"] = maker_ids.get(name)
        path = record.pop("classification_path", None)
        if path:
            trimmed = list(path)
            while trimmed and not trimmed[-1]:
                trimmed.pop()
            record["classification_id"] = class_ids.get(tuple(trimmed))


def _blank(cell) -> bool:
    return cell is None or cell == "" or (isinstance(cell, str) and cell.isspace())


def _blank_row(row) -> bool:
    for cell in row:
        if cell is not None and cell != "" and not (isinstance(cell, str) and cell.isspace()):
            return False
    return True


__all__ = ["IngestOutcome", "rejected_key", "run_ingest"]
