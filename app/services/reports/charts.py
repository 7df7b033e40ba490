"""Charts of the report and the dashboard, drawn with matplotlib (Agg) as PNG bytes.

The Japanese font comes from the ``matplotlib-fontja`` package (IPAexGothic, installed by
requirements.txt), never from the system, so labels render the same on every machine.
"""
from __future__ import annotations

import io
from functools import lru_cache

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

BAR = "#4e79a7"
LINE = "#e15759"


@lru_cache(maxsize=1)
def _font() -> str:
    import matplotlib_fontja  # noqa: F401  (registers the bundled IPAexGothic font)
    from matplotlib import rcParams

    rcParams["font.family"] = "IPAexGothic"
    rcParams["axes.unicode_minus"] = False
    return "IPAexGothic"


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def _month_labels(months) -> list[str]:
    return [f"{m.year % 100:02d}/{m.month:02d}" for m in months]


def trend_chart(title: str, months, bars, bar_label: str, line, line_label: str) -> bytes:
    """13-month trend: ``bars`` (hours, left axis) and ``line`` (a ratio, right axis).
    Months without data are gaps."""
    _font()
    fig = Figure(figsize=(7.2, 3.2))
    ax = fig.add_subplot()
    labels = _month_labels(months)
    x = range(len(labels))
    ax.bar(x, [v or 0 for v in bars], color=BAR, label=bar_label)
    ax.set_xticks(list(x), labels, fontsize=8)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_ylabel(bar_label, fontsize=9)
    right = ax.twinx()
    right.plot(list(x), [v if v is not None else float("nan") for v in line],
               color=LINE, marker="o", label=line_label)
    right.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=1))
    right.set_ylim(bottom=0)
    right.set_ylabel(line_label, fontsize=9)
    ax.set_title(title, fontsize=11)
    handles = ax.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
    ax.legend(handles, [bar_label, line_label], loc="upper left", fontsize=8)
    # Fixed margins: tight_layout would draw the figure a second time to measure it.
    fig.subplots_adjust(left=0.11, right=0.89, top=0.89, bottom=0.1)
    return _png(fig)


def life_chart(title: str, rows: list[dict]) -> bytes:
    """③ devices per remaining-life bucket (bars) with their lending hours (line)."""
    _font()
    fig = Figure(figsize=(7.2, 3.2))
    ax = fig.add_subplot()
    x = list(range(len(rows)))
    ax.bar(x, [r["devices"] for r in rows], color=BAR)
    ax.set_xticks(x, [r["label"] for r in rows], fontsize=7, rotation=30)
    ax.set_ylabel("台数", fontsize=9)
    right = ax.twinx()
    right.plot(x, [r["lending_hours"] for r in rows], color=LINE, marker="o")
    right.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    right.set_ylabel("貸出時間", fontsize=9)
    ax.set_title(title, fontsize=11)
    fig.subplots_adjust(left=0.09, right=0.89, top=0.89, bottom=0.2)
    return _png(fig)


def lending_trend(scope_name, months, summary_rows) -> bytes:
    rows = {r.figure.key: r for r in summary_rows}
    return trend_chart(f"{scope_name} 貸出の推移", months, rows["lending_hours"].trend, "合計貸出時間",
                       rows["utilization"].trend, "稼働率")


def failure_trend(scope_name, months, summary_rows) -> bytes:
    rows = {r.figure.key: r for r in summary_rows}
    return trend_chart(f"{scope_name} 故障の推移", months, rows["failure_hours"].trend, "合計故障時間",
                       rows["failure_rate"].trend, "故障率")
