"""The rejected-rows workbook: original row number, column, reason, then the row as read.

Written row by row while the upload is read, straight into the sheet XML of a zip in a
temporary file: a minimal SpreadsheetML package. That costs about a microsecond a cell, where
a general xlsx library costs twenty; a file with thousands of bad rows must not double the
ingest. Every cell of the hospital's data is an inline string, a typed string cell that a
spreadsheet never evaluates, so ``=HYPERLINK(…)`` stays text exactly as the hospital wrote it
(no visible apostrophe added). Characters XML 1.0 cannot carry are dropped, and a value is cut
at Excel's 32,767 characters a cell.

The words that are ours (sheet name, the three titles, each row's columns and reasons) are
shared strings instead, also text that is never evaluated: the stored workbook is Japanese, and
beside it ``rejected.reasons.jsonl.gz`` keeps each row's problems as codes and params
(app/services/stored_messages.py), one JSON line per rejected row. A reader in another language
gets the same workbook with its shared strings and sheet name written again from those lines
(:func:`open_rejected`): the sheet itself, the bulk of the file, is copied. A workbook stored
before the reasons were kept has no such file and is given as it is (Japanese).
"""
from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import re
import shutil
import tempfile
import zipfile
from contextlib import closing
from typing import BinaryIO

from app.services.ingest.headers import column_letters
from app.services.stored_messages import N_, Wording, joined

MAX_CELL_CHARS = 32_767
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
SHEET_NAME = N_("取り込めなかった行")
TITLES = (N_("元の行番号"), N_("列"), N_("理由"))
SHARED_STRINGS = "xl/sharedStrings.xml"
WORKBOOK = "xl/workbook.xml"
_SST_HEAD = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
             b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')
_SST_TAIL = b"</sst>"
_to_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode  # made once: json.dumps makes one a call

_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml"'
        ' ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml"'
        ' ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/styles.xml"'
        ' ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml"'
        ' ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        "</Types>"),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1"'
        ' Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"'
        ' Target="xl/workbook.xml"/>'
        "</Relationships>"),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"'
        ' Target="worksheets/sheet1.xml"/>'
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles"'
        ' Target="styles.xml"/>'
        '<Relationship Id="rId3"'
        ' Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"'
        ' Target="sharedStrings.xml"/>'
        "</Relationships>"),
    "xl/styles.xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
        '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill'
        ' patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        "</styleSheet>"),
}
_SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<cols><col min="1" max="1" width="10" customWidth="1"/><col min="2" max="2" width="16" customWidth="1"/>'
    '<col min="3" max="3" width="60" customWidth="1"/></cols><sheetData>'
)


def _workbook_xml(sheet_name: str) -> str:
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            f'<sheets><sheet name="{_clean(sheet_name[:31])}" sheetId="1" r:id="rId1"/></sheets></workbook>')


def _clean(value: str) -> str:
    return _INVALID_XML.sub("", value[:MAX_CELL_CHARS]).translate(_ESCAPES)


def _string_cell(ref: str, value: str, style: str = "") -> str:
    return f'<c r="{ref}" t="inlineStr"{style}><is><t xml:space="preserve">{_clean(value)}</t></is></c>'


def _shared_string(value: str) -> bytes:
    return f'<si><t xml:space="preserve">{_clean(value)}</t></si>'.encode()


def _row_strings(problems: list, wording: Wording) -> tuple[str, str]:
    """A rejected row's column cell (the columns named once each) and reason cell."""
    labels = dict.fromkeys(wording.value(label) for label, _reason in problems)
    return wording.value(joined(labels)), " ".join(wording.part(reason) for _label, reason in problems)


class RejectWriter:
    """Rows in, a Japanese workbook (:attr:`path`) and its rows' reasons (:attr:`reasons_path`) out."""

    def __init__(self, headers: list[str]):
        self.headers = headers
        self.count = 0
        self.path: str | None = None
        self.reasons_path: str | None = None
        self._zip: zipfile.ZipFile | None = None
        self._sheet = None
        self._strings = None  # the Japanese shared strings, a part the zip takes once the sheet is done
        self._reasons = None
        self._letters: list[str] = []
        self._japanese = Wording("ja")
        self._japanese_strings: dict[str, bytes] = {}

    def _letter(self, col: int) -> str:
        while col >= len(self._letters):
            self._letters.append(column_letters(len(self._letters)))
        return self._letters[col]

    def _open(self) -> None:
        fd, self.path = tempfile.mkstemp(prefix="optiserve-rejected-", suffix=".xlsx")
        os.close(fd)
        fd, self.reasons_path = tempfile.mkstemp(prefix="optiserve-rejected-", suffix=".jsonl.gz")
        os.close(fd)
        self._reasons = gzip.open(self.reasons_path, "wb", compresslevel=1)
        self._strings = tempfile.TemporaryFile()
        self._strings.write(b"".join(_shared_string(title) for title in TITLES))
        self._zip = zipfile.ZipFile(self.path, "w", zipfile.ZIP_DEFLATED, compresslevel=1)
        self._sheet = self._zip.open("xl/worksheets/sheet1.xml", "w", force_zip64=True)
        cells = [f'<c r="{self._letter(c)}1" t="s" s="1"><v>{c}</v></c>' for c in range(len(TITLES))]
        cells += [_string_cell(f"{self._letter(c)}1", str(t), ' s="1"')
                  for c, t in enumerate(self.headers, start=len(TITLES))]
        self._sheet.write((_SHEET_HEAD + f'<row r="1">{"".join(cells)}</row>').encode())

    def add(self, rownum: int, problems: list[tuple], row: list) -> None:
        """``problems``: (column label, reason) — a label is the file's header (data) or a
        ``translated`` param, a reason a stored part."""
        if self._zip is None:
            self._open()
        self.count += 1
        r = self.count + 1
        stored = _to_json(problems)
        self._reasons.write(stored.encode() + b"\n")
        strings = self._japanese_strings.get(stored)
        if strings is None:  # exports repeat a reason (the same unknown device) thousands of times
            label, reason = _row_strings(problems, self._japanese)
            strings = _shared_string(label) + _shared_string(reason)
            if len(self._japanese_strings) > 50_000:
                self._japanese_strings.clear()
            self._japanese_strings[stored] = strings
        self._strings.write(strings)
        index = len(TITLES) + 2 * (self.count - 1)
        parts = [f'<row r="{r}"><c r="A{r}"><v>{rownum}</v></c><c r="B{r}" t="s"><v>{index}</v></c>'
                 f'<c r="C{r}" t="s"><v>{index + 1}</v></c>']
        for col, value in enumerate(row, start=3):
            if value is None or value == "":
                continue
            ref = f"{self._letter(col)}{r}"
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                if isinstance(value, dt.datetime):
                    value = value.isoformat(" ")
                elif isinstance(value, (dt.date, dt.time, dt.timedelta)):
                    value = str(value)
                parts.append(_string_cell(ref, str(value)))
            elif value == value and value not in (float("inf"), float("-inf")):
                parts.append(f'<c r="{ref}"><v>{value!r}</v></c>')
        parts.append("</row>")
        self._sheet.write("".join(parts).encode())

    def close(self) -> str | None:
        """Finish the workbook and the reasons; the workbook's path, or None when no row was rejected."""
        if self._zip is not None:
            self._sheet.write(b"</sheetData></worksheet>")
            self._sheet.close()
            with self._zip.open(SHARED_STRINGS, "w", force_zip64=True) as strings:
                strings.write(_SST_HEAD)
                self._strings.seek(0)
                shutil.copyfileobj(self._strings, strings, 1 << 20)
                strings.write(_SST_TAIL)
            self._strings.close()
            self._zip.writestr(WORKBOOK, _workbook_xml(SHEET_NAME))
            for name, xml in _PARTS.items():
                self._zip.writestr(name, xml)
            self._zip.close()
            self._zip = None
            self._reasons.close()
        return self.path

    def discard(self) -> None:
        if self._zip is not None:
            for handle in (self._sheet, self._zip, self._strings, self._reasons):
                try:
                    handle.close()
                except Exception:  # closing a half-written temp file must not hide the real error
                    pass
            self._zip = None
        for name in ("path", "reasons_path"):
            path = getattr(self, name)
            if path:
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass
                setattr(self, name, None)


# ------------------------------------------------------------------ download

def reasons_key(rejected_key: str) -> str:
    """Where the reasons of a stored rejected-rows workbook are kept (beside it)."""
    return rejected_key.rsplit(".", 1)[0] + ".reasons.jsonl.gz"


def store_rejected(storage, writer: RejectWriter, key: str) -> None:
    """The workbook, then its reasons. A re-run writes over an earlier run's files: their
    reasons go first, so a failure between the two writes leaves a workbook without reasons
    (given as stored, in Japanese), never a workbook with another run's reasons."""
    storage.delete(reasons_key(key))
    with open(writer.path, "rb") as handle:
        storage.put_file(key, handle)
    with open(writer.reasons_path, "rb") as handle:
        storage.put_file(reasons_key(key), handle)


def open_rejected(storage, key: str, locale) -> BinaryIO:
    """The stored workbook ``key`` in ``locale``'s language, a binary file to read from the
    start (FileNotFoundError when it is not stored). Japanese, and a workbook stored without
    its reasons, is the stored file itself."""
    wording = Wording(locale)
    if wording.language == "ja" or not storage.exists(reasons_key(key)):
        return storage.open(key)
    output = tempfile.TemporaryFile()
    try:
        with closing(storage.open(reasons_key(key))) as raw, gzip.GzipFile(fileobj=raw) as reasons:
            _write_in_language(storage.local_path(key), reasons, output, wording)
    except BaseException:
        output.close()
        raise
    finally:
        getattr(storage, "cleanup", lambda: None)()
    output.seek(0)
    return output


def _write_in_language(workbook: str, reasons, output: BinaryIO, wording: Wording) -> None:
    with zipfile.ZipFile(workbook) as source, \
            zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as target:
        for info in source.infolist():
            if info.filename == WORKBOOK:
                target.writestr(WORKBOOK, _workbook_xml(wording.value({"t": SHEET_NAME})))
            elif info.filename == SHARED_STRINGS:
                with target.open(SHARED_STRINGS, "w", force_zip64=True) as strings:
                    strings.write(_SST_HEAD)
                    strings.write(b"".join(_shared_string(wording.value({"t": title})) for title in TITLES))
                    for line in reasons:
                        label, reason = _row_strings(json.loads(line), wording)
                        strings.write(_shared_string(label) + _shared_string(reason))
                    strings.write(_SST_TAIL)
            else:
                with source.open(info) as part, target.open(info.filename, "w", force_zip64=True) as copy:
                    shutil.copyfileobj(part, copy, 1 << 20)
