"""Checks an uploaded file passes before anything is stored or queued.

The size, the extension, the content (magic bytes) and, for xlsx, the zip directory are
checked here so a bad file is refused at once with a clear message and nothing stored. The
content checks themselves live in :mod:`app.services.ingest.reading` (the worker runs them again on
the stored file): one set of rules and limits (``INGEST_MAX_*``) for both places.
"""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from typing import BinaryIO

from flask_babel import gettext as _

ALLOWED_EXTENSIONS = ("xlsx", "xls", "csv")
CHUNK = 1024 * 1024


class UploadRejected(Exception):
    """A refused file; ``message`` is shown to the user, ``status`` is the HTTP status."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass
class CheckedFile:
    path: str  # a temporary copy; the caller removes it (see :func:`discard`)
    extension: str
    fmt: str
    size: int
    sha256: str


NAME_MAX = 255
# Bidirectional overrides and isolates make "evil‮xslx.exe" read as "evilexe.xlsx".
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def clean_filename(filename: str | None) -> str:
    """The name an upload is recorded and shown under: the last path part only, no control
    or bidirectional-override characters (a NUL would fail the database insert), NFC, and
    at most 255 characters with the extension kept. Never used as a storage path."""
    name = unicodedata.normalize("NFC", filename or "")
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) != "Cc")
    name = _BIDI.sub("", name).strip()
    if not name.strip("."):  # "." and ".." are path parts, not names
        name = ""
    if len(name) > NAME_MAX:
        stem, extension = os.path.splitext(name)
        extension = extension[:16]
        name = stem[:NAME_MAX - len(extension)] + extension
    return name or "upload"


def extension_of(filename: str) -> str:
    return os.path.splitext(filename or "")[1].lower().lstrip(".")


def too_large_message(max_mb: int) -> str:
    return _("ファイルサイズが大きすぎます。%(mb)sMB以下のファイルを選択してください。", mb=max_mb)


def spool(source: BinaryIO, max_bytes: int) -> tuple[str, int, str]:
    """Copy ``source`` to a temporary file, hashing it; stop as soon as it passes ``max_bytes``."""
    digest = hashlib.sha256()
    size = 0
    fd, path = tempfile.mkstemp(prefix="optiserve-upload-")
    try:
        with os.fdopen(fd, "wb") as target:
            while True:
                chunk = source.read(CHUNK)
                if not chunk:
                    break
                size += len(chunk)
                if size > max_bytes:
                    raise UploadRejected(too_large_message(max_bytes // (1024 * 1024)), 413)
                digest.update(chunk)
                target.write(chunk)
    except BaseException:
        os.unlink(path)
        raise
    return path, size, digest.hexdigest()


def _check_text(path: str) -> None:
    """A CSV must be text: NUL bytes mean a binary file (UTF-16 with its BOM is text)."""
    with open(path, "rb") as handle:
        head = handle.read(65536)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return
    if b"\x00" in head:
        raise UploadRejected(_("拡張子は csv ですが、内容がテキストではありません。CSV で出力し直してください。"))


def check_upload(source: BinaryIO, filename: str, config) -> CheckedFile:
    """Run every check on one file; raise :class:`UploadRejected` or return a checked copy."""
    from app.services.ingest.reading import Limits, ReadError, check_format, check_xlsx_zip
    from app.services.stored_messages import in_gettext_language

    if not filename:
        raise UploadRejected(_("アップロードするファイルを選択してください"))
    extension = extension_of(filename)
    if extension not in ALLOWED_EXTENSIONS:
        raise UploadRejected(_("ファイル形式が無効です（xlsx, xls, csvのみ）"))
    max_mb = int(config.get("MAX_UPLOAD_MB", 20))
    path, size, sha256 = spool(source, max_mb * 1024 * 1024)
    try:
        if size == 0:
            raise UploadRejected(_("ファイルが空です。内容のあるファイルを選択してください。"))
        limits = Limits.from_config(config)
        try:
            fmt = check_format(path, extension)
            if fmt == "xlsx":
                check_xlsx_zip(path, limits)
        except ReadError as exc:
            raise UploadRejected(in_gettext_language(exc.part)) from exc
        if fmt == "csv":
            _check_text(path)
    except BaseException:
        discard(path)
        raise
    return CheckedFile(path=path, extension=extension, fmt=fmt, size=size, sha256=sha256)


def discard(path: str | None) -> None:
    if path:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
