"""Helpers of the suggest() tests (test_suggest.py, test_suggest_rules.py, test_suggest_models.py):
the real SMDS master, and a name's ranked candidates by master name."""
import csv
from functools import lru_cache
from pathlib import Path

from app.services.classifications.suggest import suggest

MASTER = Path(__file__).resolve().parent.parent / "seeds" / "smds_classification_master.csv"


@lru_cache(maxsize=1)
def load_master() -> tuple[tuple[int, str], ...]:
    with MASTER.open(encoding="utf-8-sig") as handle:
        return tuple((int(row[0]), row[1]) for row in csv.reader(handle) if row and row[0].isdigit())


def top(name, master, prior=None):
    names = dict(master)
    (cid, score), *_ = suggest(name, master, prior)
    return names[cid], score


def ranked_names(name, master, parent):
    names = dict(master)
    return [(names[cid], score) for cid, score in suggest(name, master, parent_name=parent)]


def ranked_under(name, master, parent, mapped_to=None, grandparent=None):
    names, ids = dict(master), {cname: cid for cid, cname in master}
    grand = (grandparent[0], ids.get(grandparent[1])) if grandparent else None
    return [(names[cid], score) for cid, score in suggest(
        name, master, parent_name=parent, parent_mapped_id=ids.get(mapped_to), grandparent=grand)]


def ranked_with(name, master, parent=None, prior=None):
    names = dict(master)
    return [(names[cid], score) for cid, score in suggest(name, master, prior, parent_name=parent)]
