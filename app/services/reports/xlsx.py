"""Shared XlsxWriter helpers: formats with units, and text cells that can never run.

Text from data is written with ``write_string``: a string cell, which Excel shows as
written and never evaluates, so ``=1+1`` or ``-3`` from a hospital's file appears exactly
as it was (no apostrophe added, nothing computed).

XlsxWriter was chosen over openpyxl by measurement (bench/report.py, and a 5,000-row table
plus 12 images: 0.16 s vs 0.56–0.82 s) and because it draws native Excel charts.
"""
from __future__ import annotations

import io

import xlsxwriter

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


class Book:
    """An in-memory workbook with the house formats."""

    def __init__(self):
        self.buffer = io.BytesIO()
        self.workbook = xlsxwriter.Workbook(self.buffer, {"in_memory": True, "remove_timezone": True})
        self.fmt = {name: self.workbook.add_format(spec) for name, spec in FORMATS.items()}

    def sheet(self, name: str):
        """A worksheet printed landscape on A4, one page wide."""
        ws = self.workbook.add_worksheet(name[:31])
        ws.set_landscape()
        ws.set_paper(9)
        ws.fit_to_pages(1, 0)
        return ws

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

    def close(self) -> bytes:
        self.workbook.close()
        return self.buffer.getvalue()
