"""Answer time of POST /password-reset/ for a known and an unknown address (the mail itself
goes from a job, so both should take alike). Interleaved runs, median of each.

Run: .venv/bin/python bench/password_reset_time.py [--runs 40]
"""
import argparse
import statistics
import time

import _harness

_harness.prepare()

from app.infra.queue import stop_embedded_redis
from app.seeding.seed import seed_all


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    app = _harness.make_app(_harness.NO_LIMITS)
    with app.app_context():
        _harness.create_schema(roles=True, seed=[seed_all])
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
