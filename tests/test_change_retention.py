"""Retention of the change log (app.services.sync.retention): old entries superseded by a
newer one of the same thing go; each thing's first and latest entries stay; a pull from 0
after pruning ends in the same state; the command says what it removed; workers schedule
the daily job once a day."""
from __future__ import annotations

import datetime as dt
import random
from collections import Counter

import pytest
from rq import Queue
from sqlalchemy import event, insert, select, update

from app.core.months import utc_now
from app.extensions import db
from app.infra.queue import redis_connection
from app.jobs import change_log
from app.models import Organization, OrganizationKind, SyncChange, User, UserStatus
from app.services.sync.retention import prune_changes

from .test_sync_pull import key_file, onprem, run_pull, served, summary  # noqa: F401  (fixtures)

NEW_CODE = "H9001"
NEW_USER = "retention@h9001.example.jp"


def entries(code_or_user: str | None = None) -> list[tuple[int, str, str, str | None]]:
    query = select(SyncChange.seq, SyncChange.entity, SyncChange.key, SyncChange.payload).order_by(SyncChange.seq)
    if code_or_user is not None:
        query = query.where(SyncChange.key == code_or_user)
    return [(seq, entity, key, (payload or {}).get("phone") if payload else None)
            for seq, entity, key, payload in db.session.execute(query)]


def make_history() -> None:
    """A new hospital (entry 1), a user of it (2), the hospital's phone changed twice (3, 4),
    the user removed (tombstone 5)."""
    hospital = Organization(code=NEW_CODE, kind=OrganizationKind.hospital.value, name="保存期間病院", phone="03-0000-0001")
    db.session.add(hospital)
    db.session.commit()
    db.session.add(User(first_name="保存 太郎", last_name="", username=NEW_USER, email=NEW_USER, active=True,
                        status=UserStatus.active, organization=hospital))
    db.session.commit()
    for phone in ("03-0000-0002", "03-0000-0003"):
        hospital.phone = phone
        db.session.commit()


def age_everything(days: int) -> None:
    db.session.execute(update(SyncChange).values(changed_at=utc_now() - dt.timedelta(days=days)))
    db.session.commit()


def test_prune_keeps_the_first_and_latest_entry_of_each_thing(ctx):
    make_history()
    hospital_entries = entries(NEW_CODE)
    assert [phone for *_x, phone in hospital_entries] == ["03-0000-0001", "03-0000-0002", "03-0000-0003"]
    # Young entries are never pruned, superseded or not.
    assert prune_changes(db.session, 90).total == 0
    age_everything(100)
    before = entries()
    result = prune_changes(db.session, 90)
    db.session.commit()
    # Only the middle phone change of H9001 was superseded by a later one and not a first.
    assert result.removed.get("organization", 0) >= 1
    assert entries(NEW_CODE) == [hospital_entries[0], hospital_entries[2]]
    after = entries()
    removed = {seq for seq, *_x in before} - {seq for seq, *_x in after}
    assert hospital_entries[1][0] in removed and len(removed) == result.total
    # every thing keeps its first and its latest entry, in the same order (same seqs)
    firsts, lasts = {}, {}
    for seq, entity, key, _phone in before:
        firsts.setdefault((entity, key), seq)
        lasts[(entity, key)] = seq
    assert set(firsts.values()) | set(lasts.values()) <= {seq for seq, *_x in after}
    assert [seq for seq, *_x in after] == sorted(seq for seq, *_x in after)
    # Pruning again removes nothing more.
    assert prune_changes(db.session, 90).total == 0


def test_a_tombstone_is_kept_and_what_it_supersedes_goes(ctx):
    make_history()
    user = db.session.scalars(select(User).where(User.username == NEW_USER)).one()
    user.first_name = "保存 次郎"
    db.session.commit()
    db.session.delete(user)
    db.session.commit()
    user_entries = entries(NEW_USER)
    assert len(user_entries) == 3 and user_entries[-1][3] is None
    age_everything(100)
    prune_changes(db.session, 90)
    db.session.commit()
    kept = db.session.execute(select(SyncChange.seq, SyncChange.payload).where(SyncChange.key == NEW_USER)
                              .order_by(SyncChange.seq)).all()
    assert [seq for seq, _p in kept] == [user_entries[0][0], user_entries[2][0]]
    assert kept[-1].payload is None  # the deletion is still pulled


def test_cli_prints_what_it_removed(app, ctx):
    make_history()
    age_everything(40)
    runner = app.test_cli_runner()
    kept = runner.invoke(args=["optiserve", "changes", "prune"])  # default: 90 days
    assert kept.exit_code == 0, kept.output
    assert "(90 days), 0 superseded removed" in kept.output
    pruned = runner.invoke(args=["optiserve", "changes", "prune", "--older-than-days", "30", "--batch-size", "1"])
    assert pruned.exit_code == 0, pruned.output
    assert "(30 days)" in pruned.output and "superseded removed" in pruned.output
    assert "  organization: " in pruned.output
    total = int(pruned.output.split("superseded removed")[0].rsplit(" ", 1)[0].rsplit(" ", 1)[-1])
    assert total >= 1
    db.session.expire_all()
    assert len(entries(NEW_CODE)) == 2


def test_pull_from_zero_after_pruning_gives_the_same_state(app, onprem, key_file, tmp_path):  # noqa: F811
    with app.app_context():
        make_history()
        age_everything(100)
        latest = db.session.scalar(select(SyncChange.seq).order_by(SyncChange.seq.desc()).limit(1))
        assert prune_changes(db.session, 90).total >= 1
        db.session.commit()
    with served(app) as base:
        result = run_pull(onprem, base, key_file, tmp_path / "state.json", "--no-uploads", "--limit", "100")
    assert result.exit_code == 0, result.output
    assert summary(result)["cursor"] == latest  # the cursor reaches the same place
    with onprem.app_context():
        hospital = db.session.scalars(select(Organization).where(Organization.code == NEW_CODE)).one()
        assert hospital.phone == "03-0000-0003"
        # The user's entry came before the hospital's latest one: it still finds its hospital,
        # because the hospital's first entry was kept.
        user = db.session.scalars(select(User).where(User.username == NEW_USER)).one()
        assert user.organization_id == hospital.id
        local = set(db.session.execute(select(Organization.code, Organization.name, Organization.phone)))
    with app.app_context():
        assert local == set(db.session.execute(select(Organization.code, Organization.name, Organization.phone)))


def test_a_prune_in_many_batches_removes_exactly_the_superseded_old_entries(app, ctx):
    """80 things with 1–12 entries each, interleaved, old and young: pruned in batches of 7
    entries, each in its own transaction, the survivors are those computed here."""
    rng = random.Random(20261130)
    now = utc_now()
    rows = []
    for round_ in range(12):
        for thing in range(80):
            if rng.random() < 0.7:
                age = rng.choice([200, 120, 91, 89, 10]) if round_ < 10 else rng.choice([95, 5])
                rows.append({"entity": ("organization", "user", "ledger_setting")[thing % 3],
                             "key": f"BATCH-{thing:03d}", "organization_id": None,
                             "payload": None if rng.random() < 0.1 else {"round": round_},
                             "changed_at": now - dt.timedelta(days=age, minutes=thing)})
    db.session.execute(insert(SyncChange.__table__), rows)
    db.session.commit()
    before = db.session.execute(select(SyncChange.seq, SyncChange.entity, SyncChange.key,
                                       SyncChange.changed_at).order_by(SyncChange.seq)).all()
    cutoff = now - dt.timedelta(days=90)
    seqs_of: dict[tuple[str, str], list[int]] = {}
    for seq, entity, key, _at in before:
        seqs_of.setdefault((entity, key), []).append(seq)
    expected_gone = {seq for seq, entity, key, at in before
                     if at < cutoff and seq not in (seqs_of[(entity, key)][0], seqs_of[(entity, key)][-1])}
    assert len(expected_gone) > 100

    # A change committed while the prune runs (after its third batch): a new thing, and a newer
    # entry of the thing whose latest entry is the oldest latest.
    latest_of = {thing: seqs[-1] for thing, seqs in seqs_of.items()}
    overtaken = min(latest_of, key=latest_of.get)
    appended = [{"entity": "organization", "key": "BATCH-NEW", "organization_id": None, "payload": {},
                 "changed_at": now},
                {"entity": overtaken[0], "key": overtaken[1], "organization_id": None, "payload": {},
                 "changed_at": now}]
    batches, commits = [], []

    def note_batch(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().startswith("DELETE FROM sync_change"):
            batches.append(context.compiled_parameters[0])

    def note_commit(session):
        commits.append(len(batches))
        if len(batches) == 3 and len(commits) == 4:
            with db.engine.begin() as other:
                other.execute(insert(SyncChange.__table__), appended)

    event.listen(db.engine, "before_cursor_execute", note_batch)
    event.listen(db.session(), "after_commit", note_commit)
    try:
        result = prune_changes(db.session, 90, now=now, batch_size=7)
    finally:
        event.remove(db.engine, "before_cursor_execute", note_batch)
        event.remove(db.session(), "after_commit", note_commit)
    after = db.session.execute(select(SyncChange.seq, SyncChange.key)).all()
    assert {key for _seq, key in after} >= {"BATCH-NEW"}
    assert len([1 for _seq, key in after if key == overtaken[1]]) >= 2
    gone = {seq for seq, *_x in before} - {seq for seq, _key in after}
    # The overtaken latest entry, old and now superseded, may go if its batch came after the change.
    assert expected_gone <= gone <= expected_gone | {latest_of[overtaken]}
    assert result.total == len(gone)
    gone_by_entity = Counter(entity for seq, entity, _k, _a in before if seq in gone)
    assert result.removed == dict(sorted(gone_by_entity.items()))
    # Many transactions, each examining at most 7 entries: a commit after every batch.
    assert len(batches) > len(expected_gone) // 7
    for parameters in batches:
        assert sum(parameters["after"] < seq <= parameters["upto"] for seq, *_x in before) <= 7
    assert commits[-len(batches):] == list(range(1, len(batches) + 1))
    assert prune_changes(db.session, 90, now=now, batch_size=7).total == 0


def _forget_schedule(connection) -> None:
    for key in connection.keys("optiserve:change-log-prune*"):  # DONE_KEY, CLAIM_KEY
        connection.delete(key)


def test_workers_schedule_the_prune_once_a_day(app, ctx):
    connection = redis_connection()
    queue = Queue("test-change-log-prune", connection=connection)
    _forget_schedule(connection)
    try:
        assert change_log.schedule_prune_if_due(queue) is True
        assert change_log.schedule_prune_if_due(queue) is False  # another worker, job not run yet
        job = queue.jobs[0]
        assert job.func is change_log.prune_job
        make_history()
        age_everything(app.config["CHANGE_LOG_RETENTION_DAYS"] + 1)
        assert job.func() >= 1
        assert len(entries(NEW_CODE)) == 2
        # Done: no worker enqueues it again for 24 hours, and a duplicate that starts late does nothing.
        assert 0 < connection.ttl(change_log.DONE_KEY) <= 24 * 3600
        assert change_log.schedule_prune_if_due(queue) is False
        assert len(queue.jobs) == 1
        assert job.func() == 0
    finally:
        queue.empty()
        _forget_schedule(connection)


def test_a_failed_enqueue_or_prune_is_retried_at_the_next_cycle(app, ctx, monkeypatch):
    connection = redis_connection()
    queue = Queue("test-change-log-prune", connection=connection)
    _forget_schedule(connection)
    try:
        real_enqueue = queue.enqueue

        def broken_enqueue(*args, **kwargs):
            raise ConnectionError("redis went away")

        monkeypatch.setattr(queue, "enqueue", broken_enqueue)
        with pytest.raises(ConnectionError):
            change_log.schedule_prune_if_due(queue)  # the worker logs this
        monkeypatch.setattr(queue, "enqueue", real_enqueue)
        assert change_log.schedule_prune_if_due(queue) is True  # next cycle
        assert len(queue.jobs) == 1

        def broken_prune(*args, **kwargs):
            raise RuntimeError("database went away")

        monkeypatch.setattr("app.services.sync.retention.prune_changes", broken_prune)
        with pytest.raises(RuntimeError):
            queue.jobs[0].func()
        queue.empty()
        assert change_log.schedule_prune_if_due(queue) is True  # next cycle, not tomorrow
        monkeypatch.undo()
        make_history()
        age_everything(app.config["CHANGE_LOG_RETENTION_DAYS"] + 1)
        assert queue.jobs[0].func() >= 1
        assert change_log.schedule_prune_if_due(queue) is False
    finally:
        queue.empty()
        _forget_schedule(connection)
