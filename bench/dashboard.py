"""Benchmark of the dashboard (issue 14): the page complete — its HTML and every request it
makes (the charts draw from the figures embedded in the page; the vendored Chart.js, the
dashboard script and stylesheet) — for a hospital of 15,000 devices with 13 months of data.
Target: ≤ 1 s.

- cold: the month's figures are not stored yet (the first view after a data change whose
  revision job has not run): computed, stored, shown;
- warm: stored figures (what a user normally gets: the report / revision job computes and
  stores the months after every data change).

    .venv/bin/python bench/dashboard.py                    # SQLite in a temporary folder
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_dashboard .venv/bin/python bench/dashboard.py
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import re
import statistics
import time
from pathlib import Path

import _harness

_harness.prepare("optiserve-bench-dashboard-", files=True, OPTISERVE_ENV="test")

MONTH = dt.date(2025, 5, 1)
EMAIL = "bench-dashboard@bench.example"


def make_app():
    return _harness.make_app(test_config=True)


def build(devices: int, seed: int = 7) -> int:
    """One hospital: ``devices`` devices in 60 classifications (3 levels), 13 months of
    lendings (1.28 per device a month, as the owner's 4,809-device hospital) and failures."""
    from sqlalchemy import insert

    from app.core.months import add_months
    from app.extensions import db
    from app.models import Failure, Lending, Organization
    from app.services.ledger.device_months import list_devices

    rng = random.Random(seed)
    _harness.create_schema(drop=True, roles=True)
    months = [add_months(MONTH, i - 12) for i in range(13)]
    h = Organization(kind="hospital", code="BD0001", name="ベンチ総合病院", report_rank_count=5, analysis_level=2,
                     notification_emails="", mfa_required=False)
    db.session.add(h)
    db.session.flush()
    leaves = _harness.add_classification_tree(db.session, h.id)
    eq = _harness.add_devices(db.session, rng, h.id, leaves, devices, models=300, makers=30)
    list_devices(db.session, h.id, months[0], eq)
    per_month = int(devices * 1.28)
    seen = set()  # one lending (failure) per device and start minute
    for m in months:
        lendings, failures = [], []
        start = dt.datetime(m.year, m.month, 1)
        month_end = dt.datetime.combine(add_months(m, 1), dt.time())
        span = (month_end - start).total_seconds()
        for _ in range(per_month):
            lent = start + dt.timedelta(seconds=int(rng.random() * span) // 60 * 60)
            end = None if rng.random() < 0.01 else lent + dt.timedelta(hours=rng.expovariate(1 / 400))
            device = rng.choice(eq)
            if ("l", device, lent) in seen:
                continue
            seen.add(("l", device, lent))
            lendings.append(dict(hospital_id=h.id, equipment_id=device, month=m, lent_at=lent,
                                 returned_at=end, open_until=None if end else month_end,
                                 department=f"病棟{rng.randrange(30)}"))
        for _ in range(devices // 45):
            failed = start + dt.timedelta(seconds=int(rng.random() * span) // 60 * 60)
            end = None if rng.random() < 0.05 else failed + dt.timedelta(hours=rng.expovariate(1 / 500))
            device = rng.choice(eq)
            if ("f", device, failed) in seen:
                continue
            seen.add(("f", device, failed))
            failures.append(dict(hospital_id=h.id, equipment_id=device, month=m, failed_at=failed,
                                 repaired_at=end, open_until=None if end else month_end, description="動作不良"))
        db.session.execute(insert(Lending), lendings)
        db.session.execute(insert(Failure), failures)
    db.session.commit()
    user = db.session.get(Organization, h.id)
    from flask import current_app

    sm = current_app.appbuilder.sm
    role = sm.find_role("HospitalUser")
    created = sm.add_user(username=EMAIL, first_name="ベンチ", last_name="利用者", email=EMAIL, role=role,
                          password="Bench-dashboard-2026")
    created.organization_id = user.id
    db.session.commit()
    from app.services.reports import refresh_statistics

    refresh_statistics()
    return h.id


def page_complete(client, url: str) -> tuple[float, dict]:
    """GET the page and every script / stylesheet of the dashboard it references."""
    start = time.perf_counter()
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    html = response.get_data(as_text=True)
    assets = [a for a in re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
              if "dashboard" in a or "chartjs" in a]
    sizes = {"html": len(response.data)}
    for asset in assets:
        r = client.get(asset)
        assert r.status_code == 200, asset
        sizes[asset.rsplit("/", 1)[-1]] = len(r.data)
        r.close()
    return time.perf_counter() - start, sizes


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=15000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--dump", help="write the dashboard's HTML to this file")
    args = parser.parse_args()
    app = make_app()
    with app.app_context():
        start = time.perf_counter()
        hospital_id = build(args.devices)
        print(f"database: {os.environ['DATABASE_URL'].split('@')[-1]}")
        print(f"built 1 hospital × {args.devices:,} devices, 13 months: {time.perf_counter() - start:.1f} s")
    client = app.test_client()
    _harness.sign_in(client, app, EMAIL)
    url = f"/dashboard/?month={MONTH:%Y-%m}"
    cold, sizes = page_complete(client, url)
    if args.dump:
        Path(args.dump).write_bytes(client.get(url).data)
    print(f"cold (figures not stored: computed + stored on this view): {cold:.2f} s")
    warm = []
    for _ in range(args.repeat):
        seconds, sizes = page_complete(client, url)
        warm.append(seconds)
    print(f"warm (stored figures), {args.repeat} runs: median {statistics.median(warm):.3f} s, "
          f"max {max(warm):.3f} s")
    print("bytes: " + ", ".join(f"{k} {v:,}" for k, v in sizes.items()))

    def get_ok(url):
        response = client.get(url)
        assert response.status_code == 200, url

    baseline = _harness.run_times(lambda: get_ok("/reports/"), 3)
    print(f"baseline, the plain report-download page (same layout and menu): median {statistics.median(baseline):.3f} s"
          f" — load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    with app.app_context():
        from app.services.reports import stored

        start = time.perf_counter()
        stored.compute(hospital_id, MONTH)
        print(f"figures computed fresh (what the job does once per data change): {time.perf_counter() - start:.2f} s")
    for label, extra in (("data JSON", "/dashboard/data"), ("drill-down (all devices)", "/dashboard/devices"),
                         ("CSV export of ⑥", "/dashboard/export")):
        query = {"/dashboard/data": "", "/dashboard/devices": "&scope=all", "/dashboard/export": "&table=ranking&format=csv"}[extra]
        times = _harness.run_times(lambda url=f"{extra}?month={MONTH:%Y-%m}{query}": get_ok(url), 3)
        print(f"{label}: median {statistics.median(times):.3f} s")


if __name__ == "__main__":
    main()
