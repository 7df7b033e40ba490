"""Events across files and ledgers over time (DESIGN.md §5, docs/figures.md): fourteen months of
real-shaped exports in all three windows, and two ledgers, go through the real pipeline, and
EVERY figure the analysis report shows — ① and ② of every month (value, previous month, same
month last year, 12-month mean), for all devices and each report classification; ③ remaining
life; ④ models near the end of life; ⑤ top models by hours per lending with their
departments; ⑥ the ranking with its previous and last-year ranks; the failure list; the
no-activity list; the data-quality counts and rows — equals an independent calculation in
plain Python over the true events and devices (bench/generate_exports.py ``history``).

The independent side never uses the app's SQL or app code: it is written from the
definitions of DESIGN.md §5 and docs/figures.md. It replays what each file says with the
rules of "Events across files" into a dict of known events, applies "Ledgers over time"
(the ledger in force, before the first ledger month the first one, delivery, disposal,
the counts flag) to the ledgers uploaded so far, and computes the figures from them with
datetime arithmetic.

Manufacturer figures pool at least K = 3 hospitals; they are checked in
tests/test_manufacturers.py, not here (one hospital).
"""
from __future__ import annotations

import datetime as dt
import math
import os
import sys
from collections import defaultdict

from sqlalchemy import update

from app.extensions import db
from app.models import Equipment, Organization
from app.services.ingest.pipeline import run_ingest
from app.services.reports.data_quality import data_quality
from app.services.reports.figures import compute_figures
from app.services.reports.lists import failure_rows, no_activity_rows

from .ingest_helpers import hospital_id, make_upload

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench"))
import generate_exports  # noqa: E402  (bench/ is not a package)

FILE_TYPES = {"ledger": 1, "lending": 2, "failure": 3}
ALL = "全機器"
RANK_COUNT = 3  # automatic selection: the 3 classes with the most devices in the month
UNKNOWN_DEPARTMENT = "（不明）"


# ---------------------------------------------------------------- the independent side: months


def add_months(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def month_range(month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    nxt = add_months(month, 1)
    return dt.datetime(month.year, month.month, 1), dt.datetime(nxt.year, nxt.month, 1)


def last_day(month: dt.date) -> dt.date:
    return add_months(month, 1) - dt.timedelta(days=1)


def plus_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


# ---------------------------------------------------------------- the independent side: state


class Known:
    """What the files uploaded so far say: per (kind, device, start) the known end (the later
    file wins, a blank never erases one) or the end of the last month that listed the event
    as open; a re-upload of month M drops the events starting in M it no longer lists.
    The ledgers uploaded so far, and the months with data (a succeeded upload)."""

    def __init__(self, counts_off=()):
        self.events: dict[tuple, dict] = {}
        self.ledgers: dict[dt.date, list] = {}  # ledger month → Device list
        self.device: dict[str, object] = {}  # device number → its values (the newest ledger listing it)
        self.with_data: set[dt.date] = set()
        self.counts_off = set(counts_off)
        self._cache: dict = {}  # derived values of the current state (cleared by apply)

    def apply(self, f) -> None:
        self._cache.clear()
        self.with_data.add(f.month)
        if isinstance(f, generate_exports.LedgerFile):
            self.ledgers[f.month] = list(f.devices)
            for month in sorted(self.ledgers):
                for d in self.ledgers[month]:
                    self.device[d.number] = d
            return
        month_start, month_end = month_range(f.month)
        listed = set()
        for device, start, end, text in f.listed:
            key = (f.kind, device, start)
            listed.add(key)
            event = self.events.setdefault(key, {"end": None, "open_until": None, "text": None})
            if end is not None:
                event["end"] = end
            else:
                event["open_until"] = max(filter(None, [event["open_until"], month_end]))
            if text:
                event["text"] = text
        for key in [k for k in self.events if k[0] == f.kind and month_start <= k[2] < month_end]:
            if key not in listed:
                del self.events[key]

    # -- ledgers over time

    def devices_in(self, month: dt.date, counted: bool = True) -> set[str]:
        """Device in M: the ledger in force lists it (the latest ledger month ≤ M; before the
        first one, the first), delivered by M's last day, not disposed before M's 1st, and
        (``counted``) its counts flag on."""
        key = ("devices", month, counted)
        if key not in self._cache:
            self._cache[key] = self._devices_in(month, counted)
        return self._cache[key]

    def _devices_in(self, month: dt.date, counted: bool) -> set[str]:
        earlier = [m for m in self.ledgers if m <= month]
        in_force = max(earlier) if earlier else min(self.ledgers)
        found = set()
        for listed in self.ledgers[in_force]:
            d = self.device[listed.number]
            if d.delivered is not None and d.delivered > last_day(month):
                continue
            if d.disposed is not None and d.disposed < month:
                continue
            if counted and d.number in self.counts_off:
                continue
            found.add(d.number)
        return found

    # -- events

    def intervals(self, kind):
        """(device, start, the end it counts to or None, known end, text) of every known event."""
        return [(device, start, e["end"] or e["open_until"], e["end"], e["text"])
                for (k, device, start), e in self.events.items() if k == kind]

    def inside(self, kind, month):
        """(device, start, hours inside M, text, counted-to end) of the events overlapping M."""
        key = ("inside", kind, month)
        if key not in self._cache:
            self._cache[key] = self._inside(kind, month)
        return self._cache[key]

    def _inside(self, kind, month):
        rows = []
        for device, start, end, _known, text in self.intervals(kind):
            hours = hours_inside(start, end, month)
            if hours is not None:
                rows.append((device, start, hours, text, end))
        return rows


def hours_inside(start, end, month):
    month_start, month_end = month_range(month)
    if end is None or not (start < month_end and end > month_start and end >= start):
        return None
    return (min(end, month_end) - max(start, month_start)).total_seconds() / 3600


def ratio(a, b):
    return None if not b else a / b


# ---------------------------------------------------------------- the independent side: figures


def month_values(known: Known, month: dt.date, members: set[str]) -> dict | None:
    """① and ② of the devices ``members`` ∩ devices in M; None for a month without data."""
    if month not in known.with_data:
        return None
    H = (month_range(month)[1] - month_range(month)[0]).days * 24
    devices = known.devices_in(month) & members
    n = len(devices)
    lend = [(d, h) for d, _s, h, _t, _e in known.inside("lending", month) if d in devices]
    fail = [(d, h) for d, _s, h, _t, _e in known.inside("failure", month) if d in devices]
    lent_by_device, failed_by_device = defaultdict(float), defaultdict(float)
    for d, h in lend:
        lent_by_device[d] += h
    for d, h in fail:
        failed_by_device[d] += h
    lent_hours, fail_hours = sum(h for _d, h in lend), sum(h for _d, h in fail)
    return {
        "devices": n, "lent_devices": len(lent_by_device), "lending_ratio": ratio(len(lent_by_device), n),
        "lendings": len(lend), "lending_hours": lent_hours, "mean_lending_hours": ratio(lent_hours, len(lend)),
        "hours_per_lent_device": ratio(lent_hours, len(lent_by_device)),
        "utilization": ratio(lent_hours, n * H), "max_device_hours": max(lent_by_device.values(), default=None),
        "failed_devices": len(failed_by_device), "failed_device_ratio": ratio(len(failed_by_device), n),
        "failures": len(fail), "failure_hours": fail_hours, "mean_failure_hours": ratio(fail_hours, len(fail)),
        "failure_rate": ratio(fail_hours, n * H),
        "max_failure_hours": max((h for _d, h in fail), default=None),
        "min_failure_hours": min((h for _d, h in fail), default=None),
        "mean_device_failure_hours": ratio(fail_hours, len(failed_by_device)),
        "max_device_failure_hours": max(failed_by_device.values(), default=None),
        "min_device_failure_hours": min(failed_by_device.values(), default=None),
    }


def summary(known: Known, month: dt.date, members: set[str]) -> dict:
    """{figure: (value, previous, last year, mean of the 12 months before)} for M."""
    trend = [month_values(known, add_months(month, i), members) for i in range(-12, 1)]
    keys = next((t for t in trend if t is not None), None) or month_values_keys()
    result = {}
    for key in keys:
        values = [None if t is None else t[key] for t in trend]
        before = [v for v in values[:-1] if v is not None]
        result[key] = (values[-1], values[-2], values[0], sum(before) / len(before) if before else None)
    return result


def month_values_keys():
    return ["devices", "lent_devices", "lending_ratio", "lendings", "lending_hours", "mean_lending_hours",
            "hours_per_lent_device", "utilization", "max_device_hours", "failed_devices", "failed_device_ratio",
            "failures", "failure_hours", "mean_failure_hours", "failure_rate", "max_failure_hours",
            "min_failure_hours", "mean_device_failure_hours", "max_device_failure_hours", "min_device_failure_hours"]


def ranking(known: Known, month: dt.date, classes: dict) -> list[tuple]:
    """⑥: (class, devices, lending hours, utilization) of every class with devices in M, by
    utilization, ties: more devices first (then the name)."""
    H = (month_range(month)[1] - month_range(month)[0]).days * 24
    devices = known.devices_in(month)
    hours = defaultdict(float)
    for d, _s, h, _t, _e in known.inside("lending", month):
        if d in devices:
            hours[classes[d]] += h
    count = defaultdict(int)
    for d in devices:
        count[classes[d]] += 1
    rows = [(c, n, hours[c], hours[c] / (n * H)) for c, n in count.items()]
    return sorted(rows, key=lambda r: (-r[3], -r[1], r[0]))


def life_bucket(expires, reference):
    if expires is None:
        return "unknown"
    if expires < reference:
        return "expired"
    for years in range(10):
        if expires < plus_years(reference, years + 1):
            return str(years)
    return "10+"


def sections(known: Known, month: dt.date, members: set[str]) -> dict:
    """③, ④ and ⑤ of the devices ``members`` ∩ devices in M (counted)."""
    devices = known.devices_in(month) & members
    reference = last_day(month)
    lend = [(d, h, t) for d, _s, h, t, _e in known.inside("lending", month) if d in devices]
    life = defaultdict(lambda: [0, 0.0])
    for d in devices:
        life[life_bucket(known.device[d].expires, reference)][0] += 1
    for d, h, _t in lend:
        life[life_bucket(known.device[d].expires, reference)][1] += h
    near = {}
    for d in devices:
        v = known.device[d]
        m = near.setdefault((v.maker, v.model), [0, 0])
        m[0] += 1
        m[1] += v.expires is not None and v.expires <= plus_years(reference, 1)
    near_end = sorted(((maker, model, n, k, k / n) for (maker, model), (n, k) in near.items()),
                      key=lambda r: (-r[4], -r[2], r[0], r[1]))
    models = {}
    for d, h, text in lend:
        v = known.device[d]
        m = models.setdefault((v.maker, v.model), {"lendings": 0, "hours": 0.0, "departments": defaultdict(int)})
        m["lendings"] += 1
        m["hours"] += h
        m["departments"][text or v.department or UNKNOWN_DEPARTMENT] += 1
    top = sorted(((maker, model, m["lendings"], m["hours"], m["hours"] / m["lendings"],
                   sorted(((dep, n, n / m["lendings"]) for dep, n in m["departments"].items()),
                          key=lambda x: (-x[1], x[0])))
                  for (maker, model), m in models.items()), key=lambda r: (-r[4], -r[2], r[0], r[1]))[:3]
    return {"life": {k: tuple(v) for k, v in life.items()}, "near_end": near_end, "top_models": top}


def lists(known: Known, month: dt.date) -> dict:
    """The failure list, the no-activity list and the data-quality rows of M."""
    H = (month_range(month)[1] - month_range(month)[0]).days * 24
    month_start, month_end = month_range(month)
    lent = {d for d, *_rest in known.inside("lending", month)}
    of_month = known.devices_in(month, counted=False)
    per_device = defaultdict(float)
    for d, _s, h, _t, _e in known.inside("lending", month):
        per_device[d] += h
    unknown = []
    for kind in ("lending", "failure"):
        for (k, device, start), e in known.events.items():
            if k == kind and e["end"] is None and start < month_end and (
                    e["open_until"] is None or e["open_until"] <= month_start):
                unknown.append((kind, device, start, add_months(e["open_until"].date(), -1)))
    return {
        "failures": sorted((d, s, h) for d, s, h, _t, _e in known.inside("failure", month)),
        "no_activity": sorted((d, "○" if d not in known.counts_off else "×") for d in of_month - lent),
        "unknown_end": sorted(unknown),
        "over_booked": sorted((d, h) for d, h in per_device.items() if h > H + 1e-9),
        "long_lendings": sorted((d, s) for d, s, _h, _t, end in known.inside("lending", month)
                                if (end - s).total_seconds() > 90 * 86400),
    }


def truth(known: Known, month: dt.date, classes: dict) -> dict:
    """Everything the report of M shows, computed over the known state."""
    counts = defaultdict(int)
    for d in known.devices_in(month):
        counts[classes[d]] += 1
    chosen = sorted(counts, key=lambda c: (-counts[c], c))[:RANK_COUNT]
    scopes = {ALL: set(classes)} | {c: {d for d, k in classes.items() if k == c} for c in chosen}
    rank = ranking(known, month, classes)
    earlier = {}
    for key, back in (("previous_rank", -1), ("last_year_rank", -12)):
        other = add_months(month, back)
        ranks = ({r[0]: i for i, r in enumerate(ranking(known, other, classes), 1)}
                 if other in known.with_data else {})
        earlier[key] = [ranks.get(r[0]) for r in rank]
    return {
        "scopes": {name: summary(known, month, members) for name, members in scopes.items()},
        "sections": {name: sections(known, month, members) for name, members in scopes.items()},
        "ranking": rank, "earlier_ranks": earlier, "lists": lists(known, month),
    }


# ---------------------------------------------------------------- the app side


def app_side(hospital: int, month: dt.date, full: bool) -> dict:
    f = compute_figures(hospital, month)
    scopes, parts = {}, {}
    for part in f.scopes:
        name = ALL if part.scope.key == "all" else part.scope.name
        scopes[name] = {r.figure.key: (r.value, r.previous, r.last_year, r.mean_12)
                        for r in [*part.lending, *part.failure]}
        # ① and ② both carry 機器台数 under the key "devices": they are the same figure.
        parts[name] = {
            "life": {r["bucket"]: (r["devices"], r["lending_hours"]) for r in part.life
                     if r["devices"] or r["lending_hours"]},
            "near_end": [(m["maker"], m["model"], m["devices"], m["near_end"], m["share"]) for m in part.models_near_end],
            "top_models": [(m["maker"], m["model"], m["lendings"], m["hours"], m["hours_per_lending"],
                            [(d["department"], d["lendings"], d["share"]) for d in m["departments"]])
                           for m in part.top_models],
        }
    result = {
        "scopes": scopes, "sections": parts,
        "ranking": [(r["name"], r["devices"], r["lending_hours"], r["utilization"]) for r in f.ranking],
        "earlier_ranks": {key: [r[key] for r in f.ranking] for key in ("previous_rank", "last_year_rank")},
    }
    if full:
        q = data_quality(hospital, month)
        result["lists"] = {
            "failures": sorted((r[0], r[6], r[8]) for r in failure_rows(hospital, month)),
            "no_activity": sorted((r[0], r[-1]) for r in no_activity_rows(hospital, month)),
            "unknown_end": sorted((u.kind, u.device_number, u.start, u.last_listed) for u in q.unknown_end),
            "over_booked": sorted((o.device_number, o.hours) for o in q.over_booked),
            "long_lendings": sorted((x.device_number, x.start) for x in q.long_lendings),
        }
    return result


# ---------------------------------------------------------------- comparing


def same(a, b) -> bool:
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


class Tally:
    def __init__(self):
        self.counts = defaultdict(lambda: [0, 0])  # section → [compared, equal]
        self.mismatches: list = []
        self.checkpoints = 0

    def check(self, section, where, got, expected) -> None:
        self.counts[section][0] += 1
        if same(got, expected):
            self.counts[section][1] += 1
        else:
            self.mismatches.append((section, *where, got, expected))

    def compare(self, app: dict, expected: dict, month) -> None:
        assert set(app["scopes"]) == set(expected["scopes"]), (month, set(app["scopes"]), set(expected["scopes"]))
        for scope, figures in expected["scopes"].items():
            assert set(app["scopes"][scope]) == set(figures), (month, scope)
            for key, values in figures.items():
                for label, got, want in zip(("value", "previous", "last_year", "mean_12"),
                                            app["scopes"][scope][key], values):
                    self.check("①②" if label == "value" else "①② comparisons", (month, scope, key, label), got, want)
        for scope, parts in expected["sections"].items():
            got = app["sections"][scope]
            self.check("③", (month, scope), got["life"], parts["life"])
            self.check("④", (month, scope), got["near_end"], parts["near_end"])
            self.check("⑤", (month, scope), got["top_models"], parts["top_models"])
        self.check("⑥", (month,), app["ranking"], expected["ranking"])
        self.check("⑥ earlier ranks", (month,), app["earlier_ranks"], expected["earlier_ranks"])
        for name, rows in app.get("lists", {}).items():
            self.check(name, (month,), rows, expected["lists"][name])

    def line(self) -> str:
        return "; ".join(f"{k} {v[1]}/{v[0]}" for k, v in self.counts.items())


def upload_history(history, hospital, on_checkpoint=None):
    """Upload every file of ``history`` through the real pipeline; ``on_checkpoint(known,
    f)`` after each month's failure file (a month's pair is in)."""
    known = Known(history.counts_off)
    for f in history.files:
        kind = "ledger" if isinstance(f, generate_exports.LedgerFile) else f.kind
        ext = "xlsx" if getattr(f, "fmt", "csv") == "xlsx" else "csv"
        outcome = run_ingest(make_upload(f.data, FILE_TYPES[kind], ext, month=f.month))
        assert outcome.status == "succeeded", (f.month, kind, outcome.message)
        if kind == "ledger":
            assert outcome.rows_imported == len(f.devices)
            if not known.ledgers:  # the hospital excludes a device from aggregation (screen 5)
                db.session.execute(update(Equipment).where(
                    Equipment.hospital_id == hospital, Equipment.device_number.in_(history.counts_off))
                    .values(override_counts=False))
                db.session.commit()
        else:
            assert outcome.rows_imported == len(f.listed)
        known.apply(f)
        if kind == "failure" and on_checkpoint:
            on_checkpoint(known, f)
    return known


def setup_hospital() -> int:
    hospital = hospital_id()
    h = db.session.get(Organization, hospital)
    h.analysis_level, h.report_rank_count = 1, RANK_COUNT
    db.session.commit()
    return hospital


def test_fourteen_months_of_exports_in_three_windows_equal_the_truth(ctx):
    history = generate_exports.history()
    assert len(history.months) >= 12
    hospital = setup_hospital()
    tally = Tally()
    windows = set()

    def checkpoint(known, f):
        # The month just in, while its blank returns still count to its end (the next
        # file fills them in: the earlier months are compared again after the last file).
        tally.checkpoints += 1
        windows.add(f.window)
        tally.compare(app_side(hospital, f.month, True), truth(known, f.month, history.devices), f.month)

    known = upload_history(history, hospital, checkpoint)
    for month in history.months:  # the final state, everything, every month
        tally.compare(app_side(hospital, month, True), truth(known, month, history.devices), month)
    assert windows == {generate_exports.OVERLAP, generate_exports.STARTED, generate_exports.WHOLE}

    # After the whole-history re-export the files say exactly the truth as of its export:
    # ends up to then are known, later ones run to the end of the last month.
    last = history.files[-1]
    horizon, last_end = last.exported_at, month_range(last.month)[1]
    true_ends = {(e.kind, e.device, e.start): (e.end if e.end <= horizon else None)
                 for e in history.events if e.start <= horizon}
    assert {k: v["end"] for k, v in known.events.items()} == true_ends
    assert all(v["open_until"] == last_end for v in known.events.values() if v["end"] is None)

    if tally.mismatches:
        print("mismatches by section:", {s: sum(1 for m in tally.mismatches if m[0] == s) for s in tally.counts})
    print(f"\nevents across files, {len(history.months)} months, {tally.checkpoints} checkpoints: {tally.line()}")
    assert not tally.mismatches, tally.mismatches[:10]
    assert tally.counts["①②"][0] > 2000 and tally.counts["①② comparisons"][0] > 6000 and tally.counts["⑤"][0] > 100
    assert all(compared == equal for compared, equal in tally.counts.values())


def test_final_state_equals_the_truth_directly(ctx):
    """Another seed; after the last file, every month against the true events and the
    ledgers themselves (no replay of the files): each event's true end if the last export
    knew it, else the end of the last month."""
    history = generate_exports.history(seed=11)
    hospital = setup_hospital()
    upload_history(history, hospital)
    last = history.files[-1]
    horizon, last_end = last.exported_at, month_range(last.month)[1]
    direct = Known(history.counts_off)
    for f in history.ledgers:
        direct.apply(f)
    direct.with_data = set(history.months) | {f.month for f in history.ledgers}
    for e in history.events:
        if e.start <= horizon:
            direct.events[(e.kind, e.device, e.start)] = {
                "end": e.end if e.end <= horizon else None,
                "open_until": None if e.end <= horizon else last_end, "text": e.text or None}
    direct._cache.clear()
    tally = Tally()
    for month in history.months:
        tally.compare(app_side(hospital, month, True), truth(direct, month, history.devices), month)
    print(f"\nfinal state vs truth: {tally.line()}")
    assert not tally.mismatches, tally.mismatches[:10]
    assert tally.counts["①②"][1] == tally.counts["①②"][0] > 1000
