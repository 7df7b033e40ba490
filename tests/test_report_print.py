"""Printing the Excel reports (issue 14 item 14): every sheet has a print area covering its
cells and charts, A4 landscape fit to one page wide; each section (a classification's table
and chart) starts a page, and no chart or image is cut by a page break; long tables repeat
their header row. Read back from the produced files: openpyxl for the page setup, the
drawing XML for where the charts sit (openpyxl does not load native charts)."""
from __future__ import annotations

import io
import posixpath
import re
import xml.etree.ElementTree as ET
import zipfile

import openpyxl
from openpyxl.utils.cell import range_boundaries

from app.services.reports.figures import compute_figures
from app.services.reports.lists import build_failure_list, build_no_activity_list
from app.services.reports.workbook import build_analysis_workbook

from .report_data import MONTH, make_dataset

NS = {"xdr": "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing",
      "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
      "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
      "rel": "http://schemas.openxmlformats.org/package/2006/relationships"}
SECTIONED = ["①貸出サマリー", "②故障サマリー", "③残耐用年数", "④更新対象機種", "⑤貸出時間上位機種"]


def drawing_anchors(data: bytes) -> dict[str, list[tuple[int, int, int, int]]]:
    """Sheet name → (first row, last row, first col, last col), 0-based and inclusive, of
    every chart and picture anchored on it."""
    z = zipfile.ZipFile(io.BytesIO(data))

    def rels(path):
        folder, name = posixpath.split(path)
        rel_path = posixpath.join(folder, "_rels", name + ".rels")
        if rel_path not in z.namelist():
            return {}
        root = ET.fromstring(z.read(rel_path))
        return {r.get("Id"): posixpath.normpath(posixpath.join(folder, r.get("Target")))
                for r in root.findall("rel:Relationship", NS)}

    book_rels = rels("xl/workbook.xml")
    found = {}
    for sheet in ET.fromstring(z.read("xl/workbook.xml")).find("m:sheets", NS):
        path = book_rels[sheet.get(f"{{{NS['r']}}}id")]
        anchors = []
        for target in rels(path).values():
            if "/drawings/" not in target or target.endswith(".vml"):
                continue
            for anchor in ET.fromstring(z.read(target)).findall("xdr:twoCellAnchor", NS):
                start, end = anchor.find("xdr:from", NS), anchor.find("xdr:to", NS)
                value = {f"{k}.{p}": int(node.find(f"xdr:{p}", NS).text)
                         for k, node in (("from", start), ("to", end)) for p in ("row", "col", "rowOff", "colOff")}
                last_row = value["to.row"] - (1 if value["to.rowOff"] == 0 else 0)
                last_col = value["to.col"] - (1 if value["to.colOff"] == 0 else 0)
                anchors.append((value["from.row"], last_row, value["from.col"], last_col))
        found[sheet.get("name")] = anchors
    return found


def check_page_setup(ws) -> tuple[int, int, int, int]:
    assert int(ws.page_setup.paperSize) == int(ws.PAPERSIZE_A4)
    assert ws.page_setup.orientation == "landscape"
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    # one page wide (1 is the default, left out of the file), as many pages long as needed
    assert int(ws.page_setup.fitToWidth or 1) == 1 and int(ws.page_setup.fitToHeight) == 0
    assert ws.print_area, f"{ws.title}: no print area"
    area = ws.print_area[0] if isinstance(ws.print_area, list) else ws.print_area
    min_col, min_row, max_col, max_row = range_boundaries(area.split("!")[-1].replace("$", ""))
    assert (min_row, min_col) == (1, 1)
    assert max_row >= ws.max_row and max_col >= ws.max_column, (ws.title, area, ws.max_row, ws.max_column)
    return min_row - 1, max_row - 1, min_col - 1, max_col - 1


def test_analysis_workbook_prints_each_section_on_its_own_pages_with_no_chart_cut(ctx):
    data = make_dataset()  # analysis level 1, automatic selection of up to 5 classifications
    figures = compute_figures(data["hospital"], MONTH)
    scopes = [s.scope.name for s in figures.scopes]
    assert len(scopes) >= 3  # all devices and at least two classifications: several sections
    content = build_analysis_workbook(figures)
    book = openpyxl.load_workbook(io.BytesIO(content))
    anchors = drawing_anchors(content)
    assert sum(len(a) for a in anchors.values()) >= 2 * len(scopes) + len(scopes) + 1  # ①②, ③, ⑥

    for ws in book.worksheets:
        _r0, last_row, _c0, last_col = check_page_setup(ws)
        breaks = sorted(b.id for b in ws.row_breaks.brk)
        for first, last, _first_col, last_col_used in anchors[ws.title]:
            # inside the print area ...
            assert last <= last_row and last_col_used <= last_col, (ws.title, (first, last), last_row)
            # ... and on one page: no break between its first and last row (a break at b
            # starts a new page with the 0-based row b)
            assert not [b for b in breaks if first < b <= last], (ws.title, (first, last), breaks)

    for title in SECTIONED:
        ws = book[title]
        headings = [c.row - 1 for c in ws["A"] if isinstance(c.value, str)
                    and any(c.value == name or c.value.startswith(f"{name}（") or c.value.startswith(f"{name}:")
                            for name in scopes)]
        assert len(headings) == len(scopes), (title, headings)
        # a page break before every section but the first: each starts a page
        assert sorted(b.id for b in ws.row_breaks.brk) == headings[1:], title
        for b in ws.row_breaks.brk:
            assert b.man  # manual breaks, not Excel's automatic ones

    ranking = book["⑥稼働率ランキング"]
    assert ranking.print_title_rows.replace("$", "") == "2:2"  # the ranking table's header on every page
    cover = book["表紙"]
    assert not cover.row_breaks.brk


def test_lists_print_with_their_header_on_every_page(ctx):
    data = make_dataset()
    hospital_id = data["hospital"]
    for content, title in ((build_failure_list(hospital_id, MONTH), "故障リスト"),
                           (build_no_activity_list(hospital_id, MONTH), "未実績リスト")):
        ws = openpyxl.load_workbook(io.BytesIO(content))[title]
        check_page_setup(ws)
        assert ws.print_title_rows.replace("$", "") == "4:4"
        assert re.match(r"機器番号", ws["A4"].value)
