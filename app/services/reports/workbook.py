"""1 分析レポート: the analysis workbook of one hospital-month, from computed figures.

Cover, then one sheet per section ①–⑥; each section repeats for all devices and each
report classification. Trend charts are matplotlib images (the same PNGs as the
dashboard); ③ and ⑥ use native Excel charts linked to their tables. Printed, each section
(a classification's table and chart) starts a page, so no chart is cut (app/reports/xlsx.py).
"""
from __future__ import annotations

import datetime as dt

from app.core.months import jst_now, month_label
from app.services.reports.data_quality import LONG_LENDING_DAYS, DataQuality, data_quality
from app.services.reports.definitions import COMMON_JA, DEFINITIONS_JA, FAILURE_FIGURES, LENDING_FIGURES, SECTIONS_JA
from app.services.reports.figures import HospitalMonthFigures
from app.services.reports.xlsx import Book, chart_title

LEVEL_NAMES = {1: "大分類", 2: "中分類", 3: "小分類"}
SUMMARY_HEADERS = ["項目", "当月", "前月", "前月差", "前年同月", "前年同月差", "過去12か月平均", "平均との差"]
CHART_ROWS = 17  # a 320-px image over 20-px rows
TREND_TITLES = {"lending": "貸出の推移", "failure": "故障の推移"}
DEFINITIONS_SHEET = "数値の定義"


def build_analysis_workbook(f: HospitalMonthFigures, generated_at: dt.datetime | None = None,
                            chart_cache: dict | None = None, quality: DataQuality | None = None,
                            version: int = 1) -> bytes:
    """The workbook as bytes. ``chart_cache`` receives the trend PNGs by (scope key, kind)
    so a caller can reuse them. ``generated_at`` is shown as is (default: now, JST).
    ``quality`` (the data-quality section) is read from the database when not given."""
    if quality is None:
        quality = data_quality(f.hospital_id, f.month)
    book = Book()
    _cover(book, f, generated_at or jst_now(), quality, version)
    _summaries(book, f, "①貸出サマリー", "lending", chart_cache)
    _summaries(book, f, "②故障サマリー", "failure", chart_cache)
    _life(book, f)
    _near_end(book, f)
    _top_models(book, f)
    _ranking(book, f)
    _data_quality(book, f, quality)
    _definitions(book)
    return book.close()


def _cover(book: Book, f, generated_at, quality: DataQuality, version=1):
    ws = book.sheet("表紙")
    ws.set_column(0, 0, 22)
    ws.set_column(1, 1, 60)
    ws.write_string(0, 0, "分析レポート", book.fmt["title"])
    lines = [
        ("医療機関", f.hospital_name),
        ("対象年月", month_label(f.month)),
        ("分類レベル", LEVEL_NAMES.get(f.level, str(f.level))),
        ("対象分類", "、".join(s.scope.name for s in f.scopes[1:]) or "—"),
        ("分類の選び方", "自動（機器台数の多い順）" if f.automatic else "医療機関の選択（順位順）"),
        ("分類の基準", "SMDSグループ（画面7の紐付け）" if f.grouping == "smds" else "医療機関の機器分類"),
        ("月の時間数 H", f"{f.hours_in_month:,} 時間"),
        ("作成日時", f"{generated_at:%Y-%m-%d %H:%M} JST"),
        ("版", f"第{version}版" + ("（改訂）" if version > 1 else "")),
        ("データ品質", f"返却日・修理日不明 {len(quality.unknown_end):,} 件、月の時間を超える貸出の機器 "
                      f"{len(quality.over_booked):,} 台、"
                      f"{LONG_LENDING_DAYS}日超の貸出 {len(quality.long_lendings):,} 件"
                      "（「データ品質」シート）"),
    ]
    for i, (label, value) in enumerate(lines, 2):
        ws.write_string(i, 0, label, book.fmt["header"])
        book.cell(ws, i, 1, value)
    ws.write_url(len(lines) + 3, 0, f"internal:'{DEFINITIONS_SHEET}'!A1",
                 string="各数値の定義は「数値の定義」シートのとおりです。")
    sections = ["①貸出サマリー", "②故障サマリー", "③残耐用年数", "④更新対象機種", "⑤貸出時間上位機種",
                "⑥稼働率ランキング", "データ品質", DEFINITIONS_SHEET]
    for i, name in enumerate(sections, len(lines) + 5):
        ws.write_url(i, 0, f"internal:'{name}'!A1", string=name)


def _summaries(book: Book, f, sheet_name, kind, chart_cache):
    from app.services.reports import charts  # matplotlib: ~0.6 s to import, paid by the report job only
    ws = book.sheet(sheet_name)
    ws.set_column(0, 0, 16)
    ws.set_column(1, 7, 13)
    ws.set_column(9, 9, 9)
    ws.set_column(10, 12, 13)
    row = 0
    for sf in f.scopes:
        summary = sf.lending if kind == "lending" else sf.failure
        book.section(ws, row)  # each classification's table and chart on a page of its own
        ws.write_string(row, 0, sf.scope.name, book.fmt["heading"])
        table = []
        for r in summary:
            table.append([r.figure.ja, r.value, r.previous, r.diff_previous, r.last_year,
                          r.diff_last_year, r.mean_12, r.diff_mean_12])
        top = row + 1
        for i, r in enumerate(summary, 1):
            book.cell(ws, top + i, 0, r.figure.ja)
            for j, value in enumerate(table[i - 1][1:], 1):
                unit = r.figure.unit
                if j >= 6 and unit in ("台", "回"):
                    unit += ".1"
                book.cell(ws, top + i, j, value, unit)
        for j, header in enumerate(SUMMARY_HEADERS):
            ws.write_string(top, j, header, book.fmt["header"])
        _trend_table(book, ws, top, 9, f.months, summary, kind)
        chart_row = top + len(summary) + 2
        if sf.scope.key == "all":
            trend = charts.lending_trend if kind == "lending" else charts.failure_trend
            png = trend(sf.scope.name, f.months, summary)
            if chart_cache is not None:
                chart_cache[(sf.scope.key, kind)] = png
            book.image(ws, chart_row, 0, png, f"{kind}-{sf.scope.key}.png")
        else:
            # Per classification: a native chart on the trend table — same content, and it
            # keeps a 5-classification report within its time budget (bench/report.py).
            _native_trend(book, ws, top, 9, len(f.months), chart_row, f"{sf.scope.name} {TREND_TITLES[kind]}")
        row = chart_row + CHART_ROWS + 1


def _native_trend(book, ws, row, col, count, at_row, title):
    """A column (hours) + line (ratio, right axis) chart of the trend table at (row, col)."""
    from app.services.reports import charts
    sheet = ws.get_name()
    first, last = row + 1, row + count
    chart = book.workbook.add_chart({"type": "column"})
    chart.add_series({"name": [sheet, row, col + 2], "categories": [sheet, first, col, last, col],
                      "values": [sheet, first, col + 2, last, col + 2], "fill": {"color": charts.BAR}})
    line = book.workbook.add_chart({"type": "line"})
    line.add_series({"name": [sheet, row, col + 3], "categories": [sheet, first, col, last, col],
                     "values": [sheet, first, col + 3, last, col + 3], "y2_axis": True,
                     "line": {"color": charts.LINE}, "marker": {"type": "circle"}})
    chart.combine(line)
    chart.set_title(chart_title(title, name_font={"size": 11}))
    chart.set_y_axis({"num_format": "#,##0"})
    line.set_y2_axis({"num_format": "0%"})
    chart.set_legend({"position": "bottom"})
    book.chart(ws, at_row, 0, chart, 720, 320)


def _trend_table(book, ws, row, col, months, summary, kind):
    rows = {r.figure.key: r for r in summary}
    keys = (["lendings", "lending_hours", "utilization"] if kind == "lending"
            else ["failures", "failure_hours", "failure_rate"])
    headers = ["年月"] + [rows[k].figure.ja for k in keys]
    data = [[f"{m.year}-{m.month:02d}"] + [rows[k].trend[i] for k in keys] for i, m in enumerate(months)]
    book.table(ws, row, col, headers, data, ["text"] + [rows[k].figure.unit for k in keys])


def _life(book: Book, f):
    ws = book.sheet("③残耐用年数")
    ws.set_column(0, 0, 16)
    ws.set_column(1, 2, 14)
    row = 0
    for sf in f.scopes:
        book.section(ws, row)
        ws.write_string(row, 0, f"{sf.scope.name}（基準日 {f.month:%Y-%m}末）", book.fmt["heading"])
        data = [[r["label"], r["devices"], r["lending_hours"]] for r in sf.life]
        book.table(ws, row + 1, 0, ["残耐用年数", "機器台数", "当月貸出時間"], data, ["text", "台", "時間"])
        chart = book.workbook.add_chart({"type": "column"})
        sheet = ws.get_name()
        first, last = row + 2, row + 1 + len(data)
        chart.add_series({"name": "機器台数", "categories": [sheet, first, 0, last, 0],
                          "values": [sheet, first, 1, last, 1], "fill": {"color": "#4e79a7"}})
        line = book.workbook.add_chart({"type": "line"})
        line.add_series({"name": "当月貸出時間", "categories": [sheet, first, 0, last, 0],
                         "values": [sheet, first, 2, last, 2], "y2_axis": True, "marker": {"type": "circle"}})
        chart.combine(line)
        chart.set_title(chart_title(f"{sf.scope.name} 残耐用年数別の台数と貸出時間"))
        chart.set_legend({"position": "bottom"})
        book.chart(ws, row + 1, 4, chart, 640, 300)
        row = max(last + 3, row + 17)


def _near_end(book: Book, f, limit: int = 20):
    ws = book.sheet("④更新対象機種")
    for col, width in enumerate([24, 18, 28, 10, 14, 12]):
        ws.set_column(col, col, width)
    row = 0
    for sf in f.scopes:
        book.section(ws, row)
        ws.write_string(row, 0, f"{sf.scope.name}: 残耐用年数1年以内の機器の割合（上位{limit}機種）",
                        book.fmt["heading"])
        data = [[m["maker"], m["model"], m["product"], m["devices"], m["near_end"], m["share"]]
                for m in sf.models_near_end[:limit]]
        row = book.table(ws, row + 1, 0, ["メーカー", "型番", "製品名", "機器台数", "1年以内の台数", "割合"],
                         data, ["text", "text", "text", "台", "台", "%"])


def _top_models(book: Book, f):
    ws = book.sheet("⑤貸出時間上位機種")
    for col, width in enumerate([8, 22, 18, 26, 12, 14, 16]):
        ws.set_column(col, col, width)
    row = 0
    for sf in f.scopes:
        book.section(ws, row)
        ws.write_string(row, 0, f"{sf.scope.name}: 1回あたり貸出時間 上位3機種", book.fmt["heading"])
        data = [[i, m["maker"], m["model"], m["product"], m["lendings"], m["hours"], m["hours_per_lending"]]
                for i, m in enumerate(sf.top_models, 1)]
        row = book.table(ws, row + 1, 0, ["順位", "メーカー", "型番", "製品名", "貸出回数", "貸出時間",
                                          "1回あたり時間"], data, ["int", "text", "text", "text", "回", "時間", "時間"])
        for i, m in enumerate(sf.top_models, 1):
            ws.write_string(row, 0, f"{i}位 {m['model']} の利用部署", book.fmt["note"])
            data = [[d["department"], d["lendings"], d["share"]] for d in m["departments"]]
            row = book.table(ws, row + 1, 1, ["部署", "貸出回数", "割合"], data, ["text", "回", "%"])
        row += 1


def _ranking(book: Book, f, chart_limit: int = 20):
    ws = book.sheet("⑥稼働率ランキング", repeat_rows=(1, 1))
    for col, width in enumerate([8, 28, 12, 16, 12, 10, 12]):
        ws.set_column(col, col, width)
    ws.write_string(0, 0, f"機器分類（{LEVEL_NAMES.get(f.level, f.level)}）の稼働率ランキング（同率は台数の多い順）",
                    book.fmt["heading"])
    data = [[r["rank"], r["name"], r["devices"], r["lending_hours"], r["utilization"],
             r.get("previous_rank"), r.get("last_year_rank")] for r in f.ranking]
    book.table(ws, 1, 0, ["順位", "機器分類", "機器台数", "当月貸出時間", "稼働率", "前月順位", "前年同月順位"], data,
               ["int", "text", "台", "時間", "%", "int", "int"])
    if not data:
        return
    last = 1 + min(len(data), chart_limit)
    chart = book.workbook.add_chart({"type": "bar"})
    chart.add_series({"name": "稼働率", "categories": [ws.get_name(), 2, 1, last, 1],
                      "values": [ws.get_name(), 2, 4, last, 4], "fill": {"color": "#4e79a7"}})
    chart.set_y_axis({"reverse": True})
    chart.set_x_axis({"num_format": "0%"})
    chart.set_legend({"none": True})
    chart.set_title(chart_title("稼働率（上位）"))
    book.chart(ws, 1, 8, chart, 640, max(300, 22 * (last - 1) + 80))


def _data_quality(book: Book, f, quality: DataQuality):
    """What the figures cannot explain by themselves, with the rows behind it
    (app/reports/data_quality.py)."""
    ws = book.sheet("データ品質")
    for col, width in enumerate([12, 14, 24, 17, 17, 14, 16]):
        ws.set_column(col, col, width)
    ws.write_string(0, 0, f"データ品質　{month_label(f.month)}", book.fmt["title"])
    ws.write_string(1, 0, "返却日・修理日が不明な貸出・故障は、最後に「未返却・未修理」として載ったファイルの月末まで"
                          "集計し、それ以降は集計していません。", book.fmt["note"])
    row = 3
    ws.write_string(row, 0, f"返却日不明・修理日不明（{len(quality.unknown_end):,} 件、当月は集計に含まれません）",
                    book.fmt["heading"])
    data = [[u.label, u.device_number, u.product, u.start,
             u.last_listed.strftime("%Y-%m") if u.last_listed else "—"] for u in quality.unknown_end]
    row = book.table(ws, row + 1, 0, ["区分", "機器番号", "製品名", "開始日時", "最後に未返却・未修理で載った月"], data,
                     ["text", "text", "text", "datetime", "text"])
    book.section(ws, row)
    ws.write_string(row, 0, f"当月の貸出時間が月の時間数（{quality.hours_in_month:,} 時間）を超える機器"
                            f"（{len(quality.over_booked):,} 台、元データで同時に重複して貸し出されています）",
                    book.fmt["heading"])
    data = []
    for device in quality.over_booked:
        data.append([device.device_number, device.product, None, None, device.hours, "合計"])
        data += [[device.device_number, None, r.start, r.end, r.hours, r.department] for r in device.rows]
    row = book.table(ws, row + 1, 0, ["機器番号", "製品名", "貸出日時", "返却日時", "当月の貸出時間", "貸出先"], data,
                     ["text", "text", "datetime", "datetime", "時間", "text"])
    book.section(ws, row)
    ws.write_string(row, 0, f"{LONG_LENDING_DAYS}日を超える貸出（{len(quality.long_lendings):,} 件）",
                    book.fmt["heading"])
    data = [[x.device_number, x.product, x.start, x.end, x.days] for x in quality.long_lendings]
    book.table(ws, row + 1, 0, ["機器番号", "製品名", "貸出日時", "返却日時", "日数"], data,
               ["text", "text", "datetime", "datetime", "int"])


def _definitions(book: Book):
    """How every figure is made (the Japanese text of docs/figures.md)."""
    ws = book.sheet(DEFINITIONS_SHEET)
    ws.set_column(0, 0, 26)
    ws.set_column(1, 1, 100)
    ws.write_string(0, 0, "数値の定義", book.fmt["title"])
    row = book.table(ws, 2, 0, ["共通", "定義"], [list(pair) for pair in COMMON_JA], ["text", "text"])
    for title, kind, figures in (("①貸出サマリー", "lending", LENDING_FIGURES),
                                 ("②故障サマリー", "failure", FAILURE_FIGURES)):
        data = [[fig.ja, DEFINITIONS_JA[kind].get(fig.key, "")] for fig in figures]
        row = book.table(ws, row, 0, [title, "定義"], data, ["text", "text"])
    book.table(ws, row, 0, ["③〜⑥・データ品質", "定義"], [list(pair) for pair in SECTIONS_JA], ["text", "text"])
