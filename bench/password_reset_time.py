"""Answer time of POST /password-reset/ for a known and an unknown address (the mail itself
goes from a job, so both should take alike). Interleaved runs, median of each.

Run: .venv/bin/python bench/password_reset_time.py [--runs 40]
"""
import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ["OPTISERVE_INSTANCE_DIR"] = tempfile.mkdtemp(prefix="optiserve-bench-")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_appbuilder import Model

from app import create_app
from app.access.role_sync import sync_roles
from app.extensions import db
from app.infra.queue import stop_embedded_redis
from app.seeding.seed import seed_all


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    app = create_app({"WTF_CSRF_ENABLED": False, "AUTH_RATE_LIMITED": False,
                      "RATELIMIT_ENABLED": False})
    with app.app_context():
        Model.metadata.create_all(db.engine)
        sync_roles()
        seed_all()
    client = app.test_client()
    addresses = {"known": "user@sakura-hp.example.jp", "unknown": "ghost@sakura-hp.example.jp"}
    times = {name: [] for name in addresses}
    for email in addresses.values():  # warm-up
        client.post("/password-reset/", data={"email": email})
    for _ in range(args.runs):
        for name, email in addresses.items():
            start = time.perf_counter()
            response = client.post("/password-reset/", data={"email": email})
            times[name].append(time.perf_counter() - start)
            assert response.status_code == 302
    for name, runs in times.items():
        print(f"POST /password-reset/ {name:7}: median {statistics.median(runs) * 1000:.1f} ms")
    stop_embedded_redis()


if __name__ == "__main__":
    main()
