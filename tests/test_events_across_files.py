"""Events across files (DESIGN.md §5, docs/figures.md): months of real-shaped exports in all
three windows go through the real pipeline, and every ① / ② figure and the ⑥ ranking of
every month, for all devices and each classification, equals an independent calculation
in plain Python over the true events (bench/generate_exports.py ``history``).

The independent side never uses the app's SQL or app code: it replays what each file says
with the rules of DESIGN.md ("Events across files") into a dict of known events, checks
that after the last file (a whole-history re-export) that is exactly the truth as of its
export, and computes the figures from it with datetime arithmetic.
"""
from __future__ import annotations

import datetime as dt
import math
import os
import sys
from collections import defaultdict

from app.extensions import db
from app.models import Organization
from app.services.ingest.pipeline import run_ingest
from app.services.reports.figures import compute_figures

from .ingest_helpers import hospital_id, make_upload

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench"))
import generate_exports  # noqa: E402  (bench/ is not a package)

FILE_TYPES = {"lending": 2, "failure": 3}
ALL = "全機器"


# ---------------------------------------------------------------- the independent side


def month_range(month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    nxt = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return dt.datetime(month.year, month.month, 1), dt.datetime(nxt.year, nxt.month, 1)


class Known:
    """What the files uploaded so far say, per (kind, device, start): the known end (the
    later file wins, a blank never erases one) or the end of the last month that listed the
    event as open; a re-upload of month M drops the events starting in M it no longer lists."""

    def __init__(self):
        self.events: dict[tuple, dict] = {}

    def apply(self, f) -> None:
        month_start, month_end = month_range(f.month)
        listed = set()
        for device, start, end, _text in f.listed:
            key = (f.kind, device, start)
            listed.add(key)
            event = self.events.setdefault(key, {"end": None, "open_until": None})
            if end is not None:
                event["end"] = end
            else:
                event["open_until"] = max(filter(None, [event["open_until"], month_end]))
        for key in [k for k in self.events if k[0] == f.kind and month_start <= k[2] < month_end]:
            if key not in listed:
                del self.events[key]

    def intervals(self, kind):
        """(device, start, the end it counts to or None) of every known event of ``kind``."""
        return [(device, start, e["end"] or e["open_until"])
                for (k, device, start), e in self.events.items() if k == kind]


def hours_inside(start, end, month):
    month_start, month_end = month_range(month)
    if end is None or not (start < month_end and end > month_start and end >= start):
        return None
    return (min(end, month_end) - max(start, month_start)).total_seconds() / 3600


def truth_figures(known: Known, devices: dict, month: dt.date) -> dict:
    """{scope name: {figure key: value}} and the ⑥ ranking for ``month``."""
    H = (month_range(month)[1] - month_range(month)[0]).days * 24
    scopes = {ALL: set(devices)}
    for number, cls in devices.items():
        scopes.setdefault(cls, set()).add(number)
    per_kind = {}
    for kind in ("lending", "failure"):
        rows = []
        for device, start, end in known.intervals(kind):
            hours = hours_inside(start, end, month)
            if hours is not None:
                rows.append((device, hours))
        per_kind[kind] = rows
    result = {}
    for name, members in scopes.items():
        n = len(members)
        lend = [(d, h) for d, h in per_kind["lending"] if d in members]
        fail = [(d, h) for d, h in per_kind["failure"] if d in members]
        by_device = defaultdict(float)
        for d, h in lend:
            by_device[d] += h
        lent_hours = sum(h for _d, h in lend)
        fail_hours = sum(h for _d, h in fail)
        result[name] = {
            "devices": n, "lent_devices": len(by_device), "lending_ratio": len(by_device) / n,
            "lendings": len(lend), "lending_hours": lent_hours,
            "mean_lending_hours": lent_hours / len(lend) if lend else None,
            "utilization": lent_hours / (n * H), "max_device_hours": max(by_device.values(), default=None),
            "failed_devices": len({d for d, _h in fail}), "failures": len(fail), "failure_hours": fail_hours,
            "mean_failure_hours": fail_hours / len(fail) if fail else None,
            "failure_rate": fail_hours / (n * H),
            "max_failure_hours": max((h for _d, h in fail), default=None),
            "min_failure_hours": min((h for _d, h in fail), default=None),
        }
    ranking = sorted(((result[c]["utilization"], result[c]["devices"], c, result[c]["lending_hours"])
                      for c in scopes if c != ALL), key=lambda r: (-r[0], -r[1], r[2]))
    return {"scopes": result, "ranking": [(c, n, h, u) for u, n, c, h in ranking]}


def same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


# ---------------------------------------------------------------- the app side


def app_figures(hospital: int, month: dt.date) -> dict:
    figures = compute_figures(hospital, month)
    scopes = {}
    for part in figures.scopes:
        name = ALL if part.scope.key == "all" else part.scope.name
        scopes[name] = {r.figure.key: r.value for r in [*part.lending, *part.failure]}
        # ① and ② both carry 機器台数 under the key "devices": they are the same figure.
    ranking = [(r["name"], r["devices"], r["lending_hours"], r["utilization"]) for r in figures.ranking]
    return {"scopes": scopes, "ranking": ranking}


def compare(app_side: dict, truth: dict, month, counts: dict, mismatches: list) -> None:
    assert set(app_side["scopes"]) == set(truth["scopes"]), month
    for scope, expected in truth["scopes"].items():
        got = app_side["scopes"][scope]
        for key, value in expected.items():
            assert key in got, f"figure {key} missing"
            counts["figures"] += 1
            if same(got[key], value):
                counts["equal"] += 1
            else:
                mismatches.append((month, scope, key, got[key], value))
        counts["not_compared"] |= set(got) - set(expected)
    assert [r[0] for r in app_side["ranking"]] == [r[0] for r in truth["ranking"]], month
    for got, expected in zip(app_side["ranking"], truth["ranking"]):
        for a, b in zip(got[1:], expected[1:]):
            counts["ranking"] += 1
            if same(a, b):
                counts["ranking_equal"] += 1
            else:
                mismatches.append((month, "⑥", got[0], a, b))


def test_months_of_exports_in_three_windows_equal_the_truth(ctx):
    history = generate_exports.history()
    hospital = hospital_id()
    h = db.session.get(Organization, hospital)
    h.analysis_level, h.report_rank_count = 1, 5
    db.session.commit()
    assert run_ingest(make_upload(history.ledger, 1, month=history.months[0])).status == "succeeded"

    known = Known()
    uploaded: list[dt.date] = []
    counts = {"figures": 0, "equal": 0, "ranking": 0, "ranking_equal": 0, "checkpoints": 0, "not_compared": set()}
    mismatches: list = []
    windows = set()
    for _index, f in enumerate(history.files):
        ext = "xlsx" if f.fmt == "xlsx" else "csv"
        outcome = run_ingest(make_upload(f.data, FILE_TYPES[f.kind], ext, month=f.month))
        assert outcome.status == "succeeded", (f.month, f.kind, outcome.message)
        assert outcome.rows_imported == len(f.listed)
        known.apply(f)
        windows.add(f.window)
        if f.month not in uploaded:
            uploaded.append(f.month)
        if f.kind == "failure":  # a month's pair is in: compare every month uploaded so far
            counts["checkpoints"] += 1
            for month in sorted(uploaded):
                compare(app_figures(hospital, month), truth_figures(known, history.devices, month),
                        month, counts, mismatches)
    assert windows == {generate_exports.OVERLAP, generate_exports.STARTED, generate_exports.WHOLE}

    # After the whole-history re-export the files say exactly the truth as of its export:
    # ends up to then are known, later ones run to the end of the last month (July).
    last = history.files[-1]
    horizon, last_end = last.exported_at, month_range(last.month)[1]
    truth = {(e.kind, e.device, e.start): (e.end if e.end <= horizon else None)
             for e in history.events if e.start <= horizon}
    assert {k: v["end"] for k, v in known.events.items()} == truth
    assert all(v["open_until"] == last_end for v in known.events.values() if v["end"] is None)

    print(f"\nevents across files: {counts['checkpoints']} checkpoints, {counts['figures']} ①/② figures "
          f"compared, {counts['equal']} equal; ⑥ {counts['ranking']} values compared, "
          f"{counts['ranking_equal']} equal; not compared: {sorted(counts['not_compared']) or 'none'}")
    assert not mismatches, mismatches[:10]
    assert counts["figures"] > 1000 and counts["equal"] == counts["figures"]


def test_final_state_equals_the_truth_directly(ctx):
    """The same files; the figures of every month after the last file against the true
    events themselves (no replay): each event's true end if the last export knew it, else
    the end of July."""
    history = generate_exports.history(seed=11)
    hospital = hospital_id()
    h = db.session.get(Organization, hospital)
    h.analysis_level, h.report_rank_count = 1, 5
    db.session.commit()
    run_ingest(make_upload(history.ledger, 1, month=history.months[0]))
    for f in history.files:
        ext = "xlsx" if f.fmt == "xlsx" else "csv"
        outcome = run_ingest(make_upload(f.data, FILE_TYPES[f.kind], ext, month=f.month))
        assert outcome.status == "succeeded", (f.month, f.kind, outcome.message)
    last = history.files[-1]
    horizon, last_end = last.exported_at, month_range(last.month)[1]
    truth = Known()
    for e in history.events:
        if e.start <= horizon:
            truth.events[(e.kind, e.device, e.start)] = {
                "end": e.end if e.end <= horizon else None,
                "open_until": None if e.end <= horizon else last_end}
    counts = {"figures": 0, "equal": 0, "ranking": 0, "ranking_equal": 0, "not_compared": set()}
    mismatches: list = []
    for month in history.months:
        compare(app_figures(hospital, month), truth_figures(truth, history.devices, month), month, counts, mismatches)
    print(f"\nfinal state vs truth: {counts['figures']} ①/② figures compared, {counts['equal']} equal; "
          f"⑥ {counts['ranking']} compared, {counts['ranking_equal']} equal")
    assert not mismatches, mismatches[:10]
    assert counts["equal"] == counts["figures"] > 300
