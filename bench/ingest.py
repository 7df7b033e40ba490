"""Benchmark: one hospital-month of uploads, file → committed rows, against a floor.

    python bench/ingest.py [--database-url postgresql://postgres@127.0.0.1/optiserve_bench_ingest]
        [--exports /tmp/optiserve-exports] [--formats xlsx,csv,csv]

Files (made by bench/generate_exports.py if missing): a 15,000-device ledger, a ~10 MB
lending file and a ~1 MB failure file; ``--formats`` picks the format of each (ledger,
lending, failure). Three processes run one after the other on a fresh schema:

- setup: create the schema and the demo organizations;
- floor: read the same files with python-calamine / csv in-process and bulk-insert the same
  rows with no validation (device lookup and a C-level ``fromisoformat`` only; rows that
  cannot be inserted at all — blank / duplicate / unknown devices, a second row of the same
  device and start — are skipped), one transaction per file, SQLite ``executemany`` /
  PostgreSQL ``COPY`` straight into the tables (no reconciliation: that is the ingest's
  extra work, and it must fit in the 1.5× budget);
- ingest: ``run_ingest`` for the three uploads (child-process parsing, header mapping,
  normalization, validation, makers and classifications, rejected-rows file, bulk write).

Each phase reports its wall time and peak RSS (its own and its children's, ``ru_maxrss``),
its CPU time and, on a PostgreSQL server on this machine, the CPU time of its database
backend (``/proc``): on a shared machine wall time swings, and on PostgreSQL most of the
writing is the server's CPU, so "client + server" CPU is the steady figure to compare.
Targets: ingest total ≤ 1.5 × floor total, ingest peak RSS ≤ 300 MB.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import _harness

ROOT = str(_harness.ROOT)
KINDS = ("ledger", "lending", "failure")


def _env(database_url: str, instance: str) -> None:
    os.environ["OPTISERVE_INSTANCE_DIR"] = instance
    os.environ["DATABASE_URL"] = database_url
    os.environ["STORAGE_URL"] = f"file://{instance}/storage"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.path.insert(0, ROOT)


def _rss() -> dict:
    import resource

    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"rss_self_mb": me.ru_maxrss / 1024, "rss_children_mb": children.ru_maxrss / 1024,
            "cpu": me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime}


class ServerCpu:
    """CPU seconds of this process's PostgreSQL backends (``/proc/<pid>/stat`` of
    ``pg_backend_pid()``, when the server runs on this machine): on PostgreSQL most of the
    writing is the server's work, which the client's CPU time does not show."""

    def __init__(self):
        self.start: dict[int, float] = {}

    @staticmethod
    def _cpu(pid: int) -> float | None:
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def seen(self) -> None:
        from app.extensions import db

        if db.session.get_bind().dialect.name != "postgresql":
            return
        pid = db.session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar()
        if pid not in self.start:
            self.start[pid] = self._cpu(pid)

    def seconds(self) -> float | None:
        used = [self._cpu(pid) - cpu for pid, cpu in self.start.items() if cpu is not None and self._cpu(pid) is not None]
        return sum(used) if used else None


def phase_setup(args) -> dict:
    from app.extensions import db
    from app.seeding.seed import seed_all

    with _harness.make_app().app_context():
        _harness.create_schema(drop=True, roles=True, seed=[seed_all])
        db.session.commit()
    return {}


def _hospital(code: str) -> int:
    from app.extensions import db
    from app.models import Organization

    return db.session.query(Organization.id).filter_by(code=code).scalar()


# ---------------------------------------------------------------- floor


def _read(path: str):
    if path.endswith(".xlsx"):
        import python_calamine

        return python_calamine.CalamineWorkbook.from_path(path).get_sheet_by_index(0).iter_rows()
    import csv

    handle = open(path, encoding="cp932", newline="")
    return csv.reader(handle)


def _when(value):
    import datetime as dt

    if isinstance(value, (dt.datetime, dt.date)) or value is None:
        return value
    try:
        return dt.datetime.fromisoformat(str(value).replace("/", "-"))
    except ValueError:
        return None


def phase_floor(args) -> dict:
    import datetime as dt

    from app.core.normalize import device_key
    from app.extensions import db
    from app.services.ingest import write
    from app.services.ingest.headers import map_headers

    files = _files(args)
    with _harness.make_app().app_context():
        hospital = _hospital("H0002")
        session = db.session
        server = ServerCpu()
        server.seen()
        cpu0 = _rss()["cpu"]
        started = time.perf_counter()
        counts = {}
        # ledger
        rows = _read(files["ledger"])
        columns = map_headers(next(rows), 1).columns
        num, prod, model, maker = (columns.get(k) for k in ("device_number", "product_name", "model_number", "maker_name"))
        deliv = columns.get("delivered_on", columns.get("purchased_on"))
        seen, records = set(), []
        from app.core.months import utc_now

        now = utc_now()
        for row in rows:
            number = row[num]
            if not number or number in seen:
                continue
            seen.add(number)
            when = _when(row[deliv]) if deliv is not None else None
            records.append((hospital, str(number), device_key(str(number)), row[prod], row[model], row[maker],
                            when.date() if isinstance(when, dt.datetime) else when, True, now))
        cols = ("hospital_id", "device_number", "device_key", "product_name", "model_number", "maker_name",
                "delivered_on", "default_counts", "updated_on")
        _insert(session, "equipment", cols, records)
        session.commit()
        counts["ledger"] = len(records)
        devices = write.load_devices(session, hospital)
        for kind, ftype, start_f, end_f, text_f in (("lending", 2, "lent_at", "returned_at", "department"),
                                                    ("failure", 3, "failed_at", "repaired_at", "description")):
            rows = _read(files[kind])
            columns = map_headers(next(rows), ftype).columns
            num, s, e, t = columns["device_number"], columns[start_f], columns.get(end_f), columns.get(text_f)
            month = dt.date(2025, 10, 1)
            records, keys = [], set()
            for row in rows:
                equipment = devices.get(device_key(row[num]))
                start = _when(row[s])
                if equipment is None or not isinstance(start, dt.datetime) or (equipment, start) in keys:
                    continue
                keys.add((equipment, start))
                end = _when(row[e]) if e is not None else None
                records.append((hospital, equipment, month, start, end if isinstance(end, dt.datetime) else None,
                                row[t] if t is not None else None))
            _insert_events(session, kind, (start_f, end_f, text_f), records)
            session.commit()
            counts[kind] = len(records)
        seconds = time.perf_counter() - started
        usage = _rss()
        server.seen()
        return {"seconds": seconds, "rows": counts, **usage, "cpu": usage["cpu"] - cpu0,
                "server_cpu": server.seconds()}


def _insert_events(session, kind, fields, records):
    """The plain bulk insert the ingest's writer did before reconciliation (COPY / one
    executemany with SQLAlchemy's SQLite datetime format built directly)."""
    from app.services.ingest import write

    columns = ("hospital_id", "equipment_id", "month", *fields)
    if session.get_bind().dialect.name == "postgresql":
        write._copy(session, kind, columns, records)
        return
    rows = [(h, e, m.isoformat(), s.isoformat(" ", "microseconds"),
             None if end is None else end.isoformat(" ", "microseconds"), note)
            for h, e, m, s, end, note in records]
    session.connection().exec_driver_sql(
        f"INSERT INTO {kind} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", rows)


def _insert(session, table, columns, rows):
    from app.services.ingest import write

    if session.get_bind().dialect.name == "postgresql":
        write._copy(session, table, columns, rows)
    else:
        write._executemany(session, f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", rows)


# ---------------------------------------------------------------- ingest


def phase_ingest(args) -> dict:
    import datetime as dt
    import hashlib

    from app.extensions import db
    from app.infra.storage import get_storage
    from app.models import UploadFile, UploadStatus
    from app.services.ingest.pipeline import run_ingest

    files = _files(args)
    with _harness.make_app().app_context():
        hospital = _hospital("H0001")
        ids = {}
        for file_type, kind in enumerate(KINDS, start=1):
            path = files[kind]
            ext = path.rsplit(".", 1)[1]
            upload = UploadFile(hospital_id=hospital, month=dt.date(2025, 10, 1), file_type=file_type,
                                original_name=os.path.basename(path), size=os.path.getsize(path),
                                sha256=hashlib.sha256(open(path, "rb").read()).hexdigest(),
                                status=UploadStatus.processing.value)
            db.session.add(upload)
            db.session.flush()
            upload.storage_key = f"uploads/{hospital}/2025-10/{upload.id}/{kind}.{ext}"
            with open(path, "rb") as source:
                get_storage().put_file(upload.storage_key, source)
            ids[kind] = upload.id
        db.session.commit()
        server = ServerCpu()
        server.seen()
        db.session.remove()
        base = _rss()
        result = {"per_file": {}, "rss_before_mb": base["rss_self_mb"]}
        cpu0 = base["cpu"]
        started = time.perf_counter()
        for kind in KINDS:
            t0 = time.perf_counter()
            server.seen()
            outcome = run_ingest(ids[kind])
            server.seen()
            db.session.remove()
            result["per_file"][kind] = {
                "seconds": round(time.perf_counter() - t0, 3), "status": outcome.status,
                "total": outcome.rows_total, "imported": outcome.rows_imported, "rejected": outcome.rows_rejected,
            }
        result["seconds"] = time.perf_counter() - started
        result.update(_rss())
        result["cpu"] -= cpu0
        result["server_cpu"] = server.seconds()
        return result


def _files(args) -> dict[str, str]:
    formats = args.formats.split(",")
    return {kind: os.path.join(args.exports, f"{kind}.{fmt}") for kind, fmt in zip(KINDS, formats)}


def _run_phase(name: str, args) -> dict:
    command = [sys.executable, os.path.abspath(__file__), "--phase", name, "--database-url", args.database_url,
               "--exports", args.exports, "--formats", args.formats, "--instance", args.instance]
    output = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(output.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--exports", default="/tmp/optiserve-exports")
    parser.add_argument("--formats", default="xlsx,csv,csv")
    parser.add_argument("--phase", default="")
    parser.add_argument("--instance", default="")
    args = parser.parse_args()
    if args.phase:
        _env(args.database_url, args.instance)
        result = {"setup": phase_setup, "floor": phase_floor, "ingest": phase_ingest}[args.phase](args)
        print(json.dumps(result))
        return
    args.instance = args.instance or tempfile.mkdtemp(prefix="optiserve-bench-")
    args.database_url = args.database_url or f"sqlite:///{args.instance}/bench.db"
    if not all(os.path.exists(p) for p in _files(args).values()):
        sys.path.insert(0, os.path.join(ROOT, "bench"))
        from generate_exports import generate
        from generate_exports import parser as gen_parser

        generate(gen_parser().parse_args(["--out", args.exports]))
    _run_phase("setup", args)
    floor = _run_phase("floor", args)
    ingest = _run_phase("ingest", args)
    rows = sum(f["total"] for f in ingest["per_file"].values())
    print(f"database: {args.database_url.split('@')[-1]}   files: {args.formats}")
    for kind, info in ingest["per_file"].items():
        print(f"  {kind:8s} {info['seconds']:7.3f} s  {info['status']:26s} rows {info['total']:>7,} "
              f"imported {info['imported']:>7,} rejected {info['rejected']:>5,}")
    print(f"ingest total {ingest['seconds']:.3f} s  ({rows / ingest['seconds']:,.0f} rows/s)  "
          f"peak RSS {ingest['rss_self_mb']:.0f} MB (before ingest {ingest['rss_before_mb']:.0f} MB; "
          f"parser child {ingest['rss_children_mb']:.0f} MB)")
    print(f"floor        {floor['seconds']:.3f} s  rows {floor['rows']}  peak RSS {floor['rss_self_mb']:.0f} MB")
    print(f"CPU seconds (this machine is shared; CPU time is steadier than wall time): "
          f"ingest {ingest['cpu']:.2f} (parser child included), floor {floor['cpu']:.2f} "
          f"(database server CPU not counted)")
    if ingest.get("server_cpu") is not None and floor.get("server_cpu") is not None:
        total_ingest, total_floor = ingest["cpu"] + ingest["server_cpu"], floor["cpu"] + floor["server_cpu"]
        print(f"PostgreSQL backend CPU seconds: ingest {ingest['server_cpu']:.2f}, floor {floor['server_cpu']:.2f}; "
              f"client + server: ingest {total_ingest:.2f}, floor {total_floor:.2f} = {total_ingest / total_floor:.2f}")
    ratio = ingest["seconds"] / floor["seconds"]
    print(f"ratio ingest / floor = {ratio:.2f} wall, {ingest['cpu'] / floor['cpu']:.2f} CPU "
          f"(target ≤ 1.5)   peak RSS target ≤ 300 MB")


if __name__ == "__main__":
    main()
