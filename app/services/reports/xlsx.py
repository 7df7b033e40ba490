"""Shared XlsxWriter helpers: formats with units, and text cells that can never run.

Text from data is written with ``write_string``: a string cell, which Excel shows as
written and never evaluates, so ``=1+1`` or ``-3`` from a hospital's file appears exactly
as it was (no apostrophe added, nothing computed).

XlsxWriter was chosen over openpyxl by measurement (bench/report.py, and a 5,000-row table
plus 12 images: 0.16 s vs 0.56–0.82 s) and because it draws native Excel charts.

Printing: every sheet prints on A4 landscape, fit to one page wide, with a print area that
covers its cells and its charts. A sheet made of sections (a table and its chart, per
classification) gets a page break before each section (:meth:`Book.section`), so a chart
is never cut across pages; long tables repeat their header rows on every page.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field

import xlsxwriter
from xlsxwriter.image import Image

FORMATS = {
    "title": {"bold": True, "font_size": 14},
    "heading": {"bold": True, "font_size": 11, "font_color": "#1f3864"},
    "header": {"bold": True, "bg_color": "#d9e1f2", "border": 1, "text_wrap": True, "valign": "vcenter"},
    "text": {"border": 1},
    "台": {"num_format": '#,##0"台"', "border": 1},
    "回": {"num_format": '#,##0"回"', "border": 1},
    "時間": {"num_format": '#,##0.0"時間"', "border": 1},
    # means of counts (12-month mean and the difference to it) keep a decimal
    "台.1": {"num_format": '#,##0.0"台"', "border": 1},
    "回.1": {"num_format": '#,##0.0"回"', "border": 1},
    "%": {"num_format": "0.00%", "border": 1},
    "int": {"num_format": "#,##0", "border": 1},
    "datetime": {"num_format": "yyyy-mm-dd hh:mm", "border": 1},
    "date": {"num_format": "yyyy-mm-dd", "border": 1},
    "note": {"italic": True, "font_color": "#595959"},
}


A4 = 9  # XlsxWriter's paper code


@dataclass
class _Print:
    """What a sheet's print setup needs: its section starts and the cells its charts cover."""

    breaks: list = field(default_factory=list)
    last_row: int = 0
    last_col: int = 0


def chart_title(text: str, **options) -> dict:
    """A chart's ``set_title`` options for ``text`` shown as written. xlsxwriter takes any
    name that looks like ``anything!A1`` for a cell reference and writes it as a formula (a
    classification named ``cmd|' /C calc'!A0`` became a DDE link in the hospital's report);
    a full-width ！ looks the same and is no reference."""
    return {"name": text.replace("!", "！"), **options}


class Book:
    """An in-memory workbook with the house formats."""

    def __init__(self):
        self.buffer = io.BytesIO()
        self.workbook = xlsxwriter.Workbook(self.buffer, {"in_memory": True, "remove_timezone": True})
        self.fmt = {name: self.workbook.add_format(spec) for name, spec in FORMATS.items()}
        self._print: dict[str, _Print] = {}

    def sheet(self, name: str, repeat_rows: tuple[int, int] | None = None):
        """A worksheet printed landscape on A4, one page wide; ``repeat_rows`` (first, last)
        are printed at the top of every page (a long table's header)."""
        ws = self.workbook.add_worksheet(name[:31])
        ws.set_landscape()
        ws.set_paper(A4)
        ws.fit_to_pages(1, 0)
        ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.6)
        ws.set_footer("&C&P / &N")
        if repeat_rows is not None:
            ws.repeat_rows(*repeat_rows)
        self._print[ws.get_name()] = _Print()
        return ws

    def section(self, ws, row: int) -> None:
        """A printed section (a table with its chart) starts at ``row``: it starts a page."""
        if row > 0:
            self._print[ws.get_name()].breaks.append(row)

    def _covers(self, ws, row: int, col: int, width: float, height: float) -> None:
        """Record that an object of ``width`` × ``height`` pixels at (row, col) is printed."""
        layout = self._print[ws.get_name()]
        while height > 0:
            height -= ws._size_row(row)
            row += 1
        while width > 0:
            width -= ws._size_col(col)
            col += 1
        layout.last_row = max(layout.last_row, row - 1)
        layout.last_col = max(layout.last_col, col - 1)

    def chart(self, ws, row: int, col: int, chart, width: int, height: int) -> None:
        """Insert a native chart of ``width`` × ``height`` pixels at (row, col)."""
        chart.set_size({"width": width, "height": height})
        ws.insert_chart(row, col, chart)
        self._covers(ws, row, col, width, height)

    def cell(self, ws, row, col, value, unit="text"):
        """Write ``value`` in the format of ``unit``; None (undefined) is shown as —."""
        if value is None:
            ws.write_string(row, col, "—", self.fmt["text"])
        elif unit in ("text",) or isinstance(value, str):
            ws.write_string(row, col, str(value), self.fmt["text"])
        elif unit in ("datetime", "date"):
            ws.write_datetime(row, col, value, self.fmt[unit])
        else:
            ws.write_number(row, col, value, self.fmt[unit])

    def table(self, ws, row, col, headers, rows, units, widths=None) -> int:
        """A header row then ``rows``; returns the next free row."""
        for j, header in enumerate(headers):
            ws.write_string(row, col + j, header, self.fmt["header"])
            if widths:
                ws.set_column(col + j, col + j, widths[j])
        for i, values in enumerate(rows, 1):
            for j, value in enumerate(values):
                self.cell(ws, row + i, col + j, value, units[j])
        return row + len(rows) + 2

    def image(self, ws, row, col, png: bytes, name="chart.png"):
        ws.insert_image(row, col, name, {"image_data": io.BytesIO(png), "object_position": 3})
        image = Image(io.BytesIO(png))
        self._covers(ws, row, col, image.width * 96 / (image.x_dpi or 96), image.height * 96 / (image.y_dpi or 96))

    def _print_setup(self) -> None:
        for ws in self.workbook.worksheets():
            layout = self._print.get(ws.get_name())
            if layout is None:
                continue
            last_row = max(layout.last_row, ws.dim_rowmax or 0)
            last_col = max(layout.last_col, ws.dim_colmax or 0)
            ws.print_area(0, 0, last_row, last_col)
            if layout.breaks:
                ws.set_h_pagebreaks(sorted(set(layout.breaks)))

    def close(self) -> bytes:
        self._print_setup()
        self.workbook.close()
        return self.buffer.getvalue()
