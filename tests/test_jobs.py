"""The ingest job and the worker: a real ``flask optiserve worker`` process, killed with
SIGKILL in the middle of a large import, leaves no partial rows and no stuck upload."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import exc as sa_exc

from app.extensions import db
from app.infra.queue import get_queue, redis_connection
from app.jobs import ingest as ingest_job_module
from app.jobs.worker import MAX_RECOVERIES, recover_stuck_uploads
from app.models import Equipment, UploadFile
from app.services.uploads import records as uploads

from .ingest_helpers import (
    LEDGER_HEADER,
    csv_bytes,
    hospital_id,
    ledger_rows,
    lying_shared_strings_xlsx,
    make_upload,
)

ROOT = Path(__file__).resolve().parent.parent
FLASK = str(Path(sys.executable).with_name("flask"))


pytestmark = pytest.mark.usefixtures("empty_queue")


def queued_upload(data: bytes, file_type: int = 1, ext: str = "csv") -> int:
    upload_id = make_upload(data, file_type, ext)
    upload = db.session.get(UploadFile, upload_id)
    upload.status = "queued"
    db.session.commit()
    uploads.enqueue_ingest(upload_id)
    return upload_id


def worker_env(app) -> dict:
    env = dict(os.environ)
    env["REDIS_URL"] = app.config["REDIS_URL"]  # the embedded server's unix:// URL
    env["OPTISERVE_INSTANCE_DIR"] = app.config["INSTANCE_DIR"]
    env["DATABASE_URL"] = app.config["SQLALCHEMY_DATABASE_URI"]
    env["STORAGE_URL"] = app.config["STORAGE_URL"]
    env["MAIL_URL"] = app.config["MAIL_URL"]
    env.pop("FLASK_APP", None)
    return env


def start_worker(app, burst: bool = False) -> subprocess.Popen:
    args = [FLASK, "--app", "app", "optiserve", "worker"] + (["--burst"] if burst else [])
    return subprocess.Popen(args, cwd=ROOT, env=worker_env(app), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


def run_burst_worker(with_scheduler: bool = False) -> None:
    """An RQ worker in this process until the queue is empty (jobs, then dependents and, with
    the scheduler, jobs due). It installs its own SIGINT/SIGTERM handlers: pytest's are put back."""
    from rq import SimpleWorker

    from app.infra.queue import get_queue

    queue = get_queue()
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        SimpleWorker([queue], connection=queue.connection).work(burst=True, with_scheduler=with_scheduler)
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


def descendants(pid: int) -> list[int]:
    children = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def work_horse(worker_pid: int) -> int | None:
    """RQ's work horse leads its own process group (the scheduler process does not)."""
    for pid in descendants(worker_pid):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == worker_pid and int(fields[2]) == pid:
            return pid
    return None


def kill_tree(proc: subprocess.Popen) -> None:
    """SIGKILL the worker, its work horse and the horse's parser child, as a crash would."""
    for pid in [proc.pid] + descendants(proc.pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait(timeout=10)


def status(upload_id: int) -> UploadFile:
    db.session.expire_all()
    upload = db.session.get(UploadFile, upload_id)
    db.session.commit()  # end the read transaction: the worker writes to the same database
    return upload


def wait_for(predicate, timeout: float = 90.0, step: float = 0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("timed out")


def equipment_count(code: str = "H0001") -> int:
    count = db.session.query(Equipment).filter_by(hospital_id=hospital_id(code)).count()
    db.session.commit()
    return count


def test_sigkill_mid_import_leaves_no_partial_rows_and_rerun_succeeds(app, ctx):
    redis_connection()  # starts the embedded Redis whose URL the worker gets
    rows = 120_000
    upload_id = queued_upload(csv_bytes([LEDGER_HEADER] + ledger_rows(rows)))
    worker = start_worker(app)
    try:
        wait_for(lambda: status(upload_id).status == "processing", timeout=120)
        time.sleep(0.5)  # well inside the import (several seconds for this file)
        assert status(upload_id).status == "processing"
        kill_tree(worker)
    finally:
        if worker.poll() is None:
            kill_tree(worker)
    assert equipment_count() == 0  # all or nothing: the killed transaction left nothing
    assert status(upload_id).status == "processing"  # what a crash leaves behind

    rerun = start_worker(app, burst=True)
    output, _ = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, output
    assert f"upload {upload_id}: requeued" in output
    upload = status(upload_id)
    assert upload.status == "succeeded", (upload.status, upload.message, output)
    assert upload.rows_imported == rows
    assert equipment_count() == rows


def test_worker_survives_parser_killing_file_and_processes_next(app, ctx):
    redis_connection()
    bad = queued_upload(lying_shared_strings_xlsx(), ext="xlsx")
    good = queued_upload(csv_bytes([LEDGER_HEADER] + ledger_rows(50)))
    worker = start_worker(app, burst=True)
    output, _ = worker.communicate(timeout=300)
    assert worker.returncode == 0, output
    bad_upload, good_upload = status(bad), status(good)
    assert bad_upload.status == "failed" and bad_upload.message
    assert good_upload.status == "succeeded" and good_upload.rows_imported == 50


def test_killed_work_horse_is_recorded_not_left_processing(app, ctx):
    redis_connection()
    upload_id = queued_upload(csv_bytes([LEDGER_HEADER] + ledger_rows(120_000)))
    worker = start_worker(app)
    try:
        wait_for(lambda: status(upload_id).status == "processing", timeout=120)
        horse = wait_for(lambda: work_horse(worker.pid), timeout=10)
        os.kill(horse, signal.SIGKILL)  # the main worker survives and records the failure
        upload = wait_for(lambda: (lambda u: u if u.status != "processing" else None)(status(upload_id)), timeout=60)
        assert upload.status in ("queued", "failed")
        assert upload.message
        assert equipment_count() == 0
    finally:
        kill_tree(worker)


def test_recovery_requeues_then_fails_with_message(app, ctx):
    upload_id = make_upload(b"x", 1)  # left "processing", no job anywhere
    queue = get_queue()
    for _attempt in range(MAX_RECOVERIES):
        assert recover_stuck_uploads(queue) == [(upload_id, "requeued")]
        upload = status(upload_id)
        assert upload.status == "queued" and "中断" in upload.message
        assert queue.fetch_job(f"ingest-{upload_id}") is not None
        upload.status = "processing"  # as if a worker took it and died again
        db.session.commit()
        queue.fetch_job(f"ingest-{upload_id}").delete()
    assert recover_stuck_uploads(queue) == [(upload_id, "failed")]
    upload = status(upload_id)
    assert upload.status == "failed" and "再度アップロード" in upload.message


def test_recovery_leaves_live_jobs_alone(app, ctx):
    upload_id = queued_upload(b"x")
    assert recover_stuck_uploads(get_queue()) == []  # its job waits in the queue
    assert status(upload_id).status == "queued"


def test_job_records_outcome_and_notifies(app, ctx):
    outbox = Path(app.config["MAIL_URL"].removeprefix("file://"))
    before = set(outbox.glob("*.eml")) if outbox.exists() else set()
    upload_id = queued_upload(csv_bytes([LEDGER_HEADER] + ledger_rows(10)))
    assert ingest_job_module.ingest_job(upload_id) == "succeeded"
    assert equipment_count() == 10
    assert len(set(outbox.glob("*.eml")) - before) == 1
    assert status(upload_id).message.endswith("関係者にメール通知を送信しました。")
    # A second delivery of the same job does no work twice.
    assert ingest_job_module.ingest_job(upload_id) == "succeeded"
    assert len(set(outbox.glob("*.eml")) - before) == 1


def test_infrastructure_error_is_recorded_and_raised(app, ctx, monkeypatch):
    upload_id = queued_upload(b"a,b\r\n")

    def broken(_upload_id):
        raise sa_exc.OperationalError("SELECT 1", {}, Exception("database is gone"))

    monkeypatch.setattr("app.services.ingest.pipeline.run_ingest", broken)
    with pytest.raises(sa_exc.OperationalError):
        ingest_job_module.ingest_job(upload_id)
    upload = status(upload_id)
    assert upload.status == "failed" and "一時的なエラー" in upload.message


def test_missing_upload_is_not_an_error(app, ctx):
    assert ingest_job_module.ingest_job(999_999) == "missing"
