"""Every figure of ① and ②, and the sections ③–⑥, against values computed by hand from
the data set described in tests/report_data.py (month 2025-05: H = 744; April: 720)."""
from __future__ import annotations

from pathlib import Path

import pytest

from app.extensions import db
from app.models import ReportSelection
from app.services.reports.definitions import FAILURE_FIGURES, LENDING_FIGURES
from app.services.reports.figures import compute_figures

from .report_data import MONTH, make_dataset

approx = pytest.approx


def rows(summary):
    return {r.figure.key: r for r in summary}


@pytest.fixture()
def figures(ctx):
    data = make_dataset()
    return data, compute_figures(data["hospital"], MONTH)


def test_lending_summary_all_devices(figures):
    _, f = figures
    assert f.hours_in_month == 744 and f.level == 1 and f.automatic
    lend = rows(f.scope("all").lending)
    # D1..D4 count; D5 is excluded by its override.
    assert lend["devices"].value == 4
    assert lend["lent_devices"].value == 3  # D1, D2, D3
    assert lend["lending_ratio"].value == approx(3 / 4)
    assert lend["lendings"].value == 4  # L1 (crossing in), L2, L3 (crossing out), L4 (open)
    assert lend["lending_hours"].value == approx(24 + 12 + 6 + 288)
    assert lend["mean_lending_hours"].value == approx(330 / 4)
    assert lend["utilization"].value == approx(330 / (4 * 744))
    assert lend["max_device_hours"].value == approx(288)  # D3's open lending


def test_lending_comparisons_and_trend(figures):
    _, f = figures
    lend = rows(f.scope("all").lending)
    # April: L0 24 h (D2) + L1 12 h (D1); 2024-05: LY 48 h (D1); no other month has data.
    hours = lend["lending_hours"]
    assert hours.previous == approx(36)
    assert hours.diff_previous == approx(330 - 36)
    assert hours.last_year == approx(48)
    assert hours.diff_last_year == approx(330 - 48)
    assert hours.mean_12 == approx((36 + 48) / 2)
    assert hours.diff_mean_12 == approx(330 - 42)
    assert lend["lendings"].diff_previous == 2 and lend["lendings"].mean_12 == approx(1.5)
    assert lend["utilization"].previous == approx(36 / (4 * 720))
    assert lend["lent_devices"].last_year == 1
    assert lend["max_device_hours"].previous == approx(24)
    assert len(hours.trend) == 13
    assert hours.trend[0] == approx(48) and hours.trend[11] == approx(36) and hours.trend[12] == approx(330)
    assert hours.trend[1:11] == [None] * 10  # months without data


def test_failure_summary_all_devices(figures):
    _, f = figures
    fail = rows(f.scope("all").failure)
    assert fail["devices"].value == 4
    assert fail["failed_devices"].value == 2  # D1 (F2 crossing in), D2 (F1, F3)
    assert fail["failures"].value == 3
    assert fail["failure_hours"].value == approx(48 + 6 + 48)
    assert fail["mean_failure_hours"].value == approx(102 / 3)
    assert fail["failure_rate"].value == approx(102 / (4 * 744))
    assert fail["max_failure_hours"].value == approx(48)
    assert fail["min_failure_hours"].value == approx(6)
    # April: F2 48 h inside April; 2024-05: data, no failure.
    assert fail["failure_hours"].previous == approx(48)
    assert fail["failure_rate"].previous == approx(48 / (4 * 720))
    assert fail["failure_rate"].last_year == 0
    assert fail["failure_rate"].mean_12 == approx((0 + 48 / 2880) / 2)
    assert fail["mean_failure_hours"].last_year is None  # no failure: undefined
    assert fail["mean_failure_hours"].mean_12 == approx(48)
    assert fail["mean_failure_hours"].diff_mean_12 == approx(34 - 48)
    assert fail["min_failure_hours"].previous == approx(48)


def test_per_classification_scopes(figures):
    data, f = figures
    assert [s.scope.key for s in f.scopes] == ["all", f"c{data['p1']}", f"c{data['q1']}"]
    pumps = f.scope(f"c{data['p1']}")  # D1 (level 2 → ancestor), D4
    monitors = f.scope(f"c{data['q1']}")  # D2, D3 (override)
    lp, lm = rows(pumps.lending), rows(monitors.lending)
    assert (lp["devices"].value, lp["lent_devices"].value, lp["lendings"].value) == (2, 1, 2)
    assert lp["lending_hours"].value == approx(36) and lp["utilization"].value == approx(36 / 1488)
    assert (lm["devices"].value, lm["lent_devices"].value, lm["lendings"].value) == (2, 2, 2)
    assert lm["mean_lending_hours"].value == approx(147) and lm["max_device_hours"].value == approx(288)
    fp, fm = rows(pumps.failure), rows(monitors.failure)
    assert (fp["failures"].value, fp["failure_hours"].value, fp["min_failure_hours"].value) == (1, approx(6), approx(6))
    assert (fm["failed_devices"].value, fm["failures"].value) == (1, 2)
    assert fm["failure_rate"].value == approx(96 / 1488)


def test_remaining_life_models_top_and_ranking(figures):
    data, f = figures
    everything = f.scope("all")
    life = {row["bucket"]: row for row in everything.life}
    # Reference day 2025-05-31: D1 → <1 year, D2 expired, D3 no expiry, D4 → 5 years.
    assert (life["0"]["devices"], life["0"]["lending_hours"]) == (1, approx(36))
    assert (life["expired"]["devices"], life["expired"]["lending_hours"]) == (1, approx(6))
    assert (life["unknown"]["devices"], life["unknown"]["lending_hours"]) == (1, approx(288))
    assert (life["5"]["devices"], life["5"]["lending_hours"]) == (1, 0)
    assert sum(row["devices"] for row in everything.life) == 4
    models = {m["model"]: m for m in everything.models_near_end}
    assert models["TE-171"]["share"] == 1 and models["BSM-1"]["share"] == 0.5 and models["X-9"]["share"] == 0
    top = everything.top_models
    assert [m["model"] for m in top] == ["BSM-1", "TE-171"]
    assert top[0]["hours_per_lending"] == approx(147) and top[1]["hours_per_lending"] == approx(18)
    assert {d["department"]: d["share"] for d in top[0]["departments"]} == {"ICU": 0.5, "救急外来": 0.5}
    assert [(r["rank"], r["name"]) for r in f.ranking] == [(1, "モニタ"), (2, "輸液ポンプ類")]
    assert f.ranking[0]["utilization"] == approx(294 / 1488)


def test_saved_selection_sets_level_and_order(ctx):
    data = make_dataset()
    db.session.add(ReportSelection(hospital_id=data["hospital"], rank=1, classification_id=data["p2"]))
    db.session.commit()
    f = compute_figures(data["hospital"], MONTH)
    assert f.level == 2 and not f.automatic
    assert [s.scope.name for s in f.scopes] == ["全機器", "輸液ポンプ"]
    pumps = rows(f.scopes[1].lending)
    assert pumps["devices"].value == 1 and pumps["lending_hours"].value == approx(36)  # D1 only


def test_every_figure_is_documented():
    text = (Path(__file__).resolve().parent.parent / "docs" / "figures.md").read_text()
    for figure in LENDING_FIGURES + FAILURE_FIGURES:
        assert figure.ja in text and figure.en in text and figure.doc


def test_lending_hours_per_lent_device(figures):
    data, f = figures
    per_device = rows(f.scope("all").lending)["hours_per_lent_device"]
    # May: 330 h over D1, D2, D3; April: 36 h over D2, D1; 2024-05: 48 h on D1 alone.
    assert per_device.value == approx(330 / 3)
    assert per_device.previous == approx(36 / 2) and per_device.diff_previous == approx(110 - 18)
    assert per_device.last_year == approx(48) and per_device.diff_last_year == approx(110 - 48)
    assert per_device.mean_12 == approx((18 + 48) / 2)
    assert rows(f.scope(f"c{data['q1']}").lending)["hours_per_lent_device"].value == approx(294 / 2)
    assert rows(f.scope(f"c{data['p1']}").lending)["hours_per_lent_device"].value == approx(36)


def test_failed_device_ratio_and_failure_hours_per_failed_device(figures):
    data, f = figures
    fail = rows(f.scope("all").failure)
    # May: D2 fails twice (F1 48 h + F3 48 h = 96 h), D1 once (F2: 6 h inside May).
    assert fail["failed_device_ratio"].value == approx(2 / 4)
    assert fail["failed_device_ratio"].previous == approx(1 / 4)  # April: D1 only
    assert fail["failed_device_ratio"].last_year == 0  # 2024-05: data, no failure
    assert fail["failed_device_ratio"].diff_mean_12 == approx(2 / 4 - (1 / 4 + 0) / 2)
    assert fail["mean_device_failure_hours"].value == approx((96 + 6) / 2)
    assert fail["max_device_failure_hours"].value == approx(96)  # one device's failures summed
    assert fail["max_failure_hours"].value == approx(48)  # …while one failure is at most 48 h
    assert fail["min_device_failure_hours"].value == approx(6)
    # April: D1's F2, 48 h inside April; 2024-05: no failure, so undefined.
    assert fail["mean_device_failure_hours"].previous == approx(48)
    assert fail["max_device_failure_hours"].diff_previous == approx(96 - 48)
    assert fail["min_device_failure_hours"].last_year is None
    assert fail["mean_device_failure_hours"].mean_12 == approx(48)
    monitors = rows(f.scope(f"c{data['q1']}").failure)
    assert monitors["failed_device_ratio"].value == approx(1 / 2)  # D2 of D2, D3
    assert monitors["max_device_failure_hours"].value == approx(96) == monitors["min_device_failure_hours"].value


def test_ranking_shows_previous_and_last_year_ranks(figures):
    _, f = figures
    # April: monitors 24 h / 1440, pumps 12 h / 1440; 2024-05: pumps 48 h, monitors 0.
    ranks = {r["name"]: (r["rank"], r["previous_rank"], r["last_year_rank"]) for r in f.ranking}
    assert ranks == {"モニタ": (1, 1, 2), "輸液ポンプ類": (2, 2, 1)}


def test_earlier_ranks_of_months_without_data_are_empty(ctx):
    data = make_dataset()
    april = compute_figures(data["hospital"], MONTH.replace(month=4))  # 2025-03 and 2024-04: no data
    assert [(r["rank"], r["previous_rank"], r["last_year_rank"]) for r in april.ranking] == [
        (1, None, None), (2, None, None)]
