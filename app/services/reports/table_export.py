"""A table (header + rows) as a CSV file (UTF-8 with BOM, so Excel opens it as UTF-8) or an
Excel workbook. Text that a spreadsheet would take for a formula (= + - @ at the start) is
written as text: hospital data must never run as a formula."""
from __future__ import annotations

import csv
import io

import xlsxwriter

from app.core.normalize import escape_formula


def _safe(value):
    """Text as a cell a spreadsheet shows as text (app.core.normalize decides what a formula
    is for every export); numbers stay numbers."""
    return escape_formula(value) if isinstance(value, str) else value


def to_csv(header: list[str], rows: list[list]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([_safe(h) for h in header])  # a header may name data (a classification)
    for row in rows:
        writer.writerow([_safe(v) for v in row])
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")


def to_xlsx(title: str, header: list[str], rows: list[list]) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    sheet = book.add_worksheet(title[:31].rstrip().replace("/", "・") or "Sheet1")  # 31: Excel's limit
    bold = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    for col, name in enumerate(header):
        sheet.write_string(0, col, name, bold)
        sheet.set_column(col, col, max(10, min(40, len(name) * 2 + 2)))
    for r, row in enumerate(rows, 1):
        for col, value in enumerate(row):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                sheet.write_number(r, col, value)
            elif value is None or value == "":
                sheet.write_blank(r, col, None)
            else:
                sheet.write_string(r, col, str(value))
    sheet.freeze_panes(1, 0)
    book.close()
    return buffer.getvalue()
