"""Benchmark of the ledger list's exports (screen 5) for a hospital of 15,000 devices: the CSV
and the Excel workbook (/ledger/export.csv, /ledger/export.xlsx), whole requests through a
signed-in client, and apart from them the rows (the service's queries, app/services/ledger/
export.py) and the workbook's writing alone (app/views/xlsx_export.py, openpyxl write-only).

    .venv/bin/python bench/ledger_export.py                    # SQLite in a temporary folder
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_ledger_export .venv/bin/python bench/ledger_export.py
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import time

import _harness

_harness.prepare("optiserve-bench-ledger-export-", files=True, OPTISERVE_ENV="test")

EMAIL = "bench-export@bench.example"
MONTH = dt.date(2025, 5, 1)


def build(devices: int, seed: int = 7) -> int:
    """One hospital: ``devices`` devices (zero-padded device numbers, 12-digit serials, dates)
    in 60 classifications over three levels, listed by the month's ledger, and one user."""
    from flask import current_app
    from sqlalchemy import update

    from app.extensions import db
    from app.models import Equipment, Organization
    from app.services.ledger.device_months import list_devices

    rng = random.Random(seed)
    _harness.create_schema(drop=True, roles=True)
    hospital = Organization(kind="hospital", code="BE0001", name="ベンチ総合病院", report_rank_count=5,
                            analysis_level=2, notification_emails="", mfa_required=False)
    db.session.add(hospital)
    db.session.flush()
    leaves = _harness.add_classification_tree(db.session, hospital.id)
    ids = _harness.add_devices(db.session, rng, hospital.id, leaves, devices, models=300, makers=30)
    db.session.execute(update(Equipment).where(Equipment.hospital_id == hospital.id).values(
        device_number=db.func.printf("%010d", Equipment.id) if db.engine.dialect.name == "sqlite"
        else db.func.lpad(db.cast(Equipment.id, db.String), 10, "0"),
        serial_number=db.cast(Equipment.id + 123456789000, db.String), delivered_on=dt.date(2019, 4, 1)))
    list_devices(db.session, hospital.id, MONTH, ids)
    sm = current_app.appbuilder.sm
    user = sm.add_user(username=EMAIL, first_name="ベンチ", last_name="利用者", email=EMAIL,
                       role=sm.find_role("HospitalUser"), password="Bench-export-2026")
    user.organization_id = hospital.id
    db.session.commit()
    return hospital.id


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=15000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    app = _harness.make_app(test_config=True)
    with app.app_context():
        hospital_id = build(args.devices)
    print(f"database: {os.environ['DATABASE_URL'].split('@')[-1]}; {args.devices:,} devices")
    client = app.test_client()
    _harness.sign_in(client, app, EMAIL)
    sizes = {}

    def download(extension):
        response = client.get(f"/ledger/export.{extension}")
        assert response.status_code == 200, response.status_code
        sizes[extension] = len(response.get_data())

    for extension in ("csv", "xlsx"):
        cpu = time.process_time()
        times = _harness.run_times(lambda extension=extension: download(extension), args.repeat)
        cpu = (time.process_time() - cpu) / args.repeat
        print(f"/ledger/export.{extension}: median {statistics.median(times):.2f} s, max {max(times):.2f} s "
              f"(CPU {cpu:.2f} s a request), {sizes[extension] / 1e6:.1f} MB")
    with app.test_request_context():
        from app.services.ledger import export
        from app.services.ledger.maintenance import LedgerFilter
        from app.views.xlsx_export import xlsx_bytes

        rows = []
        times = _harness.run_times(lambda: rows.append(export.rows(hospital_id, LedgerFilter())), args.repeat)
        print(f"  the rows alone (queries): median {statistics.median(times):.2f} s")
        header = export.header()
        times = _harness.run_times(lambda: xlsx_bytes(header, rows[0], "機器台帳"), args.repeat)
        print(f"  the workbook alone (openpyxl write-only): median {statistics.median(times):.2f} s")
    print(f"load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
