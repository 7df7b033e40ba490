"""The rejected-rows workbook: original row number, column, reason, then the row as read.

Written row by row while the upload is read, straight into the sheet XML of a zip in a
temporary file: a minimal SpreadsheetML package with inline strings. That costs about a
microsecond a cell, where a general xlsx library costs twenty; a file with thousands of bad
rows must not double the ingest. Every text cell is an inline string, a typed string cell
that a spreadsheet never evaluates, so ``=HYPERLINK(…)`` stays text exactly as the hospital
wrote it (no visible apostrophe added). Characters XML 1.0 cannot carry are dropped, and a
value is cut at Excel's 32,767 characters a cell.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
import zipfile

from app.services.ingest.headers import column_letters

MAX_CELL_CHARS = 32_767
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
SHEET_NAME = "取り込めなかった行"

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
        "</Types>"),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1"'
        ' Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"'
        ' Target="xl/workbook.xml"/>'
        "</Relationships>"),
    "xl/workbook.xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        f'<sheets><sheet name="{SHEET_NAME}" sheetId="1" r:id="rId1"/></sheets></workbook>'),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"'
        ' Target="worksheets/sheet1.xml"/>'
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles"'
        ' Target="styles.xml"/>'
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


def _string_cell(ref: str, value: str, style: str = "") -> str:
    value = _INVALID_XML.sub("", value[:MAX_CELL_CHARS]).translate(_ESCAPES)
    return f'<c r="{ref}" t="inlineStr"{style}><is><t xml:space="preserve">{value}</t></is></c>'


class RejectWriter:
    def __init__(self, headers: list[str]):
        self.headers = headers
        self.count = 0
        self.path: str | None = None
        self._zip: zipfile.ZipFile | None = None
        self._sheet = None
        self._letters: list[str] = []

    def _letter(self, col: int) -> str:
        while col >= len(self._letters):
            self._letters.append(column_letters(len(self._letters)))
        return self._letters[col]

    def _open(self) -> None:
        fd, self.path = tempfile.mkstemp(prefix="optiserve-rejected-", suffix=".xlsx")
        os.close(fd)
        self._zip = zipfile.ZipFile(self.path, "w", zipfile.ZIP_DEFLATED, compresslevel=1)
        self._sheet = self._zip.open("xl/worksheets/sheet1.xml", "w", force_zip64=True)
        titles = ["元の行番号", "列", "理由", *self.headers]
        cells = "".join(_string_cell(f"{self._letter(c)}1", str(t), ' s="1"') for c, t in enumerate(titles))
        self._sheet.write((_SHEET_HEAD + f'<row r="1">{cells}</row>').encode())

    def add(self, rownum: int, problems: list[tuple[str, str]], row: list) -> None:
        if self._zip is None:
            self._open()
        self.count += 1
        r = self.count + 1
        parts = [f'<row r="{r}"><c r="A{r}"><v>{rownum}</v></c>',
                 _string_cell(f"B{r}", "、".join(dict.fromkeys(label for label, _ in problems))),
                 _string_cell(f"C{r}", " ".join(reason for _, reason in problems))]
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
        """Finish the workbook; its path, or None when no row was rejected."""
        if self._zip is not None:
            self._sheet.write(b"</sheetData></worksheet>")
            self._sheet.close()
            for name, xml in _PARTS.items():
                self._zip.writestr(name, xml)
            self._zip.close()
            self._zip = None
        return self.path

    def discard(self) -> None:
        if self._zip is not None:
            try:
                self._sheet.close()
                self._zip.close()
            except Exception:  # closing a half-written temp file must not hide the real error
                pass
            self._zip = None
        if self.path:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
            self.path = None
