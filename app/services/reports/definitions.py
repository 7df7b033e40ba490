"""The figures of sections ① (lending) and ② (failure): each defined once, here.

Each function receives a :class:`MonthAggregate` — the SQL aggregates of one scope (all
devices or one classification) for one month — and returns the figure, or None when it is
undefined (no data for the month, or a zero denominator). docs/figures.md says the same in
Japanese and English; tests/test_figures.py checks each against a hand-computed value.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class MonthAggregate:
    hours_in_month: int  # H = days × 24
    has_data: bool = False
    devices: int = 0
    lent_devices: int = 0
    lendings: int = 0
    lending_hours: float = 0.0
    max_device_hours: float | None = None
    failed_devices: int = 0
    failures: int = 0
    failure_hours: float = 0.0
    max_failure_hours: float | None = None
    min_failure_hours: float | None = None
    max_device_failure_hours: float | None = None  # one device's failures in M, summed
    min_device_failure_hours: float | None = None


UNITS_EN = {"台": "devices", "回": "times", "時間": "hours"}


def unit_label(unit: str, language: str = "ja") -> str:
    """A unit as written after a number in ``language`` (ja or en): 台, or " devices"."""
    if unit == "%" or language != "en":
        return unit
    return " " + UNITS_EN.get(unit, unit)


@dataclass(frozen=True)
class FigureDef:
    key: str
    ja: str
    en: str
    unit: str  # 台 / 回 / 時間 / %
    compute: Callable[[MonthAggregate], float | int | None] = field(repr=False)

    def label_in(self, language: str = "ja") -> str:
        """The name with its unit in ``language`` (ja or en): 稼働率, 貸出回数（回）, Lendings (times)."""
        english = language == "en"
        name = self.en if english else self.ja
        if self.unit == "%":
            return name
        unit = UNITS_EN.get(self.unit, self.unit) if english else self.unit
        return f"{name} ({unit})" if english else f"{name}（{unit}）"

    def name_in(self, language: str = "ja") -> str:
        """The name alone (no unit) in ``language`` (ja or en)."""
        return self.en if language == "en" else self.ja

    @property
    def doc(self) -> str:
        return (self.compute.__doc__ or "").strip()


LENDING_FIGURES: list[FigureDef] = []
FAILURE_FIGURES: list[FigureDef] = []


def _figure(registry, key, ja, en, unit):
    def register(fn):
        def guarded(a: MonthAggregate):
            return fn(a) if a.has_data else None

        guarded.__doc__ = fn.__doc__
        registry.append(FigureDef(key, ja, en, unit, guarded))
        return fn

    return register


def _ratio(numerator, denominator):
    return None if not denominator else numerator / denominator


# ① lending summary ---------------------------------------------------------------------

@_figure(LENDING_FIGURES, "devices", "機器台数", "Devices", "台")
def devices(a):
    """Devices whose effective 集計対象 (counts in aggregation) is on; per classification,
    by effective classification (override first) at the report level."""
    return a.devices


@_figure(LENDING_FIGURES, "lent_devices", "貸出台数", "Devices lent", "台")
def lent_devices(a):
    """Devices with at least one lending overlapping the month."""
    return a.lent_devices


@_figure(LENDING_FIGURES, "lending_ratio", "貸出割合", "Lending ratio", "%")
def lending_ratio(a):
    """Devices lent ÷ devices."""
    return _ratio(a.lent_devices, a.devices)


@_figure(LENDING_FIGURES, "lendings", "貸出回数", "Lendings", "回")
def lendings(a):
    """Lendings overlapping the month (lent before the month's end and returned after its
    start, or not returned and listed open by a file of the month or later). A lending
    crossing a month boundary counts in both months."""
    return a.lendings


@_figure(LENDING_FIGURES, "lending_hours", "合計貸出時間", "Lending hours", "時間")
def lending_hours(a):
    """Σ of each lending's hours inside the month (clipped to the month; no return = to
    the end of the last month whose file listed it open). Overlapping lendings of one
    device are not merged."""
    return a.lending_hours


@_figure(LENDING_FIGURES, "mean_lending_hours", "平均貸出時間", "Mean lending hours", "時間")
def mean_lending_hours(a):
    """Lending hours ÷ lendings."""
    return _ratio(a.lending_hours, a.lendings)


@_figure(LENDING_FIGURES, "hours_per_lent_device", "貸出台数あたり貸出時間", "Lending hours per lent device",
         "時間")
def hours_per_lent_device(a):
    """Lending hours ÷ devices lent: the mean lending hours of a device that was lent."""
    return _ratio(a.lending_hours, a.lent_devices)


@_figure(LENDING_FIGURES, "utilization", "稼働率", "Utilization", "%")
def utilization(a):
    """Lending hours ÷ (devices × H), H = days of the month × 24. Can exceed 100 %."""
    return _ratio(a.lending_hours, a.devices * a.hours_in_month)


@_figure(LENDING_FIGURES, "max_device_hours", "最大値", "Max (device)", "時間")
def max_device_hours(a):
    """The largest lending hours of one device in the month (its lendings summed)."""
    return a.max_device_hours


# ② failure summary ---------------------------------------------------------------------

@_figure(FAILURE_FIGURES, "devices", "機器台数", "Devices", "台")
def failure_devices(a):
    """Same as ① 機器台数."""
    return a.devices


@_figure(FAILURE_FIGURES, "failed_devices", "故障台数", "Devices failed", "台")
def failed_devices(a):
    """Devices with at least one failure overlapping the month."""
    return a.failed_devices


@_figure(FAILURE_FIGURES, "failed_device_ratio", "故障台数割合", "Failed-device ratio", "%")
def failed_device_ratio(a):
    """Devices failed ÷ devices (the share of devices with a failure in the month; 故障率 is
    the downtime share)."""
    return _ratio(a.failed_devices, a.devices)


@_figure(FAILURE_FIGURES, "failures", "故障回数", "Failures", "回")
def failures(a):
    """Failures overlapping the month (failed before its end, repaired after its start
    or not yet repaired)."""
    return a.failures


@_figure(FAILURE_FIGURES, "failure_hours", "合計故障時間", "Failure hours", "時間")
def failure_hours(a):
    """Σ of each failure's hours inside the month (failed → repaired, clipped to the month;
    not repaired = to the end of the last month whose file listed it open)."""
    return a.failure_hours


@_figure(FAILURE_FIGURES, "mean_failure_hours", "平均故障時間", "Mean failure hours", "時間")
def mean_failure_hours(a):
    """Failure hours ÷ failures."""
    return _ratio(a.failure_hours, a.failures)


@_figure(FAILURE_FIGURES, "failure_rate", "故障率", "Failure rate", "%")
def failure_rate(a):
    """Failure hours ÷ (devices × H): the share of device time lost to failures, not
    failed devices ÷ devices."""
    return _ratio(a.failure_hours, a.devices * a.hours_in_month)


@_figure(FAILURE_FIGURES, "max_failure_hours", "最大値", "Max (failure)", "時間")
def max_failure_hours(a):
    """The longest hours inside the month of one failure."""
    return a.max_failure_hours


@_figure(FAILURE_FIGURES, "min_failure_hours", "最小値", "Min (failure)", "時間")
def min_failure_hours(a):
    """The shortest hours inside the month of one failure."""
    return a.min_failure_hours


@_figure(FAILURE_FIGURES, "mean_device_failure_hours", "1台あたり平均故障時間",
         "Mean failure hours per failed device", "時間")
def mean_device_failure_hours(a):
    """Failure hours ÷ devices failed: per failed device, its failures' hours inside the
    month summed, then the mean over the failed devices."""
    return _ratio(a.failure_hours, a.failed_devices)


@_figure(FAILURE_FIGURES, "max_device_failure_hours", "1台あたり最大故障時間",
         "Max failure hours of one device", "時間")
def max_device_failure_hours(a):
    """The largest failure hours of one device in the month (its failures summed)."""
    return a.max_device_failure_hours


@_figure(FAILURE_FIGURES, "min_device_failure_hours", "1台あたり最小故障時間",
         "Min failure hours of one failed device", "時間")
def min_device_failure_hours(a):
    """The smallest failure hours of one failed device in the month (its failures summed)."""
    return a.min_device_failure_hours


@dataclass
class SummaryRow:
    """One figure of ① or ② with its comparisons and its 13-month trend (oldest first)."""

    figure: FigureDef
    value: float | int | None
    previous: float | int | None
    last_year: float | int | None
    mean_12: float | None
    trend: list

    @staticmethod
    def _diff(a, b):
        return None if a is None or b is None else a - b

    @property
    def diff_previous(self):
        """value(M) − value(M−1)."""
        return self._diff(self.value, self.previous)

    @property
    def diff_last_year(self):
        """value(M) − value(M−12)."""
        return self._diff(self.value, self.last_year)

    @property
    def diff_mean_12(self):
        """value(M) − mean of value(M−12 … M−1), months with data only."""
        return self._diff(self.value, self.mean_12)


def summarize(definitions: list[FigureDef], aggregates: list[MonthAggregate]) -> list[SummaryRow]:
    """``aggregates`` are the 13 months M−12 … M, oldest first."""
    rows = []
    for figure in definitions:
        trend = [figure.compute(a) for a in aggregates]
        before = [v for v in trend[:-1] if v is not None]
        rows.append(SummaryRow(
            figure=figure,
            value=trend[-1],
            previous=trend[-2] if len(trend) > 1 else None,
            last_year=trend[0] if len(trend) == 13 else None,
            mean_12=sum(before) / len(before) if before else None,
            trend=trend,
        ))
    return rows


# The Japanese definitions of docs/figures.md, for the "数値の定義" sheet of the analysis
# workbook (its cover points there, not to a file of the repository).
COMMON_JA = [
    ("対象月 M", "M月1日 0:00 から翌月1日 0:00 まで。"),
    ("H", "その月の日数 × 24（31日の月は744時間）。"),
    ("M の対象機器", "M に有効な台帳（M 以前で最も新しい月の台帳）に載り、納入日が M の末日以前、"
                   "廃棄日が M の1日以降（空欄は該当）、集計対象がオンの機器。"),
    ("M の中の時間", "貸出・故障の開始から終了までのうち、M に入る時間。終了が不明なものは、最後に"
                   "「未返却・未修理」として載ったファイルの月末まで数えます。"),
    ("比較", "前月差 = 値(M) − 値(M−1)、前年同月差 = 値(M) − 値(M−12)、過去12か月平均との差 = 値(M) − "
           "(M−12 … M−1 のデータのある月の値の平均)。割合の差はポイント(pt)。"),
]
DEFINITIONS_JA = {
    "lending": {
        "devices": "対象機器の台数",
        "lent_devices": "M に貸出が1件以上ある機器の台数",
        "lending_ratio": "貸出台数 ÷ 機器台数",
        "lendings": "M と重なる貸出の件数",
        "lending_hours": "各貸出の M の中の時間の合計",
        "mean_lending_hours": "合計貸出時間 ÷ 貸出回数",
        "hours_per_lent_device": "合計貸出時間 ÷ 貸出台数（貸し出された機器1台あたりの平均貸出時間）",
        "utilization": "合計貸出時間 ÷ (機器台数 × H)",
        "max_device_hours": "1台の機器の M の貸出時間の合計の最大",
    },
    "failure": {
        "devices": "①と同じ",
        "failed_devices": "M に故障が1件以上ある機器の台数",
        "failed_device_ratio": "故障台数 ÷ 機器台数（故障率は停止時間の割合）",
        "failures": "M と重なる故障の件数",
        "failure_hours": "各故障の M の中の時間の合計",
        "mean_failure_hours": "合計故障時間 ÷ 故障回数",
        "failure_rate": "合計故障時間 ÷ (機器台数 × H)。停止時間の割合で、故障台数 ÷ 機器台数ではありません",
        "max_failure_hours": "1件の故障の M の中の時間の最大",
        "min_failure_hours": "1件の故障の M の中の時間の最小",
        "mean_device_failure_hours":
            "合計故障時間 ÷ 故障台数（機器ごとに M の中の故障時間を合計し、故障した機器で平均）",
        "max_device_failure_hours": "機器ごとの M の故障時間の合計の最大",
        "min_device_failure_hours": "故障した機器ごとの M の故障時間の合計の最小",
    },
}
SECTIONS_JA = [
    ("③残耐用年数", "M の末日から使用期限までの満年数（1年未満、1年、…、9年、10年以上）ごとの機器台数と"
                "その機器の M の合計貸出時間。使用期限が M の末日より前の機器は「期限切れ」、使用期限のない機器は"
                "「使用期限なし」。"),
    ("④更新対象機種", "機種（メーカー＋型番）ごとの機器台数、残耐用年数1年以内（期限切れを含む）の台数とその割合。"
                  "割合の高い順、同率は台数の多い順。"),
    ("⑤貸出時間上位機種", "機種ごとの 月間総貸出時間 ÷ 月間総貸出回数 の上位3機種（同値は貸出回数の多い順）と、"
                     "利用部署ごとの貸出回数の割合。"),
    ("⑥稼働率ランキング", "レポートの分類レベルのすべての分類を M の稼働率の高い順に並べたもの"
                     "（同率は機器台数の多い順、"
                     "分類のない機器は最後に「（未分類）」）。前月順位・前年同月順位つき。データのない月は「—」。"),
    ("データ品質", "返却日・修理日が不明な貸出・故障、月の時間を超える貸出の機器、90日を超える貸出を元の行つきで"
               "示します。これらも数値には含めたままです。"),
]
