"""Two report runs of one hospital at the same time (several RQ workers): an on-demand
month and the run after a data change, or the runs of two uploads made close together.

Before the per-hospital report lock, both runs read the month's newest version, both built
the same next version and both tried to store it: the unique constraints let one win, and
the other failed with an IntegrityError — after overwriting the winner's stored file with
its own build, marking the month the winner had just published as 失敗 on the report
screen, and failing its job. Now the runs of a hospital take turns: the second finds the
month published and leaves it alone.
"""
from __future__ import annotations

import email
import email.policy
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest
from flask import current_app
from rq import Retry
from rq.job import Job, JobStatus

from app.extensions import db
from app.infra.locks import REPORTS_LOCK
from app.infra.queue import get_queue, redis_connection
from app.infra.storage import get_storage
from app.jobs.reports import generate_report_job, revise_reports_job
from app.jobs.worker import job_is_live
from app.models import Lending, ReportFile, ReportVersion, UploadFile
from app.services.reports import after_data_change, enqueue_report, job_id
from app.services.reports import service as report_service
from app.services.reports.service import generate_reports

from .report_data import LEDGER_MONTH, MONTH, T, hospital, make_dataset
from .test_jobs import run_burst_worker

RENDEZVOUS_SECONDS = 3


def outbox() -> set[Path]:
    folder = Path(urlparse(current_app.config["MAIL_URL"]).path)
    return set(folder.glob("*.eml")) if folder.exists() else set()


def subjects(paths) -> list[str]:
    return sorted(str(email.message_from_bytes(p.read_bytes(), policy=email.policy.default)["Subject"])
                  for p in paths)


pytestmark = pytest.mark.usefixtures("empty_queue")


@pytest.fixture()
def data(ctx):
    data = make_dataset()
    hospital().notification_emails = "me-room@sakura-hp.example.jp"
    db.session.commit()
    return data


@pytest.fixture()
def side_by_side(monkeypatch):
    """Both runs reach the building of the files (after reading the month's newest version,
    before storing anything) before either goes on — the interleaving two workers produce
    when their runs start together. A run that waits alone (the other one is held back by
    the lock) goes on after RENDEZVOUS_SECONDS."""
    barrier = threading.Barrier(2)
    build = report_service.build_analysis_workbook

    def build_together(*args, **kwargs):
        try:
            barrier.wait(RENDEZVOUS_SECONDS)
        except threading.BrokenBarrierError:
            pass
        return build(*args, **kwargs)

    monkeypatch.setattr(report_service, "build_analysis_workbook", build_together)


def run_together(app, *calls) -> list:
    """Each call in its own thread with its own application context (its own database
    session and connection), as two workers would; returns each result or exception."""
    results: list = [None] * len(calls)

    def run(index, call):
        with app.app_context():
            try:
                results[index] = call()
            except Exception as error:  # noqa: BLE001 — the test asserts what was raised
                results[index] = error
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results


def month_state(hospital_id):
    db.session.expire_all()
    rows = db.session.query(ReportFile).filter_by(hospital_id=hospital_id, month=MONTH).order_by(ReportFile.id).all()
    versions = sorted(v for (v,) in db.session.query(ReportVersion.version).filter_by(hospital_id=hospital_id,
                                                                                       month=MONTH))
    return rows, versions


def assert_stored_files_match(rows) -> None:
    import hashlib

    for row in rows:
        assert hashlib.sha256(get_storage().open(row.storage_key).read()).hexdigest() == row.sha256, row.storage_key


def may_ready(hospital_id) -> None:
    """May's ledger (in force), lending and failure files are in: the month is ready."""
    db.session.add(UploadFile(hospital_id=hospital_id, month=LEDGER_MONTH, file_type=1, original_name="l.csv",
                              sha256="1" * 64, status="succeeded"))
    for file_type in (2, 3):
        db.session.add(UploadFile(hospital_id=hospital_id, month=MONTH, file_type=file_type,
                                  original_name="x.csv", sha256=str(file_type) * 64, status="succeeded"))
    db.session.commit()


def test_two_revision_runs_at_once_make_one_new_version_and_one_mail(app, data, side_by_side):
    """Two uploads close together: the second upload's run (revise-<h>-b) starts on another
    worker while the first one's (revise-<h>-a) is still running."""
    h = data["hospital"]
    generate_reports(h, MONTH, notify=False)
    lending = db.session.query(Lending).filter_by(equipment_id=data["devices"]["D3"]).one()
    lending.returned_at = T(2025, 5, 25)  # May's figures change: version 2 is due
    db.session.commit()
    before = outbox()

    results = run_together(app, lambda: revise_reports_job(h), lambda: revise_reports_job(h))

    assert sorted(map(str, results)) == ["checked 1, revised 0", "checked 1, revised 1: 2025-05 v2"]
    rows, versions = month_state(h)
    assert versions == [1, 2]
    assert sorted((r.version, r.file_type, r.status) for r in rows) == [
        (v, t, "published") for v in (1, 2) for t in (1, 2, 3)]
    assert_stored_files_match(rows)
    assert subjects(outbox() - before) == ["【OptiServe】2025年5月の分析レポートを改訂しました（第2版）"]


def test_a_report_on_demand_and_the_run_after_an_upload_publish_the_month_once(app, data, side_by_side):
    """May just became ready: the upload's run publishes it while an operator's on-demand
    job for May runs on another worker."""
    h = data["hospital"]
    may_ready(h)
    assert after_data_change(h) == [MONTH]
    before = outbox()

    results = run_together(app, lambda: generate_report_job(h, "2025-05"), lambda: revise_reports_job(h))

    assert not [r for r in results if isinstance(r, Exception)], results
    rows, versions = month_state(h)
    assert versions == [1]
    assert sorted((r.version, r.file_type, r.status, r.message) for r in rows) == [
        (1, t, "published", None) for t in (1, 2, 3)]
    assert_stored_files_match(rows)
    assert subjects(outbox() - before) == ["【OptiServe】2025年5月の分析レポートを公開しました"]


@pytest.fixture()
def short_wait(app, monkeypatch):
    monkeypatch.setitem(app.config, "REPORT_LOCK_WAIT_SECONDS", 0.2)


def lock_of(hospital_id, seconds: float = 60):
    """The hospital's report lock, as another run holds it."""
    lock = redis_connection().lock(REPORTS_LOCK.format(hospital_id), timeout=seconds)
    assert lock.acquire(blocking=False)
    return lock


def test_a_run_that_cannot_get_its_turn_goes_back_to_the_queue_and_changes_nothing(data, short_wait):
    h = data["hospital"]
    may_ready(h)
    enqueue_report(h, MONTH)
    other_run = lock_of(h)

    outcome = generate_report_job(h, "2025-05")

    assert isinstance(outcome, Retry) and outcome.intervals == [60]
    rows, versions = month_state(h)
    assert versions == [] and {(r.status, r.published_at) for r in rows} == {("queued", None)}
    other_run.release()
    assert generate_report_job(h, "2025-05") == "published 3"


def test_under_rq_the_job_is_scheduled_again_with_its_own_id_and_the_sweep_leaves_it(data, short_wait):
    """The Retry puts the same job (same id) back as scheduled: the stuck-work sweep sees a
    live job and queues no second one; once due and with the lock free, it publishes."""
    from app.jobs.worker import recover_stuck_reports

    h = data["hospital"]
    may_ready(h)
    queue = get_queue()
    enqueue_report(h, MONTH)
    other_run = lock_of(h)
    connection = redis_connection()

    run_burst_worker()

    job = Job.fetch(job_id(h, MONTH), connection=connection)
    assert job.get_status(refresh=True) == JobStatus.SCHEDULED
    assert job_is_live(connection, job.id)
    assert recover_stuck_reports(queue) == [] and queue.get_job_ids() == []
    assert enqueue_report(h, MONTH).id == job.id and queue.get_job_ids() == []  # a new trigger: the same job
    other_run.release()
    connection.zadd(queue.scheduled_job_registry.key, {job.id: 0})  # due now (instead of in 60 s)

    run_burst_worker(with_scheduler=True)

    assert job.get_status(refresh=True) == JobStatus.FINISHED and job.return_value() == "published 3"
    rows, versions = month_state(h)
    assert versions == [1] and {r.status for r in rows} == {"published"}


def test_a_lock_left_by_a_dead_run_frees_itself(data, app, monkeypatch):
    """A worker killed mid-run never releases the lock: it expires after the run's time
    limit, and the next run goes ahead."""
    h = data["hospital"]
    may_ready(h)
    lock_of(h, seconds=0.5)  # never released
    monkeypatch.setitem(app.config, "REPORT_LOCK_WAIT_SECONDS", 5)
    assert generate_report_job(h, "2025-05") == "published 3"


def test_the_report_commands_wait_their_turn_too(data, app, short_wait):
    h = data["hospital"]
    generate_reports(h, MONTH, notify=False)
    other_run = lock_of(h)
    runner = app.test_cli_runner()
    busy = runner.invoke(args=["optiserve", "reports", "revise", "--hospital", "H0001"])
    assert busy.exit_code == 0 and "H0001: skipped: another report run" in busy.output
    busy = runner.invoke(args=["optiserve", "reports", "run", "--month", "2025-05", "--now", "--hospital", "H0001"])
    assert busy.exit_code == 0 and busy.output.splitlines() == [
        "H0001: skipped: another report run of this hospital is in progress; try again later"]
    assert month_state(h)[1] == [1]
    other_run.release()
    done = runner.invoke(args=["optiserve", "reports", "revise", "--hospital", "H0001"])
    assert done.output.splitlines() == ["H0001 2025-05: unchanged (version 1)"]
