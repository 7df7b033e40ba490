"""Stored figures (issue 14): a hospital-month is computed once when its data changes and
stored; what is stored equals a fresh computation, on multi-month data; a data change
(ingest / ledger setting: after_data_change; a mapping; the SMDS master) makes it stale, a
presentation change (selection, grouping) makes a new key."""
from __future__ import annotations

import datetime as dt
import json
import random

import pytest
from sqlalchemy import insert, select

from app.core.months import add_months
from app.extensions import db
from app.models import Classification, Equipment, Failure, Lending, ReportSelection, StoredFigures
from app.services.classifications.mapping import set_mapping
from app.services.ledger.device_months import list_devices
from app.services.reports import stored

from .report_data import MONTH, hospital, make_dataset

MONTHS = [add_months(MONTH, i) for i in range(-13, 2)]  # 2024-04 … 2025-06


def plain(data):
    return json.loads(json.dumps(data, default=str))


def add_history(hospital_id: int, devices: int = 60, seed: int = 11) -> None:
    """A year and more of random lendings and failures (as bench/report.py makes them)."""
    rng = random.Random(seed)
    leaves = []
    for a in range(3):
        top = Classification(hospital_id=hospital_id, level=1, name=f"大分類{a}", normalized_name=f"大分類{a}")
        db.session.add(top)
        db.session.flush()
        for b in range(2):
            leaf = Classification(hospital_id=hospital_id, level=2, parent_id=top.id, name=f"中分類{a}-{b}",
                                  normalized_name=f"中分類{a}-{b}")
            db.session.add(leaf)
            db.session.flush()
            leaves.append(leaf.id)
    rows = [dict(hospital_id=hospital_id, device_number=f"R{i:04d}", classification_id=rng.choice(leaves),
                 model_number=f"M-{rng.randrange(8)}", maker_name=f"メーカー{rng.randrange(3)}", product_name="機器",
                 department_use=f"病棟{rng.randrange(4)}",
                 expires_on=dt.date(2022, 1, 1) + dt.timedelta(days=rng.randrange(12 * 365)),
                 delivered_on=dt.date(2024, 1, 1) + dt.timedelta(days=rng.randrange(500)) if rng.random() < .3 else None,
                 default_counts=rng.random() > 0.05)
            for i in range(devices)]
    db.session.execute(insert(Equipment), rows)
    every = list(db.session.scalars(select(Equipment.id).where(Equipment.hospital_id == hospital_id)))
    list_devices(db.session, hospital_id, dt.date(2024, 5, 1), every)  # the one ledger lists D1–D5 too
    ids = list(db.session.scalars(select(Equipment.id).where(Equipment.device_number.like("R%"),
                                                             Equipment.hospital_id == hospital_id)))
    lendings, failures = [], []
    for m in MONTHS[1:]:
        start = dt.datetime(m.year, m.month, 1)
        span = (dt.datetime.combine(add_months(m, 1), dt.time()) - start).total_seconds()
        for _ in range(rng.randrange(40, 90)):
            lent = start + dt.timedelta(seconds=int(rng.random() * span) // 60 * 60)
            lendings.append(dict(hospital_id=hospital_id, equipment_id=rng.choice(ids), month=m, lent_at=lent,
                                 returned_at=lent + dt.timedelta(minutes=rng.randrange(30, 20000)),
                                 department=f"病棟{rng.randrange(5)}"))
        for _ in range(rng.randrange(2, 8)):
            failed = start + dt.timedelta(seconds=int(rng.random() * span) // 60 * 60)
            failures.append(dict(hospital_id=hospital_id, equipment_id=rng.choice(ids), month=m, failed_at=failed,
                                 repaired_at=failed + dt.timedelta(minutes=rng.randrange(60, 30000)),
                                 description="動作不良"))
    db.session.execute(insert(Lending), lendings)
    db.session.execute(insert(Failure), failures)
    db.session.commit()


@pytest.fixture()
def history(ctx):
    data = make_dataset()
    add_history(data["hospital"])
    return data


def stored_count(hospital_id):
    return db.session.query(StoredFigures).filter_by(hospital_id=hospital_id).count()


def test_stored_equals_fresh_for_every_month(history):
    h = history["hospital"]
    for month in MONTHS:
        first = stored.load(h, month)
        db.session.expire_all()
        again = stored.load(h, month)  # read back from the table
        assert again == first == plain(stored.compute(h, month)), month
    assert stored_count(h) == len(MONTHS)
    may = stored.load(h, MONTH)
    everything = next(s for s in may["scopes"] if s["key"] == "all")
    lendings = next(r for r in everything["lending"] if r["key"] == "lendings")
    assert lendings["value"] > 40 and len(lendings["trend"]) == 13 and lendings["last_year"] is not None
    assert may["ranking"] and everything["life"] and everything["models_near_end"]


def test_fresh_row_is_read_not_recomputed(history, monkeypatch):
    h = history["hospital"]
    first = stored.load(h, MONTH)
    monkeypatch.setattr(stored, "compute", lambda *a: pytest.fail("recomputed a fresh stored month"))
    assert stored.load(h, MONTH) == first


def test_data_change_makes_every_month_stale(history):
    h = history["hospital"]
    before = stored.load(h, MONTH)
    april = stored.load(h, add_months(MONTH, -1))
    june = stored.load(h, add_months(MONTH, 1))
    db.session.add(Lending(hospital_id=h, equipment_id=history["devices"]["D4"], month=MONTH,
                           lent_at=dt.datetime(2025, 5, 15), returned_at=dt.datetime(2025, 5, 16), department="手術室"))
    db.session.commit()
    assert stored.load(h, MONTH) == before  # no change announced yet: the stored month is served
    from app.infra.queue import redis_connection
    from app.services.reports import after_data_change

    try:
        after_data_change(h)
    finally:
        for key in redis_connection().keys("rq:job:revise-*"):
            redis_connection().delete(key)
    after = stored.load(h, MONTH)
    assert after == plain(stored.compute(h, MONTH)) and after != before
    lendings = {r["key"]: r for r in after["scopes"][0]["lending"]}["lendings"]
    assert lendings["value"] == {r["key"]: r for r in before["scopes"][0]["lending"]}["lendings"]["value"] + 1
    # June compares with May: it is recomputed too; April is unchanged but recomputed equal.
    assert stored.load(h, add_months(MONTH, 1)) != june
    assert stored.load(h, add_months(MONTH, -1)) == april


def test_mapping_change_and_master_change_make_months_stale(history):
    h = hospital()
    h.report_grouping = "smds"
    db.session.commit()
    before = stored.load(h.id, MONTH)
    pump = db.session.scalars(select(Classification).where(Classification.hospital_id.is_(None),
                                                           Classification.name == "輸液ポンプ")).one()
    set_mapping(db.session, db.session.get(Classification, history["p1"]), pump.id, "manual")
    db.session.commit()
    after = stored.load(h.id, MONTH)
    assert after != before and after == plain(stored.compute(h.id, MONTH))
    assert any(r["name"] == "輸液ポンプ" for r in after["ranking"])
    from app.services.classifications.mapping import rename_common

    rename_common(db.session, pump.id, "輸液ポンプ改")
    db.session.commit()
    renamed = stored.load(h.id, MONTH)
    assert any(r["name"] == "輸液ポンプ改" for r in renamed["ranking"])


def test_selection_change_is_a_new_key_and_publish_stores(history):
    h = hospital()
    before = stored.load(h.id, MONTH)
    assert [s["key"] for s in before["scopes"]][0] == "all" and before["automatic"] is True
    db.session.add(ReportSelection(hospital_id=h.id, classification_id=history["q1"], rank=1))
    db.session.commit()
    after = stored.load(h.id, MONTH)
    assert after["automatic"] is False and [s["name"] for s in after["scopes"]] == ["全機器", "モニタ"]
    assert stored_count(h.id) == 1  # one presentation kept per month
    from app.services.reports.service import publish_month

    june = add_months(MONTH, 1)
    publish_month(h.id, june, notify=False)
    row = db.session.scalars(select(StoredFigures).where(StoredFigures.month == june)).one()
    assert row.data == plain(stored.compute(h.id, june))


def test_revision_job_warms_the_dashboard_months(history):
    """After a data change the revision job computes the 13 months ending with the newest
    month with data, so the dashboard finds them stored."""
    from app.jobs.reports import _warm_stored_figures

    h = history["hospital"]
    _warm_stored_figures(h)
    months = {r.month for r in db.session.query(StoredFigures).filter_by(hospital_id=h)}
    newest = max(MONTHS)
    assert months == {m for m in MONTHS if add_months(newest, -12) <= m <= newest}
    for row in db.session.query(StoredFigures).filter_by(hospital_id=h):
        assert row.data == plain(stored.compute(h, row.month))
