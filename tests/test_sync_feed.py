"""The on-prem changes feed (GET /api/v1/system/changes): what is logged, in which order, how
it pages, and that a transaction committing late is never skipped (PostgreSQL)."""
from __future__ import annotations

import json
import os
import threading
import time

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import Classification, Equipment, Organization, SyncChange
from app.services.classifications.mapping import set_mapping
from app.services.ledger import maintenance as ledger
from app.services.partners import dealers, manufacturers
from app.services.reports import selection as report_selection
from app.services.sync import changes, feed

from .conftest import HOSPITAL_A, user_by_email
from .test_api_keys import bearer, key_for

SYSTEM = "system@smds.example"


@pytest.fixture()
def system_key(app, ctx):
    return key_for(app, SYSTEM)


def org(code) -> Organization:
    return db.session.scalars(select(Organization).where(Organization.code == code)).one()


def last_seq() -> int:
    return db.session.scalar(select(func.max(SyncChange.seq))) or 0


def pull(client, key, since, limit=None):
    query = f"?since={since}" + (f"&limit={limit}" if limit else "")
    response = client.get(f"/api/v1/system/changes/{query}", headers=bearer(key))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def add_devices(hospital_id, count, prefix="D"):
    db.session.execute(insert(Equipment), [
        dict(hospital_id=hospital_id, device_number=f"{prefix}{i:05d}", product_name="輸液ポンプ",
             default_counts=True) for i in range(count)])
    db.session.commit()


def test_changes_of_every_kind_arrive_in_order_without_secrets(client, system_key):
    start = last_seq()
    hospital = org("H0001")
    hospital.phone = "03-0000-1111"
    db.session.commit()
    user = user_by_email(HOSPITAL_A)
    user.first_name = "同期 太郎"
    user.login_count = (user.login_count or 0) + 5  # a counter only: not a change by itself
    db.session.commit()
    own = Classification(hospital_id=hospital.id, level=1, name="院内分類X", normalized_name="院内分類x")
    db.session.add(own)
    db.session.commit()
    common = db.session.scalars(select(Classification).where(Classification.hospital_id.is_(None))
                                .order_by(Classification.id)).first()
    set_mapping(db.session, own, common.id, "manual")
    db.session.commit()
    report_selection.save_selection(db.session, hospital, [own.id])
    db.session.commit()
    dealers.grant(hospital, "dealer@towa-medical.example.jp", 2, "同期テスト", None)
    maker = org("M0001") if db.session.scalar(select(Organization).where(Organization.code == "M0001")) else \
        db.session.scalars(select(Organization).where(Organization.kind == "manufacturer")).first()
    hospitals = [h.id for h in manufacturers.candidate_hospitals()][:1]
    manufacturers.save_selection(maker, hospitals)
    add_devices(hospital.id, 3)
    ids = [e.id for e in db.session.scalars(select(Equipment).where(Equipment.hospital_id == hospital.id,
                                                                     Equipment.device_number.like("D%")))]
    ledger.change(hospital.id, ledger.Target(ids=ids), counts=False, reason="同期テスト")
    db.session.commit()

    page = pull(client, system_key, start)
    entries = page["result"]
    seqs = [e["seq"] for e in entries]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert page["next_cursor"] == seqs[-1] and page["has_more"] is False
    kinds = [e["entity"] for e in entries]
    assert kinds[0] == "organization" and entries[0]["data"]["phone"] == "03-0000-1111"
    users = [e for e in entries if e["entity"] == "user"]
    assert len(users) == 1 and users[0]["data"]["first_name"] == "同期 太郎"
    assert users[0]["data"]["organization"] == "H0001" and users[0]["key"] == HOSPITAL_A
    for secret in ("password", "totp_secret", "totp_last_step", "session_generation", "login_count"):
        assert secret not in users[0]["data"]
    mapped = [e for e in entries if e["entity"] == "classification"][-1]["data"]
    assert mapped["classification"] == {"hospital": "H0001", "path": ["院内分類X"]}
    assert mapped["smds_classification"] == {"hospital": None, "path": [common.name]}
    selection = [e for e in entries if e["entity"] == "report_selection"][-1]["data"]
    assert selection["classifications"] == [{"hospital": "H0001", "path": ["院内分類X"]}]
    permission = [e for e in entries if e["entity"] == "dealer_permission"][-1]
    assert permission["key"] == "H0001/dealer@towa-medical.example.jp" and permission["data"]["level"] == 2
    chosen = [e for e in entries if e["entity"] == "manufacturer_selection"][-1]["data"]
    newest = max(s["month"] for s in chosen["selections"])  # every month's selection, the new one last
    assert [s["hospital"] for s in chosen["selections"] if s["month"] == newest] == [
        db.session.get(Organization, hospitals[0]).code]
    devices = [e for e in entries if e["entity"] == "ledger_setting"]
    assert sorted(e["data"]["device_number"] for e in devices) == ["D00000", "D00001", "D00002"]
    assert all(e["data"]["override_counts"] is False for e in devices)  # the bulk update was seen


def test_paging_same_cursor_same_entries_and_cursor_when_empty(client, system_key):
    start = last_seq()
    add_devices(org("H0002").id, 25)
    ids = list(db.session.scalars(select(Equipment.id).where(Equipment.device_number.like("D%"))))
    ledger.change(org("H0002").id, ledger.Target(ids=ids), counts=False, reason="paging")
    db.session.commit()
    seen, cursor = [], start
    while True:
        page = pull(client, system_key, cursor, limit=10)
        again = pull(client, system_key, cursor, limit=10)
        assert again["result"] == page["result"] and again["next_cursor"] == page["next_cursor"]
        seen += page["result"]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    assert json.loads(feed.page_body(db.session, start, 10)) == feed.page(db.session, start, 10)
    assert len(seen) == 25 and [e["seq"] for e in seen] == sorted(e["seq"] for e in seen)
    assert len({e["key"] for e in seen}) == 25
    empty = pull(client, system_key, cursor)
    assert empty["result"] == [] and empty["next_cursor"] == cursor and empty["has_more"] is False
    assert pull(client, system_key, 10**12)["next_cursor"] == 10**12
    h = bearer(system_key)
    assert client.get("/api/v1/system/changes/?since=-1", headers=h).status_code == 400
    assert client.get("/api/v1/system/changes/?since=x", headers=h).status_code == 400
    assert client.get("/api/v1/system/changes/?limit=1001", headers=h).status_code == 400
    assert client.get("/api/v1/system/changes/?limit=0", headers=h).status_code == 400


def test_one_entry_per_thing_per_transaction_and_rollback_leaves_none(ctx):
    start = last_seq()
    hospital = org("H0003")
    hospital.phone = "1"
    db.session.flush()
    hospital.phone = "2"
    db.session.commit()
    rows = list(db.session.scalars(select(SyncChange).where(SyncChange.seq > start)))
    assert [(r.entity, r.payload["phone"]) for r in rows] == [("organization", "2")]
    hospital.phone = "3"
    db.session.flush()
    db.session.rollback()
    assert last_seq() == rows[0].seq
    assert not db.session.info.get(changes.NOTES)


def test_a_hospital_key_is_refused(client, app, ctx):
    key = key_for(app, HOSPITAL_A)
    assert client.get("/api/v1/system/changes/", headers=bearer(key)).status_code == 403
    assert client.get("/api/v1/system/changes/").status_code == 401


@pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgresql"),
                    reason="PostgreSQL only: SQLite has one writer at a time (CI runs both modes)")
def test_a_lower_seq_committing_last_is_never_skipped(ctx):
    """Transaction A takes its seq and stalls before COMMIT; B (a later seq) commits meanwhile.
    A reader must never see B without A: B waits for A, and the cursor never passes A."""
    start = last_seq()
    engine = db.engine
    a, b, reader = Session(engine), Session(engine), Session(engine)
    try:
        a.get(Organization, org("H0001").id).phone = "A"
        changes._before_commit(a)  # A's change row is written (its seq taken); COMMIT not yet
        a_seq = a.scalar(select(func.max(SyncChange.seq)))
        assert a_seq > start

        b_done = threading.Event()
        h2 = org("H0002").id

        def commit_b():
            b.get(Organization, h2).phone = "B"
            b.commit()
            b_done.set()

        thread = threading.Thread(target=commit_b)
        thread.start()
        time.sleep(0.5)
        assert not b_done.is_set()  # B cannot take a seq while A is uncommitted
        mid = feed.page(reader, start)
        reader.rollback()
        assert mid["result"] == [] and mid["next_cursor"] == start
        a.commit()
        thread.join(10)
        assert b_done.is_set()
        after = feed.page(reader, mid["next_cursor"])
        assert [(e["entity"], e["data"]["phone"]) for e in after["result"]] == [
            ("organization", "A"), ("organization", "B")]
        assert after["result"][0]["seq"] == a_seq < after["result"][1]["seq"]
    finally:
        for session in (a, b, reader):
            session.close()
