"""The needs-mapping step: the file's headers beside the canonical fields; the user's choice
is saved as the hospital's column profile (used first next month) and the upload re-queued."""
from __future__ import annotations

import datetime as dt

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from app.core.months import utc_now
from app.extensions import db
from app.infra.storage import get_storage
from app.models import ColumnProfile, UploadFile, UploadStatus
from app.services.stored_messages import part, set_message


class MappingError(ValueError):
    """A refused mapping; the message is shown to the user."""


def canonical_fields(file_type: int) -> list[tuple[str, str, bool]]:
    from app.services.ingest.headers import CANONICAL_FIELDS

    return list(CANONICAL_FIELDS[int(file_type)])


def profile_of(hospital_id: int, file_type: int) -> ColumnProfile | None:
    return db.session.scalar(select(ColumnProfile).where(
        ColumnProfile.hospital_id == hospital_id, ColumnProfile.file_type == int(file_type)
    ))


def file_headers(upload: UploadFile) -> list[str]:
    """The header row of the stored file (read again, through the ingest reader's limits)."""
    from app.services.ingest.headers import read_headers

    storage = get_storage()
    path = storage.local_path(upload.storage_key)
    try:
        fmt = upload.detected_format or upload.storage_key.rsplit(".", 1)[-1]
        profile = profile_of(upload.hospital_id, upload.file_type)
        return [h for h in read_headers(path, fmt, upload.file_type, profile.mapping if profile else None) if h]
    finally:
        getattr(storage, "cleanup", lambda: None)()


PREVIEW_ROWS = 5
PREVIEW_CELL_CHARS = 40


def file_preview(upload: UploadFile, rows: int = PREVIEW_ROWS) -> tuple[list[str], list[list[str]]]:
    """The named headers of the stored file and its first ``rows`` data rows under them
    (cells as shown text, cut to PREVIEW_CELL_CHARS), for the mapping step."""
    from app.services.ingest.headers import read_head

    storage = get_storage()
    path = storage.local_path(upload.storage_key)
    try:
        fmt = upload.detected_format or upload.storage_key.rsplit(".", 1)[-1]
        profile = profile_of(upload.hospital_id, upload.file_type)
        headers, data = read_head(path, fmt, upload.file_type, profile.mapping if profile else None, rows)
    finally:
        getattr(storage, "cleanup", lambda: None)()
    named = [i for i, h in enumerate(headers) if h]

    def shown(value) -> str:
        if value is None:
            return ""
        if isinstance(value, dt.datetime):
            text = value.strftime("%Y-%m-%d %H:%M") if value.time() != dt.time() else f"{value:%Y-%m-%d}"
        else:
            text = str(value).strip()
        return text if len(text) <= PREVIEW_CELL_CHARS else text[:PREVIEW_CELL_CHARS - 1] + "…"

    return ([headers[i] for i in named],
            [[shown(row[i]) if i < len(row) else "" for i in named] for row in data])


def current_choices(upload: UploadFile, headers: list[str]) -> dict[str, str]:
    """field → header, as the saved profile and the synonyms map them today."""
    from app.services.ingest.headers import map_headers

    profile = profile_of(upload.hospital_id, upload.file_type)
    mapping = map_headers(headers, upload.file_type, profile.mapping if profile else None)
    return {fieldname: headers[index] for fieldname, index in mapping.columns.items()}


def save_mapping(upload: UploadFile, headers: list[str], choices: dict[str, str]) -> ColumnProfile:
    """Validate ``choices`` (field → header, "" for none), save the profile, re-queue the upload.

    The profile maps header → field, so next month's file with the same headers maps itself.
    """
    if upload.status != UploadStatus.needs_mapping.value:
        raise MappingError(_("このファイルは列の対応付けを必要としていません。"))
    fields = canonical_fields(upload.file_type)
    chosen = {name: (choices.get(name) or "").strip() for name, _label, _req in fields}
    for name, label, required in fields:
        if required and not chosen[name]:
            raise MappingError(_("「%(label)s」に対応する列を選択してください。", label=_(label)))
        if chosen[name] and chosen[name] not in headers:
            raise MappingError(_("「%(label)s」に選択された列がファイルにありません。", label=_(label)))
    used = [header for header in chosen.values() if header]
    if len(used) != len(set(used)):
        raise MappingError(_("同じ列を複数の項目に対応付けることはできません。"))
    profile = profile_of(upload.hospital_id, upload.file_type)
    mapping = dict(profile.mapping) if profile else {}
    # Headers of this file not chosen for any field are ignored from now on ("").
    for header in headers:
        mapping[header] = ""
    for name, header in chosen.items():
        if header:
            mapping[header] = name
    if profile is None:
        profile = ColumnProfile(hospital_id=upload.hospital_id, file_type=upload.file_type, mapping=mapping)
        db.session.add(profile)
    else:
        profile.mapping = mapping
    profile.updated_on = utc_now()  # stored in UTC, shown in JST
    upload.status = UploadStatus.queued.value
    set_message(upload, part("upload.mapping_saved"))
    db.session.commit()
    from app.services.uploads.records import enqueue_ingest

    enqueue_ingest(upload.id)
    current_app.logger.info("column profile saved for hospital %s type %s", upload.hospital_id, upload.file_type)
    return profile
