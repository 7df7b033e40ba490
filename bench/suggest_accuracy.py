"""Accuracy of app.services.classifications.suggest.suggest on the HELD-OUT hand-labelled set (bench/data/suggest_heldout.csv,
made as bench/data/HELDOUT.md says; never used to tune the synonyms or the weights).

Reports top-1 and top-3 on the names that have a counterpart, twice:
- "no priors": the name (with its parent as context) against the SMDS master;
- "with priors": plus what the OTHER hospitals of the set mapped the same normalized name to
  (leave-one-hospital-out, as screen 7 uses the prior mappings of other hospitals), each vote
  counted as screen 7 counts it (app/services/classifications/evidence.py ``prior_votes``):
  as it is when the other hospital's name sat under a parent of the same normalized name (or
  both have none), else only where the name alone names the voted class (suggest's
  ``prior_other_parents``); the set's parents are unmapped here, as the parent context says,
  so parents agree by name only;
each name ranked with its parent classification (the ``parent`` column) as context, as
screen 7 does; and, for names without a counterpart, how many the default threshold would
auto-accept (each is a wrong mapping), and for names with one, how many it would auto-accept wrongly.
Every miss is listed.

Run: python bench/suggest_accuracy.py [heldout.csv] [master.csv]
(bench/data/suggest_labels.csv, built by build_suggest_labels.py, and
bench/data/suggest_dev_jmdn.csv, 856 hospital-style names labelled by meaning for the third
lexicon pass, are the development sets the synonyms, rules and lexicon were tuned on, as are
bench/data/suggest_dev_e.csv and bench/data/suggest_dev_f.csv (fifth pass: 517 names of eight
imaginary hospitals, written and labelled before the suggester saw them), and
bench/data/suggest_dev_g.csv, suggest_dev_g2.csv, suggest_dev_g3.csv and suggest_dev_g4.csv
(sixth pass: 561 + 153 + 133 + 45 names aimed at the SMDS groups the earlier sets rarely
expected, each labelled before the suggester saw it), and bench/data/suggest_dev_h.csv (seventh
pass: 416 short and abbreviated names, names whose meaning comes from their parent, and names
of two devices or a set, suggest_dev_h2.csv, 155 more of them, and suggest_dev_h3.csv, 97 in
English and half-width kana, suggest_dev_h4.csv, 74 children read with their parent,
and suggest_dev_h5.csv, 66 mixed-width abbreviations and two-device names, each labelled before the suggester saw it),
and bench/data/suggest_dev_j.csv (eighth pass: 339 names of six imaginary hospitals, 119 of them
parts, consumables, rooms, furniture or software with no counterpart; suggest_dev_j3.csv, 73 parts
under devices, makers in front and counts; suggest_dev_j2.csv, 67 more, never tuned on); pass one
explicitly to see it, it proves
nothing about unseen names.)
"""
from __future__ import annotations

import csv
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.core.normalize import match_key  # noqa: E402
from app.services.classifications.suggest import (  # noqa: E402
    AUTO_ACCEPT_THRESHOLD,
    CONTEXT_ONLY_NAMES,
    suggest,
    worth_showing,
)

HELDOUT = ROOT / "bench" / "data" / "suggest_heldout.csv"
MASTER = ROOT / "seeds" / "smds_classification_master.csv"


def load(labels: Path):
    with labels.open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        raw = row.get("expected_ids", row.get("expected_id", "")) or ""
        row["ids"] = [int(x) for x in raw.split("|") if x.strip()]
        row["hospital"] = row.get("hospital") or row.get("source") or "-"
    return rows


def parents_agree(parent: str, other_parent: str) -> bool:
    """Both at the top, or under parents of one normalized name that says something (not その他)."""
    key, other_key = match_key(parent), match_key(other_parent)
    return key == other_key and (not key or key not in CONTEXT_ONLY_NAMES)


def priors_for(rows, row) -> tuple[dict[int, int], dict[int, int]]:
    """Other hospitals' choices for this normalized name, ``{master id: hospitals}``: those
    under a parent that agrees with the row's, and those only under other parents."""
    key = match_key(row["name"])
    votes: dict[int, set] = defaultdict(set)
    agreeing: dict[int, set] = defaultdict(set)
    for other in rows:
        if other["hospital"] != row["hospital"] and other["ids"] and match_key(other["name"]) == key:
            votes[other["ids"][0]].add(other["hospital"])
            if parents_agree(row.get("parent") or "", other.get("parent") or ""):
                agreeing[other["ids"][0]].add(other["hospital"])
    return ({cid: len(h) for cid, h in agreeing.items()},
            {cid: len(h) - len(agreeing.get(cid, ())) for cid, h in votes.items() if len(h) > len(agreeing.get(cid, ()))})


def evaluate(rows, master, use_priors: bool):
    n = top1 = top3 = 0
    wrong_auto = neg_auto = negatives = 0
    misses = []
    for row in rows:
        prior, elsewhere = priors_for(rows, row) if use_priors else (None, None)
        # The hospital's parent classification is context for a level-2/3 name, as on screen 7.
        # As a screen shows them: candidates below MIN_SHOWN_SCORE are not offered.
        ranked = worth_showing(suggest(row["name"], master, prior, limit=3, parent_name=row.get("parent") or None,
                                       prior_other_parents=elsewhere))
        best_id, best_score = ranked[0] if ranked else (None, 0.0)
        auto = best_score >= AUTO_ACCEPT_THRESHOLD
        if not row["ids"]:
            negatives += 1
            if auto:
                neg_auto += 1
                misses.append((row, ranked, "auto-accepted, no counterpart"))
            continue
        n += 1
        ids = [cid for cid, _ in ranked]
        hit1 = best_id in row["ids"]
        top1 += hit1
        top3 += any(cid in row["ids"] for cid in ids)
        if auto and not hit1:
            wrong_auto += 1
        if not hit1:
            misses.append((row, ranked, "wrong top-1" + (" (auto-accepted!)" if auto else "")))
    return dict(n=n, top1=top1, top3=top3, negatives=negatives, neg_auto=neg_auto,
                wrong_auto=wrong_auto, misses=misses)


def main(labels: Path = HELDOUT, master_path: Path = MASTER) -> None:
    with master_path.open(encoding="utf-8-sig") as handle:
        master = [(int(r[0]), r[1]) for r in csv.reader(handle) if r and r[0].isdigit()]
    names = dict(master)
    rows = load(labels)
    print(f"labels: {labels.relative_to(ROOT) if labels.is_relative_to(ROOT) else labels}  "
          f"names: {len(rows)}  master: {len(master)}  auto-accept threshold: {AUTO_ACCEPT_THRESHOLD:g}")
    for use_priors in (False, True):
        started = time.perf_counter()
        r = evaluate(rows, master, use_priors)
        elapsed = time.perf_counter() - started
        label = "with priors" if use_priors else "no priors"
        print(f"{label:12s} n={r['n']:4d}  top-1 {100 * r['top1'] / r['n']:6.2f} %  "
              f"top-3 {100 * r['top3'] / r['n']:6.2f} %  wrong auto-accepts {r['wrong_auto']}  | "
              f"no counterpart n={r['negatives']} auto-accepted {r['neg_auto']}  "
              f"({1000 * elapsed / max(len(rows), 1):.2f} ms/name)")
    print(f"misses with priors ({len(r['misses'])}):")
    for row, ranked, why in r["misses"]:
        got = ", ".join(f"{names[cid]} {score:g}" for cid, score in ranked)
        expected = "|".join(names[i] for i in row["ids"]) or "(none)"
        under = f" (under {row['parent']})" if row.get("parent") else ""
        print(f"  [{row['hospital']}] {row['name']}{under} → {expected}; got {got} — {why}")


if __name__ == "__main__":
    main(*[Path(a) for a in sys.argv[1:3]])
