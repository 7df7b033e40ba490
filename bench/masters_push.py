"""Masters push: seconds for a first push (everything created), the same payload again
(nothing changes) and a full push missing a tenth of the rows.

Payload: H hospitals, each with C own classifications (levels 1–3, mapped), 200 SMDS
classifications, 500 makers with two spellings each.

Run: .venv/bin/python bench/masters_push.py [hospitals] [classifications per hospital]
(DATABASE_URL=postgresql://… for PostgreSQL; default a fresh SQLite file.)
"""
import sys
import time

import _harness

_harness.prepare()

from app.extensions import db
from app.models import User


def payload(hospitals: int, per_hospital: int) -> dict:
    smds = [{"id": f"S{i}", "level": 1, "name": f"ベンチ分類{i}"} for i in range(200)]
    rows = []
    for h in range(hospitals):
        for i in range(per_hospital):
            level = 1 + i % 3
            parent = None if level == 1 else f"C{h}-{i - 1}"
            rows.append({"id": f"C{h}-{i}", "hospital_id": f"HP{h}", "level": level, "parent_id": parent,
                         "name": f"院内分類{i}", "smds_id": f"S{i % 200}"})
    return {
        "hospitals": [{"id": f"HP{h}", "code": f"B{h:05d}", "name": f"ベンチ病院{h}"} for h in range(hospitals)],
        "smds_classifications": smds,
        "hospital_classifications": rows,
        "makers": [{"id": f"MK{i}", "name": f"ベンチ医科{i}株式会社", "aliases": [f"BENCH IKA {i}", f"ベンチイカ{i}"]}
                   for i in range(500)],
    }


def main() -> None:
    hospitals = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    per_hospital = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    app = _harness.make_app()
    with app.app_context(), app.test_request_context():
        from app.services.sync.masters import push
        from app.services.unit_of_work import unit_of_work

        _harness.create_schema()
        actor = db.session.query(User).first()
        data = payload(hospitals, per_hospital)
        rows = sum(len(v) for v in data.values() if isinstance(v, list))
        for label, body in [("first push (create)", data), ("same payload again", data)]:
            start = time.perf_counter()
            with unit_of_work():
                result = push(body, actor)
            print(f"{label}: {rows:,} rows in {time.perf_counter() - start:.2f} s (changed={result['changed']})")
        full = dict(data, full=True, makers=data["makers"][:450])
        start = time.perf_counter()
        with unit_of_work():
            result = push(full, actor)
        print(f"full push, 50 makers missing: {time.perf_counter() - start:.2f} s "
              f"(deactivated {result['counts']['makers']['deactivated']})")


if __name__ == "__main__":
    main()
