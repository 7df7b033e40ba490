"""Excel (.xlsx) downloads of a list, beside the CSV ones (csv_export.py).

Hospitals open exports in Excel and save them. A CSV opened in Excel loses what only looks
like a number: device number 0000286061 becomes 286061, a 12-digit serial 1.2E+11 — uploaded
again, those rows are new devices. In this workbook every value is a text cell (a string with
the text format ``@``, which Excel keeps even when the cell is edited; the columns carry the
format too, so a typed-in row is text as well), except dates, which are real dates (the
ingest reads date cells as dates, app/services/ingest/values.py).

A value that looks like a formula (``=…``, ``+…``, ``-…``, ``@…``: the same test as the
CSV's, app/core/normalize.py) is a string cell, never a formula cell, with Excel's quote
prefix: the CSV's leading apostrophe, kept in the cell's style instead of its value, so the
ingest reads back the value exactly as stored.

Written with openpyxl's write-only mode: rows go to the file as they are made, and each
cell's style is a copy of one prepared cell's (cheaper than setting a format per cell). For
15,000 rows most of the time is openpyxl's XML writing (bench/ledger_export.py). lxml (which
openpyxl uses instead of et_xmlfile when installed) was measured and left out: 12 % less CPU
for this workbook (3.8 s → 3.3 s), under the 15 % that would pay for one more compiled
dependency; openpyxl still builds every cell in Python either way.
"""
from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence

from flask import Response
from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from app.core.months import utc_to_jst
from app.core.normalize import looks_like_formula
from app.views.csv_export import boolean_text, download_name

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TEXT_FORMAT = "@"
DATE_FORMAT = "yyyy/mm/dd"
DATETIME_FORMAT = "yyyy/mm/dd hh:mm"
TEXT_KINDS = ("text", "formula_text", "header")
MIN_WIDTH, MAX_WIDTH = 6, 50  # in characters; a long name wraps off the screen, not the column


def display_width(text: str) -> int:
    """Columns ``text`` needs: a Japanese character (three UTF-8 bytes) counts two, an ASCII
    one one — cheaper than unicodedata per character, and close enough for a width."""
    return (len(text.encode("utf-8")) + len(text)) // 2


class _Cells:
    """Cells of one sheet, each styled by copying a prepared cell's style."""

    def __init__(self, sheet):
        self.sheet = sheet
        self.templates = {}
        for kind, number_format, extra in (("text", TEXT_FORMAT, {}),
                                           ("formula_text", TEXT_FORMAT, {"quotePrefix": True}),
                                           ("header", TEXT_FORMAT, {"font": Font(bold=True)}),
                                           ("date", DATE_FORMAT, {}), ("datetime", DATETIME_FORMAT, {})):
            template = WriteOnlyCell(sheet)
            template.number_format = number_format
            for name, value in extra.items():
                setattr(template, name, value)
            self.templates[kind] = template._style

    def make(self, value, kind: str):
        cell = Cell(self.sheet, row=1, column=1, style_array=self.templates[kind])  # the style copied
        if kind in TEXT_KINDS:
            # a string, never a formula (openpyxl's value setter takes "=…" for one)
            cell._value, cell.data_type = value, "s"
        else:
            cell.value = value
        return cell

    def of(self, value):
        """``value`` as a cell: None stays empty, a date a date, anything else text."""
        if value is None:
            return None
        if isinstance(value, dt.datetime):
            # stored timestamps are naive UTC; shown, like everywhere, in JST
            return self.make(utc_to_jst(value).replace(tzinfo=None), "datetime")
        if isinstance(value, dt.date):
            return self.make(value, "date")
        text = boolean_text(value) if isinstance(value, bool) else str(value)
        text = ILLEGAL_CHARACTERS_RE.sub("", text)  # control characters an xlsx cannot hold
        if text == "":
            return None
        return self.make(text, "formula_text" if looks_like_formula(text) else "text")


def _column_layout(header: Sequence, rows: Sequence[Sequence]) -> list[tuple[float, str]]:
    """Each column's width and format: a date column's format is a date's, any other text."""
    widths = [display_width(str(h)) + 3 for h in header]  # + the autofilter's arrow
    formats = [TEXT_FORMAT] * len(header)
    for row in rows:
        for index, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, dt.date):
                formats[index] = DATETIME_FORMAT if isinstance(value, dt.datetime) else DATE_FORMAT
                width = 16 if isinstance(value, dt.datetime) else 10
            else:
                width = display_width(str(value))
            if width > widths[index]:
                widths[index] = width
    return [(min(max(w + 1, MIN_WIDTH), MAX_WIDTH), f) for w, f in zip(widths, formats)]


def xlsx_bytes(header: Sequence, rows: Sequence[Sequence], sheet_title: str) -> bytes:
    """One sheet: the header (bold, frozen, with an autofilter) and ``rows``."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=sheet_title[:31])  # Excel's limit on a sheet's name
    for index, (width, number_format) in enumerate(_column_layout(header, rows), start=1):
        column = sheet.column_dimensions[get_column_letter(index)]
        column.width = width
        column.number_format = number_format
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(max(len(header), 1))}{len(rows) + 1}"
    cells = _Cells(sheet)
    sheet.append([cells.make(ILLEGAL_CHARACTERS_RE.sub("", str(h)), "header") for h in header])
    for row in rows:
        sheet.append([cells.of(value) for value in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def xlsx_response(filename: str, header: Sequence, rows: Sequence[Sequence], sheet_title: str) -> Response:
    """``filename``: ASCII, without the date (added here, JST) — as :func:`csv_response`."""
    name = download_name(filename, "xlsx")
    return Response(xlsx_bytes(header, rows, sheet_title), mimetype=XLSX_MIMETYPE,
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "Cache-Control": "no-store"})
