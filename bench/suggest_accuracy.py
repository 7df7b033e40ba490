"""Accuracy of app.services.classifications.suggest.suggest on a labelled CSV (name, expected_id[, expected_name, source]).

Prints top-1 and top-3 accuracy (overall and per source), the rate of names without a
counterpart (empty expected_id) that would be auto-accepted, and every miss.

Run: python bench/suggest_accuracy.py [labels.csv] [master.csv]
"""
from __future__ import annotations

import csv
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.services.classifications.suggest import AUTO_ACCEPT_THRESHOLD, suggest

LABELS = ROOT / "bench" / "data" / "suggest_labels.csv"
MASTER = ROOT / "seeds" / "smds_classification_master.csv"


def main(labels: Path = LABELS, master_path: Path = MASTER) -> None:
    with master_path.open(encoding="utf-8-sig") as handle:
        master = [(int(r[0]), r[1]) for r in csv.reader(handle) if r and r[0].isdigit()]
    names = dict(master)
    with labels.open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    totals = defaultdict(lambda: [0, 0, 0])  # source -> [n, top1, top3]
    negatives = [0, 0]  # n, auto-accepted by mistake
    misses = []
    started = time.perf_counter()
    for row in rows:
        ranked = suggest(row["name"], master, limit=3)
        source = row.get("source") or "-"
        if not row["expected_id"]:
            negatives[0] += 1
            if ranked and ranked[0][1] >= AUTO_ACCEPT_THRESHOLD:
                negatives[1] += 1
                misses.append((source, row["name"], "(none)", ranked))
            continue
        expected = int(row["expected_id"])
        ids = [cid for cid, _ in ranked]
        for key in (source, "ALL"):
            totals[key][0] += 1
            totals[key][1] += ids[:1] == [expected]
            totals[key][2] += expected in ids
        if ids[:1] != [expected]:
            misses.append((source, row["name"], names.get(expected, expected), ranked))
    elapsed = time.perf_counter() - started
    print(f"labelled names: {len(rows)}  master: {len(master)}  time: {elapsed:.2f}s "
          f"({1000 * elapsed / max(len(rows), 1):.2f} ms/name)")
    for source in sorted(totals, key=lambda s: (s == "ALL", s)):
        n, top1, top3 = totals[source]
        print(f"{source:20s} n={n:4d}  top-1 {100 * top1 / n:6.2f} %  top-3 {100 * top3 / n:6.2f} %")
    if negatives[0]:
        print(f"{'negative':20s} n={negatives[0]:4d}  auto-accepted by mistake (≥{AUTO_ACCEPT_THRESHOLD:g}): "
              f"{negatives[1]}")
    print(f"misses ({len(misses)}):")
    for source, name, expected, ranked in misses:
        got = ", ".join(f"{names[cid]} {score:g}" for cid, score in ranked)
        print(f"  [{source}] {name} → expected {expected}; got {got}")


if __name__ == "__main__":
    args = [Path(a) for a in sys.argv[1:3]]
    main(*args)
