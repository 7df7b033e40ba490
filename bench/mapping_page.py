"""Speed of screen 7 (classification mapping) for the demo hospital of 859 classifications.

Target (issue 14): the first page in ≤ 300 ms and ≤ 300 KB. Seeds a fresh database with the
masters and demo data (`seed_all`, as `run.py` does), serves the app as the container does
(gunicorn ``app.wsgi:application``, here one worker of 4 threads, from a fresh process on a
local port), signs in as the demo hospital user and measures over real HTTP:

- the screen (`/classification-mapping/`: HTML with the first 50 rows and their suggestions
  inside), its own script, and the static files the page loads (FAB's CSS/JS, cached by a
  browser after the first screen of the app);
- the JSON of the next page and of a search, as the script asks for them;
- the bulk preview of the whole hospital (all unmapped rows), for information.

"cold" is the first request to a server that has just started, "warm" the median of later
requests. A gunicorn worker warms itself up in the background after it starts
(app/warmup.py: it compiles the templates and ranks each active hospital's first mapping
page, then ``gc.freeze()``); what makes the cold request fast is that warm-up, so the bench
prints both: "cold" once the warm-up is done (the time it took is printed too: the first
visit after a deploy comes seconds later), and "cold without the warm-up" from another fresh
server started with ``WARM_UP_AT_START=false`` (what a request arriving during the warm-up,
or for a hospital past ``WARM_UP_HOSPITALS``, pays).

``--models N`` adds model evidence at scale before measuring: N devices in the demo hospital's
unmapped classifications (50 each, 25 models per classification) and N devices of each of the
two other demo hospitals, of the same models, in classifications they have mapped, so every
row of the first page has evidence from two hospitals (app/services/classifications/evidence.py);
then the planner statistics are refreshed, as after an upload.

    .venv/bin/python bench/mapping_page.py                  # SQLite in a temporary folder
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_mapping .venv/bin/python bench/mapping_page.py
    .venv/bin/python bench/mapping_page.py --models 15000
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import time
import urllib.request

import _harness

# The demo data refuses production: a test instance, whatever the environment says.
os.environ["OPTISERVE_ENV"] = "test"
_harness.prepare(files=True)

USER = "user@sakura-hp.example.jp"
RUNS = 15


def build(models: int = 0):
    from app.extensions import db
    from app.seeding.demo_activity import seed_demo_activity
    from app.seeding.seed import seed_all

    app = _harness.make_app({"WTF_CSRF_ENABLED": True}, test_config=True)
    with app.app_context():
        _harness.create_schema(drop=True, roles=True, seed=[seed_all])
        # as `optiserve seed demo` (run.py) does: H0001's 299 devices and year, and the smaller
        # years of H0002 and H0003, whose mappings of the same models are evidence here
        seed_demo_activity()
        db.session.commit()
        if models:
            add_model_evidence(models)
    return app


def add_model_evidence(devices: int) -> None:
    """``devices`` devices in H0001's unmapped classifications (listed in its ledger, so they
    lead the first page) and as many in each of H0002 and H0003's mapped ones, of the same
    models: 50 devices of 25 models per classification (one maker)."""
    from sqlalchemy import func, insert, select

    from app.extensions import db
    from app.models import Classification, Equipment, LedgerListing, Organization
    from app.services.classifications.makers import resolve_makers
    from app.services.reports import refresh_statistics

    maker = "日本光電工業株式会社"
    maker_id = resolve_makers(db.session, [maker])[maker]
    groups = max(1, devices // 50)
    for code in ("H0001", "H0002", "H0003"):
        hospital_id = db.session.query(Organization.id).filter_by(code=code).scalar()
        mapped = Classification.smds_classification_id.isnot(None) if code != "H0001" \
            else Classification.smds_classification_id.is_(None)
        targets = [cid for (cid,) in db.session.query(Classification.id).filter(
            Classification.hospital_id == hospital_id, Classification.is_active.is_(True), mapped)
            .order_by(Classification.id).limit(groups)]
        rows = [dict(hospital_id=hospital_id, device_number=f"BM{n:06d}", default_counts=True,
                     classification_id=targets[(n // 50) % len(targets)],
                     model_number=f"XM-{n // 50:04d}{n % 25:02d}", maker_id=maker_id, maker_name=maker)
                for n in range(devices)]
        for start in range(0, len(rows), 5000):
            db.session.execute(insert(Equipment), rows[start:start + 5000])
        if code == "H0001":
            month = db.session.scalar(select(func.max(LedgerListing.month)).where(
                LedgerListing.hospital_id == hospital_id))
            ids = db.session.scalars(select(Equipment.id).where(
                Equipment.hospital_id == hospital_id, Equipment.device_number.like("BM%")))
            db.session.execute(insert(LedgerListing), [
                {"hospital_id": hospital_id, "month": month, "equipment_id": i} for i in ids])
    db.session.commit()
    refresh_statistics()  # as after an upload


def session_cookie(app) -> str:
    client = app.test_client()
    _harness.sign_in(client, app, USER)
    return client.get_cookie("session").value


def fetch(url: str, cookie: str, data: bytes | None = None, headers: dict | None = None):
    request = urllib.request.Request(url, data=data, headers={"Cookie": f"session={cookie}", **(headers or {})})
    started = time.perf_counter()
    with urllib.request.urlopen(request) as response:
        body = response.read()
    return (time.perf_counter() - started) * 1000, body


def main() -> None:
    from app.extensions import db
    from app.models import Classification, Organization

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=0, help="devices per hospital sharing models (0: none)")
    args = parser.parse_args()
    started = time.perf_counter()
    app = build(args.models)
    with app.app_context():
        hospital = db.session.query(Organization).filter_by(code="H0001").one()
        classes = db.session.query(Classification).filter_by(hospital_id=hospital.id, is_active=True).count()
        unmapped = db.session.query(Classification).filter_by(
            hospital_id=hospital.id, is_active=True, smds_classification_id=None).count()
        hospital_id, hospital_name = hospital.id, hospital.name
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (timings grow with it)")
    print(f"database: {app.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]}  seeded in "
          f"{time.perf_counter() - started:.1f}s  hospital: {hospital_name} — {classes} classifications, "
          f"{unmapped} unmapped")
    cookie = session_cookie(app)
    # A fresh server without the warm-up: what the first visit paid before it (and pays for a
    # hospital beyond WARM_UP_HOSPITALS).
    with _harness.gunicorn({"WARM_UP_AT_START": "false"}, workers=1) as (base, _):
        unwarmed_ms, _ = fetch(f"{base}/classification-mapping/", cookie)
    # As the container runs (there two workers, each warming itself up): measured once it is done.
    with _harness.gunicorn({"WARM_UP_AT_START": "true", "LOG_LEVEL": "INFO"}, workers=1,
                           wait_for=r"warm-up done in (\d+) ms") as (base, warmups):
        cold_ms, html = fetch(f"{base}/classification-mapping/", cookie)
        warm = [fetch(f"{base}/classification-mapping/", cookie)[0] for _ in range(RUNS)]
        text = html.decode()
        rows = len(re.findall(r'"device_count"', text))
        assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', text)
        sizes = {a: len(fetch(base + a, cookie)[1]) for a in dict.fromkeys(assets)}
        own_js = sum(n for a, n in sizes.items() if a.endswith("/js/mapping.js"))
        api = f"{base}/api/v1/classification/hospital/{hospital_id}/mapping"
        page2 = [fetch(f"{api}/page?page=2", cookie)[0] for _ in range(RUNS)]
        search = [fetch(f"{api}/page?q=%EF%BD%BC%EF%BE%98%EF%BE%9D%EF%BD%BC%EF%BE%9E", cookie)[0]  # ｼﾘﾝｼﾞ
                  for _ in range(RUNS)]
        csrf = re.search(r'data-csrf="([^"]*)"', text).group(1)
        bulk_ms, bulk = fetch(f"{api}/bulk", cookie, data=b'{"threshold": 90}',
                              headers={"Content-Type": "application/json", "X-CSRFToken": csrf, "Origin": base})
        bulk_warm, _ = fetch(f"{api}/bulk", cookie, data=b'{"threshold": 90}',
                             headers={"Content-Type": "application/json", "X-CSRFToken": csrf, "Origin": base})
    first_kb = (len(html) + own_js) / 1024
    print(f"first page: {rows} rows in the HTML")
    print(f"  time  cold {cold_ms:6.0f} ms   warm median {statistics.median(warm):6.0f} ms  "
          f"max {max(warm):6.0f} ms   (target ≤ 300 ms)")
    print(f"        cold without the warm-up {unwarmed_ms:6.0f} ms; the warm-up took "
          f"{' and '.join(m.group(1) for m in warmups)} ms in the background after the start")
    print(f"  size  HTML {len(html) / 1024:6.1f} KB + mapping.js {own_js / 1024:.1f} KB = {first_kb:.1f} KB "
          f"(target ≤ 300 KB); with FAB's static files on a first visit "
          f"{(len(html) + sum(sizes.values())) / 1024:.0f} KB ({len(sizes)} files, cached afterwards)")
    print(f"next page (JSON)     median {statistics.median(page2):6.0f} ms")
    print(f"search ｼﾘﾝｼﾞ (JSON)  median {statistics.median(search):6.0f} ms")
    print(f"bulk preview of all unmapped (≥90): {bulk.count(b'smds_classification_name')} changes, "
          f"cold {bulk_ms:.0f} ms, warm {bulk_warm:.0f} ms")


if __name__ == "__main__":
    main()
