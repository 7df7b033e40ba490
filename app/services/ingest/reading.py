"""Reading uploaded files as a stream of rows, safely.

Workbooks (xlsx, xls) are parsed by python-calamine in a child process
(``workbook_child.py``) with an address-space and CPU limit; the child streams row batches
through a pipe, so the parent normalizes while the child parses. Before that, an xlsx's zip
directory is checked (declared sizes, compression ratios, the sheet's declared dimension and
the shared-strings count) so the known parser-killing files are refused without parsing.
CSV is read in-process with the csv module after the encoding is detected on the whole file
(UTF-8 with or without BOM, CP932; UTF-16 with BOM, as Excel's "Unicode text" writes it).

Every problem with the file itself raises :class:`ReadError` with a message for the user.
"""
from __future__ import annotations

import codecs
import csv
import io
import itertools
import os
import pickle
import re
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

from app.services.stored_messages import japanese, part

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
CHILD_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "workbook_child.py")


class ReadError(Exception):
    """The file cannot be read. ``part`` is the user's message as stored on the upload
    (app.services.stored_messages), ``str(exc)`` its Japanese text."""

    def __init__(self, message: dict):
        super().__init__(japanese([message]))
        self.part = message


@dataclass(frozen=True)
class Limits:
    parser_memory_mb: int = 1024  # RLIMIT_AS of the workbook child
    parser_seconds: int = 120  # wall clock; CPU limit is the same
    max_rows: int = 300_000
    max_columns: int = 300
    max_uncompressed_mb: int = 400  # sum of an xlsx's declared entry sizes
    max_ratio: int = 150  # per zip entry (only for entries above 1 MB)

    @classmethod
    def from_config(cls, config) -> Limits:
        return cls(
            parser_memory_mb=int(config.get("INGEST_PARSER_MEMORY_MB", cls.parser_memory_mb)),
            parser_seconds=int(config.get("INGEST_PARSER_SECONDS", cls.parser_seconds)),
            max_rows=int(config.get("INGEST_MAX_ROWS", cls.max_rows)),
            max_columns=int(config.get("INGEST_MAX_COLUMNS", cls.max_columns)),
            max_uncompressed_mb=int(config.get("INGEST_MAX_UNCOMPRESSED_MB", cls.max_uncompressed_mb)),
            max_ratio=int(config.get("INGEST_MAX_ZIP_RATIO", cls.max_ratio)),
        )


@dataclass
class Source:
    fmt: str  # xlsx | xls | csv
    encoding: str | None
    rows: Iterator[list]
    # CSV only: where a record came from (an unclosed quote makes one record of many lines).
    position: CsvPosition | None = None


def sniff_format(path: str) -> str:
    """The format by content (never by extension): xlsx, xls or csv."""
    with open(path, "rb") as handle:
        head = handle.read(8)
    if not head:
        raise ReadError(part("read.empty"))
    if head.startswith(ZIP_MAGIC):
        return "xlsx"
    if head.startswith(OLE_MAGIC):
        return "xls"
    if head.startswith(b"MZ") or head.startswith(b"\x7fELF") or head.startswith(b"%PDF"):
        raise ReadError(part("read.not_a_table"))
    return "csv"


def is_encrypted_office(path: str) -> bool:
    """An OLE compound file holding an ``EncryptedPackage`` stream: how Office stores a
    password-protected xlsx (MS-OFFCRYPTO), which is why it does not look like a zip."""
    import olefile

    try:
        if not olefile.isOleFile(path):
            return False
        with olefile.OleFileIO(path) as ole:
            return ole.exists("EncryptedPackage") or ole.exists("EncryptionInfo")
    except (OSError, ValueError, IndexError, TypeError):  # a corrupt container is not our message
        return False


PASSWORD_PROTECTED = part("read.password")


def check_format(path: str, declared: str | None) -> str:
    """The sniffed format; a declared extension that disagrees gives a clear error."""
    fmt = sniff_format(path)
    declared = (declared or "").lower().lstrip(".")
    if fmt == "xls" and is_encrypted_office(path):
        raise ReadError(PASSWORD_PROTECTED)
    if declared in ("xlsx", "xlsm") and fmt != "xlsx" or declared == "xls" and fmt not in ("xls", "xlsx"):
        raise ReadError(part("read.not_excel", ext=declared))
    if declared == "csv" and fmt != "csv":
        raise ReadError(part("read.csv_is_excel"))
    return fmt


# ---------------------------------------------------------------- xlsx zip checks

_DIM_RE = re.compile(rb'<(?:\w+:)?dimension\s+ref="([A-Z]{1,3})(\d+)(?::([A-Z]{1,3})(\d+))?"')
_SST_RE = re.compile(rb'<(?:\w+:)?sst\b[^>]*>')
_ATTR_RE = re.compile(rb'\b(count|uniqueCount)="(\d+)"')


def _col_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def check_xlsx_zip(path: str, limits: Limits) -> None:
    """Refuse zip bombs and workbooks whose declarations would make the parser allocate
    far more than the file holds. Reads only the zip directory and a few KB of XML."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ReadError(part("read.broken_zip")) from exc
    with archive:
        infos = archive.infolist()
        if len(infos) > 10_000:
            raise ReadError(part("read.too_many_entries"))
        names = {info.filename for info in infos}
        if "xl/workbook.xml" not in names and "xl/workbook.bin" not in names:
            raise ReadError(part("read.not_workbook"))
        total = sum(info.file_size for info in infos)
        if total > limits.max_uncompressed_mb * 1024 * 1024:
            raise ReadError(part("read.too_large_unpacked", mb=total // (1024 * 1024)))
        for info in infos:
            if info.file_size > 1024 * 1024 and info.file_size > limits.max_ratio * max(info.compress_size, 1):
                raise ReadError(part("read.ratio"))
        try:
            for info in infos:
                name = info.filename
                if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                    _check_dimension(archive, info, limits)
                elif name == "xl/sharedStrings.xml":
                    _check_shared_strings(archive, info, limits)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise ReadError(part("read.broken_entry")) from exc


def _head(archive: zipfile.ZipFile, info: zipfile.ZipInfo, size: int = 16384) -> bytes:
    with archive.open(info) as handle:
        return handle.read(size)


def _check_dimension(archive, info, limits: Limits) -> None:
    match = _DIM_RE.search(_head(archive, info))
    if not match:
        return
    last_col, last_row = match.group(3) or match.group(1), match.group(4) or match.group(2)
    rows, cols = int(last_row), _col_number(last_col)
    if rows > limits.max_rows + 10:
        raise ReadError(part("read.sheet_rows", rows=rows, limit=limits.max_rows))
    if cols > limits.max_columns:
        raise ReadError(part("read.sheet_columns", columns=cols, limit=limits.max_columns))


def _check_shared_strings(archive, info, limits: Limits) -> None:
    match = _SST_RE.search(_head(archive, info, 4096))
    if not match:
        return
    attrs = {k.decode(): int(v) for k, v in _ATTR_RE.findall(match.group(0))}
    unique = attrs.get("uniqueCount", 0)
    count = attrs.get("count", 0)
    # Each string takes at least "<si><t/></si>" (12 bytes) of XML; more declared than fit
    # is a lie that makes parsers pre-allocate gigabytes.
    if unique * 12 > info.file_size + 1024 or count > limits.max_rows * limits.max_columns:
        raise ReadError(part("read.shared_strings"))


# ---------------------------------------------------------------- workbooks (child)


class _RowsUnpickler(pickle.Unpickler):
    """Only the cell types calamine produces; anything else means a compromised child."""

    _ALLOWED = {("datetime", "datetime"), ("datetime", "date"), ("datetime", "time"), ("datetime", "timedelta")}

    def find_class(self, module, name):
        if (module, name) in self._ALLOWED:
            import datetime

            return getattr(datetime, name)
        raise pickle.UnpicklingError(f"unexpected {module}.{name}")


def read_workbook_rows(path: str, limits: Limits) -> Iterator[list]:
    """Rows of the first non-empty sheet, parsed in a limited child process."""
    proc = subprocess.Popen(
        [sys.executable, "-I", CHILD_SCRIPT, path, str(limits.parser_memory_mb),
         str(limits.parser_seconds), str(limits.max_rows)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        close_fds=True,
    )
    timed_out = threading.Event()

    def _kill():
        timed_out.set()
        proc.kill()

    timer = threading.Timer(limits.parser_seconds, _kill)
    timer.daemon = True
    timer.start()
    error = None
    ended = False
    try:
        stream = io.BufferedReader(proc.stdout, 1 << 20)
        while True:
            try:
                # One unpickler per batch: each batch is a separate pickle whose memo
                # indices start again at 0.
                kind, payload = _RowsUnpickler(stream).load()
            except EOFError:
                break
            except (pickle.UnpicklingError, ValueError, TypeError, AttributeError, IndexError):
                error = "protocol"
                proc.kill()
                break
            if kind == "error":
                error = payload
                break
            yield from payload
        ended = True
    finally:
        if not ended:  # the consumer stopped early (only the headers were wanted)
            proc.kill()
        code = proc.wait()
        timer.cancel()
        proc.stdout.close()
    if timed_out.is_set():
        raise ReadError(part("read.timeout", seconds=limits.parser_seconds))
    if error == "password":
        raise ReadError(PASSWORD_PROTECTED)
    if error == "too_many_rows":
        raise ReadError(part("read.sheet_rows_limit", limit=limits.max_rows))
    if error == "memory" or code < 0:
        raise ReadError(part("read.parser_crashed"))
    if error is not None or code != 0:
        raise ReadError(part("read.unreadable"))


# ---------------------------------------------------------------- CSV

_CHUNK = 1 << 20
# The csv module refuses fields over 128 KB with an error that would end the whole file;
# long fields are read and the row rejected by the pipeline ("too long", naming the column).
CSV_FIELD_LIMIT = 64 * 1024 * 1024
# A record may span this many physical lines (line breaks inside quotes); more means a quote
# was never closed and the rest of the file is being read as one value.
MAX_RECORD_LINES = 30


def _decodes(path: str, encoding: str, skip: int = 0) -> tuple[bool, int]:
    """Whether the whole file decodes; on failure, the 1-based line of the first bad byte."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    lines = 1
    with open(path, "rb") as handle:
        handle.seek(skip)
        while True:
            chunk = handle.read(_CHUNK)
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                return False, lines + chunk.count(b"\n", 0, exc.start)
            if not chunk:
                return True, 0
            lines += chunk.count(b"\n")


def detect_encoding(path: str) -> str:
    with open(path, "rb") as handle:
        head = handle.read(65536)
    if head.startswith(codecs.BOM_UTF8):
        ok, line = _decodes(path, "utf-8", skip=3)
        if not ok:
            raise ReadError(part("read.bad_utf8_bom", line=line))
        return "utf-8-sig"
    if head.startswith(codecs.BOM_UTF16_LE) or head.startswith(codecs.BOM_UTF16_BE):
        ok, _ = _decodes(path, "utf-16")
        if ok:
            return "utf-16"
        raise ReadError(part("read.utf16"))
    if b"\x00" in head:
        raise ReadError(part("read.not_text"))
    ok, utf8_line = _decodes(path, "utf-8")
    if ok:
        return "utf-8"
    ok, _ = _decodes(path, "cp932")
    if ok:
        return "cp932"
    raise ReadError(part("read.encoding", line=utf8_line))


class CsvPosition:
    """Where the records of a CSV came from, asked only for a record that looks wrong (so the
    common path stays ``yield from csv.reader``): the reader's line counter, and the line
    each of the first records ended on (the pipeline reads those ahead to find the header)."""

    HEAD = 16

    def __init__(self):
        self.reader = None
        self.head_ends: list[int] = []

    def lines(self, record: int, row: list) -> tuple[int, int]:
        """First and last physical line of the 1-based ``record`` (the one just read, or one
        of the first :attr:`HEAD`)."""
        end = self.head_ends[record - 1] if record <= len(self.head_ends) else self.reader.line_num
        breaks = sum(cell.count("\n") + cell.count("\r") - cell.count("\r\n") for cell in row if cell)
        if row and row[-1] and row[-1][-1] in "\r\n":
            breaks -= 1  # a quote left open at the end of the file keeps the last line's ending
        return end - breaks, end


def check_record_span(record: int, first: int, last: int) -> None:
    """A record over :data:`MAX_RECORD_LINES` lines is an unclosed quote eating the file."""
    if last - first + 1 > MAX_RECORD_LINES:
        raise ReadError(part("read.open_quote", record=record, first=first, lines=last - first + 1))


def read_csv_rows(path: str, encoding: str, limits: Limits, position: CsvPosition | None = None) -> Iterator[list]:
    """Rows of a CSV file. The row and column limits are enforced by the consumer
    (:func:`check_shape`), which counts rows anyway; ``position`` (if given) lets it name
    the lines of a record (:class:`CsvPosition`)."""
    with open(path, encoding=encoding, newline="") as handle:
        sample = handle.readline()
    delimiter = "\t" if sample.count("\t") > sample.count(",") else ","
    if csv.field_size_limit() < CSV_FIELD_LIMIT:
        csv.field_size_limit(CSV_FIELD_LIMIT)
    with open(path, encoding=encoding, newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        if position is not None:
            position.reader = reader
            for row in itertools.islice(reader, CsvPosition.HEAD):
                position.head_ends.append(reader.line_num)
                yield row
        yield from reader


def check_shape(rownum: int, row: list, limits: Limits) -> None:
    if rownum > limits.max_rows:
        raise ReadError(part("read.rows", limit=limits.max_rows))
    if len(row) > limits.max_columns:
        raise ReadError(part("read.columns", columns=len(row), limit=limits.max_columns))


def open_rows(path: str, declared_ext: str | None, limits: Limits) -> Source:
    """Detect the format (and encoding) and return a lazy row source."""
    fmt = check_format(path, declared_ext)
    if fmt == "csv":
        encoding = detect_encoding(path)
        position = CsvPosition()
        return Source(fmt, encoding, read_csv_rows(path, encoding, limits, position), position)
    if fmt == "xlsx":
        check_xlsx_zip(path, limits)
    return Source(fmt, None, read_workbook_rows(path, limits))
