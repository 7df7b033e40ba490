"""Benchmark of the monthly report: figures, workbook with charts, lists, and a batch.

Builds hospitals of 5,000 devices (3 classification levels, 150 models) with 13 months of
lending (~6,400 a month, like the owner's 4,809-device hospital) and failure (~110 a month)
history, then times one hospital-month step by step and the batch of all hospitals with 2
worker processes. Target: ≤ 3 s per hospital-month.

    /tmp/venv/bin/python bench/report.py                    # SQLite in a temporary folder
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_reports /tmp/venv/bin/python bench/report.py
"""
from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import random
import time

import _harness
from _harness import timed

_harness.prepare(files=True)

MONTH = dt.date(2025, 5, 1)
DEVICES = 5000


def make_app():
    return _harness.make_app()


def build(hospitals: int, seed: int = 7) -> list[int]:
    from sqlalchemy import insert

    from app.core.months import add_months
    from app.extensions import db
    from app.models import Failure, Lending, Organization
    from app.services.ledger.device_months import list_devices

    rng = random.Random(seed)
    _harness.create_schema(drop=True)
    months = [add_months(MONTH, i - 12) for i in range(13)]
    ids = []
    for n in range(hospitals):
        h = Organization(kind="hospital", code=f"B{n:04d}", name=f"ベンチ病院{n + 1}", report_rank_count=5,
                         analysis_level=2, notification_emails="")
        db.session.add(h)
        db.session.flush()
        leaves = _harness.add_classification_tree(db.session, h.id)
        eq = _harness.add_devices(db.session, rng, h.id, leaves, DEVICES, models=150, makers=20)
        list_devices(db.session, h.id, months[0], eq)  # one ledger, in force for the 13 months
        lendings, failures = [], []
        for m in months:
            start = dt.datetime(m.year, m.month, 1)
            month_end = dt.datetime.combine(add_months(m, 1), dt.time())
            span = (month_end - start).total_seconds()
            for _ in range(6400):
                lent = start + dt.timedelta(seconds=rng.random() * span)
                end = None if rng.random() < 0.01 else lent + dt.timedelta(hours=rng.expovariate(1 / 400))
                # An open one was listed open by its month's file: it counts to that month's end.
                lendings.append(dict(hospital_id=h.id, equipment_id=rng.choice(eq), month=m, lent_at=lent,
                                     returned_at=end, open_until=None if end else month_end,
                                     department=f"病棟{rng.randrange(30)}"))
            for _ in range(110):
                failed = start + dt.timedelta(seconds=rng.random() * span)
                end = None if rng.random() < 0.05 else failed + dt.timedelta(hours=rng.expovariate(1 / 500))
                failures.append(dict(hospital_id=h.id, equipment_id=rng.choice(eq), month=m, failed_at=failed,
                                     repaired_at=end, open_until=None if end else month_end, description="動作不良"))
        db.session.execute(insert(Lending), lendings)
        db.session.execute(insert(Failure), failures)
        db.session.commit()
        ids.append(h.id)
    from app.services.reports import refresh_statistics

    refresh_statistics()  # as the upload trigger and the monthly command do
    return ids


def one_hospital(hospital_id: int) -> dict:
    from app.services.reports.figures import compute_figures
    from app.services.reports.lists import build_failure_list, build_no_activity_list
    from app.services.reports.service import generate_reports, publish_month
    from app.services.reports.workbook import build_analysis_workbook

    results: dict = {}
    figures = timed("figures (SQL)", lambda: compute_figures(hospital_id, MONTH), results)
    cache: dict = {}
    timed("analysis workbook incl. charts", lambda: build_analysis_workbook(figures, chart_cache=cache), results)
    results["dashboard PNGs, 2 per scope (matplotlib)"] = _chart_time(figures)
    timed("failure list", lambda: build_failure_list(hospital_id, MONTH), results)
    timed("no-activity list", lambda: build_no_activity_list(hospital_id, MONTH), results)
    timed("generate_reports (all 3, stored)",
          lambda: generate_reports(hospital_id, MONTH, notify=False, force=True), results)
    # What the revision check costs per published month when nothing changed.
    timed("revision check of the month (unchanged)", lambda: publish_month(hospital_id, MONTH, notify=False), results)
    lend = {r.figure.key: r.value for r in figures.scope("all").lending}
    fail = {r.figure.key: r.value for r in figures.scope("all").failure}
    results["_facts"] = (f"{lend['devices']:,} devices, {lend['lendings']:,} lendings, {lend['lending_hours']:,.0f} h, "
                         f"utilization {lend['utilization']:.2%}; {fail['failures']} failures, "
                         f"failure rate {fail['failure_rate']:.2%}; scopes {len(figures.scopes)}")
    return results


def _chart_time(figures) -> float:
    from app.services.reports import charts

    start = time.perf_counter()
    for part in figures.scopes:
        charts.lending_trend(part.scope.name, figures.months, part.lending)
        charts.failure_trend(part.scope.name, figures.months, part.failure)
    return time.perf_counter() - start


def _worker(hospital_id: int) -> float:
    app = _worker.app
    with app.app_context():
        from app.services.reports.service import generate_reports

        start = time.perf_counter()
        generate_reports(hospital_id, MONTH, notify=False, force=True)  # a full build even if published
        return time.perf_counter() - start


def _init_worker():
    from app.extensions import db

    _worker.app = make_app()
    with _worker.app.app_context():
        db.engine.dispose(close=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hospitals", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-build", action="store_true",
                        help="reuse the hospitals already in DATABASE_URL (codes B0000…)")
    args = parser.parse_args()
    app = make_app()
    with app.app_context():
        start = time.perf_counter()
        print(f"database: {os.environ['DATABASE_URL'].split('@')[-1]}")
        if args.skip_build:
            from app.extensions import db
            from app.models import Organization
            from app.services.reports import refresh_statistics

            ids = [i for (i,) in db.session.query(Organization.id).filter(Organization.code.like("B%"))
                   .order_by(Organization.code).limit(args.hospitals)]
            refresh_statistics()
        else:
            ids = build(args.hospitals)
            print(f"built {args.hospitals} hospitals × {DEVICES:,} devices, 13 months: "
                  f"{time.perf_counter() - start:.1f} s")
        first = one_hospital(ids[0])
        print(f"one hospital-month ({MONTH:%Y-%m}): {first.pop('_facts')}")
        for label, seconds in first.items():
            print(f"  {label:<36} {seconds:6.2f} s")
    start = time.perf_counter()
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(args.workers, initializer=_init_worker) as pool:
        each = pool.map(_worker, ids)
    wall = time.perf_counter() - start
    print(f"batch: {len(ids)} hospitals, {args.workers} workers: {wall:.1f} s wall, "
          f"{wall * args.workers / len(ids):.2f} s per hospital-month per worker "
          f"(job times: mean {sum(each) / len(each):.2f} s, max {max(each):.2f} s)")


if __name__ == "__main__":
    main()
