"""Anchors of the audit chain head outside the database, and what `audit-verify` detects
with them: a rewritten chain (edited rows, every later hash recomputed with the key), a
deleted tail, a deleted middle row, a forged anchor."""
import datetime as dt
import json
import os
import stat

import pytest
from flask import current_app
from rq import Queue
from sqlalchemy import text

from app.core.months import add_months, first_of_month, utc_now
from app.extensions import db
from app.infra.queue import redis_connection
from app.infra.storage import KeyExistsError, storage_from_url
from app.models import AuditEvent, Organization
from app.services.audit import anchors as audit_anchors
from app.services.audit import trail as audit

from .test_audit import all_rows, make_events, rewrite_from, run_verify
from .test_storage import BUCKET, aws_env, moto_endpoint  # noqa: F401  (fixtures)


@pytest.fixture()
def store(app, tmp_path, monkeypatch):
    """Anchors go to a folder of this test only (the storage folder of the instance is
    shared by the whole session)."""
    url = f"file://{tmp_path / 'store'}"
    monkeypatch.setitem(app.config, "STORAGE_URL", url)
    return storage_from_url(url)


def anchor(app):
    result = app.test_cli_runner().invoke(args=["optiserve", "audit-anchor"])
    assert result.exit_code == 0, result.output
    return result.output


def recompute_with_the_key(rows, start):
    _key_id, key = audit.current_key()
    rewrite_from(rows, start, lambda prev, event: audit.compute_hash(prev, event, key))


def test_anchor_written_once_per_head_as_a_read_only_file(app, ctx, store):
    make_events(3)
    assert anchor(app).startswith("written")
    head = all_rows()[-1]
    newest = audit_anchors.newest_anchor(store)
    assert (newest.last_id, newest.last_hash) == (head.id, head.row_hash)
    path = store.local_path(newest.storage_key)
    assert not os.stat(path).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    content = json.loads(open(path).read())
    assert content["key_id"] == audit.current_key()[0] and len(content["mac"]) == 64
    assert anchor(app).startswith("unchanged")
    with pytest.raises(KeyExistsError):
        store.put_new(newest.storage_key, b"{}")
    make_events(1)
    assert anchor(app).startswith("written")
    assert audit_anchors.newest_anchor(store).last_id == all_rows()[-1].id
    result = run_verify(app)
    assert result.exit_code == 0 and result.output.startswith("OK")
    assert f"anchored at id={all_rows()[-1].id}" in result.output


def test_verify_without_anchor_warns(app, ctx, store):
    make_events(1)
    result = run_verify(app)
    assert result.exit_code == 0 and "WARNING: no anchor found" in result.output


def test_rewritten_chain_with_the_key_fails_against_the_anchor(app, ctx, store):
    make_events(5)
    anchor(app)
    rows = all_rows()
    edited = rows[-3]
    edited.actor_email = "x@evil"
    recompute_with_the_key(rows, len(rows) - 3)
    assert audit.verify_chain().broken_id is None  # the chain alone cannot tell
    result = run_verify(app)
    assert result.exit_code == 1
    assert f"ANCHOR MISMATCH: audit_event id={rows[-1].id}" in result.output


def test_deleted_tail_fails_against_the_anchor(app, ctx, store):
    make_events(4)
    anchor(app)
    ids = [row.id for row in all_rows()]
    db.session.execute(text("DELETE FROM audit_event WHERE id >= :id"), {"id": ids[-2]})
    db.session.commit()
    assert audit.verify_chain().broken_id is None  # a shorter chain is still a chain
    result = run_verify(app)
    assert result.exit_code == 1
    assert "TAIL DELETED: the anchor of" in result.output
    assert f"names audit_event id={ids[-1]}, the newest row is id={ids[-3]}" in result.output


def test_deleted_middle_row_is_detected_with_or_without_the_key(app, ctx, store):
    make_events(5)
    anchor(app)
    ids = [row.id for row in all_rows()]
    db.session.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": ids[-3]})
    db.session.commit()
    result = run_verify(app)
    assert result.exit_code == 1 and f"BROKEN at audit_event id={ids[-2]}" in result.output
    recompute_with_the_key(all_rows(), len(ids) - 3)
    assert audit.verify_chain().broken_id is None
    result = run_verify(app)
    assert result.exit_code == 1 and f"ANCHOR MISMATCH: audit_event id={ids[-1]}" in result.output


def test_deleted_anchored_row_with_the_chain_recomputed_is_detected(app, ctx, store):
    make_events(4)
    anchor(app)
    ids = [row.id for row in all_rows()]
    make_events(1)  # a row after the anchor, so the anchored one is in the middle
    db.session.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": ids[-1]})
    db.session.commit()
    recompute_with_the_key(all_rows(), len(ids) - 1)
    result = run_verify(app)
    assert result.exit_code == 1
    assert f"ROW MISSING: audit_event id={ids[-1]}" in result.output


def test_forged_anchor_is_refused(app, ctx, store):
    make_events(2)
    head = all_rows()[-1]
    written = dt.datetime(2099, 1, 1)  # newer than any real anchor
    content = {"last_id": head.id, "last_hash": head.row_hash, "written_at": "2099-01-01T00:00:00Z",
               "key_id": audit.current_key()[0], "mac": "0" * 64}
    store.put_new(audit_anchors.anchor_storage_key(written, head.id), json.dumps(content).encode())
    with pytest.raises(audit_anchors.AnchorError):
        audit_anchors.newest_anchor(store, now=written)


def test_no_anchor_is_written_over_a_broken_chain(app, ctx, store):
    make_events(3)
    target = all_rows()[1]
    db.session.execute(text("UPDATE audit_event SET action = 'x' WHERE id = :id"), {"id": target.id})
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["optiserve", "audit-anchor"])
    assert result.exit_code == 1 and f"id={target.id}" in result.output
    assert audit_anchors.newest_anchor(store) is None


def test_anchor_after_a_rewrite_since_the_last_anchor_is_refused(app, ctx, store):
    make_events(3)
    anchor(app)
    make_events(2)
    rows = all_rows()
    db.session.execute(text("UPDATE audit_event SET action = 'x' WHERE id = :id"), {"id": rows[-1].id})
    db.session.commit()
    with pytest.raises(audit_anchors.ChainBroken):
        audit_anchors.write_anchor()


def test_worker_schedules_the_anchor_job_once_per_interval(app, ctx, store):
    connection = redis_connection()
    queue = Queue("test-audit-anchor", connection=connection)
    connection.delete(audit_anchors.SCHEDULE_KEY)
    try:
        assert audit_anchors.schedule_anchor_if_due(queue) is True
        assert audit_anchors.schedule_anchor_if_due(queue) is False  # another worker, same cycle
        assert queue.count == 1
        ttl = connection.ttl(audit_anchors.SCHEDULE_KEY)
        assert 0 < ttl <= current_app.config["AUDIT_ANCHOR_MINUTES"] * 60
        job = queue.jobs[0]
        assert job.func is audit_anchors.anchor_job
        make_events(1)
        assert job.func() == "written"
        assert audit_anchors.newest_anchor(store).last_id == all_rows()[-1].id
    finally:
        queue.empty()
        connection.delete(audit_anchors.SCHEDULE_KEY)


def test_a_failed_anchor_enqueue_or_job_is_retried_at_the_next_cycle(app, ctx, store, monkeypatch):
    connection = redis_connection()
    queue = Queue("test-audit-anchor", connection=connection)
    connection.delete(audit_anchors.SCHEDULE_KEY)
    try:
        real_enqueue = queue.enqueue

        def broken_enqueue(*args, **kwargs):
            raise ConnectionError("redis went away")

        monkeypatch.setattr(queue, "enqueue", broken_enqueue)
        with pytest.raises(ConnectionError):
            audit_anchors.schedule_anchor_if_due(queue)
        monkeypatch.setattr(queue, "enqueue", real_enqueue)
        assert audit_anchors.schedule_anchor_if_due(queue) is True  # next cycle
        job = queue.jobs[0]

        def broken_write():
            raise RuntimeError("storage went away")

        monkeypatch.setattr(audit_anchors, "write_anchor", broken_write)
        with pytest.raises(RuntimeError):
            job.func()
        assert audit_anchors.schedule_anchor_if_due(queue) is True  # next cycle, not an interval later
    finally:
        queue.empty()
        connection.delete(audit_anchors.SCHEDULE_KEY)


def test_anchors_in_s3_are_conditional_puts_and_found_newest_first(app, ctx, moto_endpoint, aws_env,  # noqa: F811
                                                                     monkeypatch):
    import boto3

    boto3.client("s3", endpoint_url=moto_endpoint).create_bucket(Bucket=BUCKET)
    monkeypatch.setitem(app.config, "STORAGE_URL", f"s3://{BUCKET}/files")
    monkeypatch.setitem(app.config, "S3_ENDPOINT_URL", moto_endpoint)
    s3 = storage_from_url(f"s3://{BUCKET}/files", s3_endpoint_url=moto_endpoint)
    make_events(2)
    month = dt.datetime.combine(add_months(first_of_month(utc_now().date()), 1), dt.time(23))
    outcome, first = audit_anchors.write_anchor(s3, now=month)
    assert outcome == "written" and first.storage_key.startswith(f"audit-anchors/{month:%Y-%m}/")
    make_events(1)
    later = month.replace(month=1, year=month.year + 1)
    outcome, second = audit_anchors.write_anchor(s3, now=later)
    assert outcome == "written" and second.last_id == all_rows()[-1].id
    # Nothing in the three months after: the search goes back to the newest one.
    assert audit_anchors.newest_anchor(s3, now=later + dt.timedelta(days=95)) == second
    with pytest.raises(KeyExistsError):
        s3.put_new(second.storage_key, b"{}")
    db.session.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": second.last_id})
    db.session.commit()
    ok, lines = audit_anchors.verify(s3, now=later)
    assert not ok and lines[0].startswith("TAIL DELETED")


def test_anchor_search_stops_at_the_first_row_month(ctx, store):
    organization = db.session.query(Organization).filter_by(code="H0001").one()
    audit.record("test.event", organization)
    db.session.commit()
    first = db.session.query(AuditEvent).order_by(AuditEvent.created_on).first().created_on
    assert audit_anchors.newest_anchor(store, now=first + dt.timedelta(days=400)) is None


def test_anchors_in_an_object_lock_bucket_are_locked_in_compliance_mode(app, ctx, moto_endpoint, aws_env):  # noqa: F811
    """Production's bucket refuses an anchor without a COMPLIANCE lock (deploy/optiserve.yaml):
    with S3_OBJECT_LOCK_DAYS the anchor is written locked for that long."""
    import boto3

    client = boto3.client("s3", endpoint_url=moto_endpoint)
    client.create_bucket(Bucket="locked-anchors", ObjectLockEnabledForBucket=True)
    s3 = storage_from_url("s3://locked-anchors/files", s3_endpoint_url=moto_endpoint, object_lock_days=2557)
    make_events(1)
    outcome, anchor_written = audit_anchors.write_anchor(s3)
    assert outcome == "written"
    head = client.head_object(Bucket="locked-anchors", Key=f"files/{anchor_written.storage_key}")
    assert head["ObjectLockMode"] == "COMPLIANCE"
    until = head["ObjectLockRetainUntilDate"]
    assert (until.date() - utc_now().date()).days >= 2556
