"""A chart title naming hospital data is text, never a cell reference.

xlsxwriter reads any title that looks like ``anything!A1`` as a reference and writes it as a
formula; a hospital classification named ``cmd|' /C calc'!A0`` put a DDE link into the chart of
the report its users, dealers and the operator's staff open."""
from __future__ import annotations

import io
import zipfile

from app.services.reports.workbook import _native_trend
from app.services.reports.xlsx import Book

EVIL = "cmd|' /C calc'!A0"


def test_a_title_that_looks_like_a_reference_stays_text():
    book = Book()
    ws = book.sheet("推移")
    for r in range(4):
        ws.write_row(r, 9, ["2026-0%d" % (r + 1), 0, 5, 0.5])
    _native_trend(book, ws, 0, 9, 3, 6, f"{EVIL} 貸出推移")
    book.workbook.close()
    with zipfile.ZipFile(io.BytesIO(book.buffer.getvalue())) as archive:
        chart = next(archive.read(n).decode() for n in archive.namelist() if n.startswith("xl/charts/chart"))
    assert "cmd|" not in "".join(part.split("</c:f>")[0] for part in chart.split("<c:f>")[1:])
    assert "cmd|' /C calc'！A0 貸出推移" in chart  # shown, as text
