"""Benchmark: the on-prem daily pull after a full ledger change of a 15,000-device hospital.

    python bench/sync_changes.py [--database-url postgresql://postgres@127.0.0.1/optiserve_bench_sync]
        [--local-url sqlite:////tmp/onprem.db] [--devices 15000]

Two instances in one process, as in tests/test_sync_pull.py: OptiServe (``--database-url``,
default a temporary SQLite file) served over HTTP by werkzeug in a thread, and the on-prem
instance (``--local-url``, default another SQLite file). Both get a fresh schema, the roles,
the masters and the demo organizations; both ledgers get the same ``--devices`` devices of
H0001, and the on-prem one pulls once so it is up to date. Then, on OptiServe, one ledger
change sets every device of H0001 to "not counted" (15,000 change-log entries), and:

- pull: ``flask optiserve sync pull`` end to end (HTTP pages of 1,000, applying each page to
  the on-prem database, cursor file) — target ≤ 3 s;
- page: ``GET /api/v1/system/changes?limit=1000`` answered by OptiServe (in-process test
  client, median of 15 pages across the range) — target ≤ 200 ms on PostgreSQL.
Figures are printed as JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import _harness


def _fresh(app, demo: bool) -> None:
    from app.extensions import db
    from app.seeding.seed import seed_demo, seed_masters

    with app.app_context():
        _harness.create_schema(drop=True, roles=True, seed=[seed_masters, seed_demo] if demo else [seed_masters])
        db.session.remove()


def _devices(app, count: int) -> int:
    from sqlalchemy import insert, select

    from app.extensions import db
    from app.models import Equipment, Organization

    with app.app_context():
        hospital_id = db.session.scalar(select(Organization.id).where(Organization.code == "H0001"))
        rows = [dict(hospital_id=hospital_id, device_number=f"BENCH{i:06d}", product_name="輸液ポンプ",
                     model_number=f"M-{i % 40}", default_counts=True) for i in range(count)]
        for start in range(0, count, 5000):
            db.session.execute(insert(Equipment), rows[start:start + 5000])
        db.session.commit()
        return hospital_id


def _system_key(app) -> str:
    from sqlalchemy import select

    from app.access.api_keys import create_key
    from app.access.scope import scope_of
    from app.extensions import db
    from app.models import User

    with app.app_context():
        user = db.session.scalars(select(User).where(User.email == "system@smds.example")).one()
        admin = db.session.scalars(select(User).where(User.email == "admin@smds.example")).one()
        _, raw = create_key(scope_of(admin), admin, user, "bench", None, app.appbuilder.sm)
        return raw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url")
    parser.add_argument("--local-url")
    parser.add_argument("--devices", type=int, default=15000)
    parser.add_argument("--profile", help="write a cProfile of the timed pull to this file")
    args = parser.parse_args()
    work = _harness.prepare("optiserve-bench-sync-", LOG_LEVEL="WARNING")

    from app import create_app
    from app.extensions import db
    from config import TestConfig, sqlalchemy_url

    server_url = args.database_url or f"sqlite:///{work}/optiserve.db"
    local_url = args.local_url or f"sqlite:///{work}/onprem.db"
    server_app = create_app(type("Server", (TestConfig,), {
        "SQLALCHEMY_DATABASE_URI": sqlalchemy_url(server_url), "STORAGE_URL": f"file://{work}/server-storage",
        "API_KEY_RATE_LIMIT": "100000 per minute"}))
    local_app = create_app(type("OnPrem", (TestConfig,), {
        "SQLALCHEMY_DATABASE_URI": sqlalchemy_url(local_url), "STORAGE_URL": f"file://{work}/onprem-storage"}))
    _fresh(server_app, demo=True)
    _fresh(local_app, demo=False)
    hospital_id = _devices(server_app, args.devices)
    key_file = os.path.join(work, "key")
    with open(key_file, "w") as out:
        out.write(_system_key(server_app))
    state = os.path.join(work, "state.json")
    server, base = _harness.serve(server_app)

    def pull():
        result = local_app.test_cli_runner().invoke(args=[
            "optiserve", "sync", "pull", "--base-url", base, "--api-key-file", key_file,
            "--state-file", state, "--no-uploads"])
        if result.exit_code != 0:
            raise SystemExit(result.output + repr(result.exception))
        return result.output.strip().splitlines()[-1]

    pull()  # the on-prem instance is up to date
    _devices(local_app, args.devices)  # and has the same ledger

    from sqlalchemy import func, select

    from app.models import SyncChange
    from app.services.ledger import maintenance as ledger

    with server_app.app_context():
        before = db.session.scalar(select(func.max(SyncChange.seq)))
        started = time.perf_counter()
        changed = ledger.change(hospital_id, ledger.Target(everything=True), counts=False, reason="bench")
        update_seconds = time.perf_counter() - started
        db.session.commit()  # writes the 15,000 change-log entries
        change_seconds = time.perf_counter() - started
        after = db.session.scalar(select(func.max(SyncChange.seq)))
        db.session.remove()

    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started, cpu_started = time.perf_counter(), time.process_time()
    summary = pull()
    pull_seconds, pull_cpu = time.perf_counter() - started, time.process_time() - cpu_started
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile)
    server.shutdown()

    client = server_app.test_client()
    headers = {"Authorization": f"Bearer {open(key_file).read()}"}
    page_times, page_cpu, empty_times = [], [], []
    for i in range(15):
        since = before + (i * 1000) % max(after - before - 1000, 1)
        started, cpu_started = time.perf_counter(), time.process_time()
        response = client.get(f"/api/v1/system/changes/?since={since}&limit=1000", headers=headers)
        page_times.append(time.perf_counter() - started)
        page_cpu.append(time.process_time() - cpu_started)
        assert response.status_code == 200 and len(response.get_json()["result"]) == 1000
        started = time.perf_counter()  # the same call with nothing to answer: the fixed cost of a call
        client.get(f"/api/v1/system/changes/?since={after}&limit=1000", headers=headers)
        empty_times.append(time.perf_counter() - started)
    with local_app.app_context():
        from app.models import Equipment

        applied = db.session.scalar(select(func.count()).select_from(Equipment).where(
            Equipment.override_counts.is_(False)))
    print(json.dumps({
        "server_database": server_url.split("://")[0], "onprem_database": local_url.split("://")[0],
        "devices": args.devices, "devices_changed": changed, "change_log_entries": after - before,
        "ledger_change_s": round(update_seconds, 3),
        "ledger_change_and_commit_with_log_s": round(change_seconds, 3),
        "pull_end_to_end_s": round(pull_seconds, 3), "pull_cpu_s": round(pull_cpu, 3), "pull_target_s": 3.0, "pull_summary": summary,
        "onprem_devices_not_counted": applied,
        "page_1000_median_ms": round(statistics.median(page_times) * 1000, 1),
        "page_1000_max_ms": round(max(page_times) * 1000, 1), "page_target_ms": 200,
        "page_1000_cpu_median_ms": round(statistics.median(page_cpu) * 1000, 1),
        "empty_page_median_ms": round(statistics.median(empty_times) * 1000, 1),
        "load_average": os.getloadavg()[0],
    }, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
