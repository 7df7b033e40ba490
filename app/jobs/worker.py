"""The application's RQ worker, and recovery of work that a dead worker or a lost Redis left
behind.

The database, not Redis, holds the state of every piece of work: an upload is ``queued`` or
``processing`` until its job records an outcome, and so is a month's report. Redis only
carries the jobs. If Redis restarts empty (ElastiCache node replaced, a FLUSHDB), or a worker
dies, :func:`recover_stuck_work` finds each row that claims to be waiting or running with no
live job behind it and queues its job again; a worker runs it on start, and so does the daily
sweep task on AWS. The jobs claim their row before working, so a duplicate delivery does
nothing twice.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import time

from rq import Worker
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry

from app.extensions import db
from app.jobs.ingest import job_id, record_infrastructure_failure
from app.models import ReportFile, UploadFile, UploadStatus
from app.services.stored_messages import part, set_message

log = logging.getLogger(__name__)

MAX_RECOVERIES = 2
RECOVERY_KEY = "optiserve:ingest-recoveries:{}"
REPORT_RECOVERY_KEY = "optiserve:report-recoveries:{}"
SWEEP_LOCK = "optiserve:recovery-sweep"
# A burst worker waits for retries scheduled this soon (RQ Retry intervals are 10 and 60 s);
# anything later is left to the next worker or the daily sweep.
DRAIN_WAIT_SECONDS = 15 * 60
STALE_WORKER_SECONDS = 180
# Stored as codes (app/services/stored_messages.py), shown in the reader's language.
RECOVERED_MESSAGE = part("upload.recovered")
HORSE_KILLED_MESSAGE = part("upload.worker_died")


class AppWorker(Worker):
    """An RQ worker that keeps the database usable across fork and records dead horses.

    A long-running worker (``anchors_audit_chain``) also enqueues the audit-chain anchor
    job in its maintenance cycle (every 10 minutes; the job runs every AUDIT_ANCHOR_MINUTES);
    every worker enqueues the daily change-log retention (app.jobs.change_log).
    """

    anchors_audit_chain = False

    def run_maintenance_tasks(self):
        super().run_maintenance_tasks()
        from app.jobs.change_log import schedule_prune_if_due

        try:
            schedule_prune_if_due(self.queues[0])
        except Exception:
            log.exception("could not schedule the change-log retention")
        if not self.anchors_audit_chain:
            return
        from app.services.audit.anchors import schedule_anchor_if_due

        try:
            schedule_anchor_if_due(self.queues[0])
        except Exception:
            log.exception("could not schedule the audit anchor")

    def register_birth(self):
        super().register_birth()
        # Registered: from now on the worker registry says a worker is running, so the launch
        # lock of WORKER_MODE=ecs-run-task (app/queue.py) has done its job.
        from app.infra.queue import WORKER_LAUNCH_LOCK

        self.connection.delete(WORKER_LAUNCH_LOCK)

    def main_work_horse(self, job, queue):
        # The forked horse shares the parent's pooled connections (same sockets); drop them
        # without closing so the parent's connections stay intact, and open fresh ones.
        db.engine.dispose(close=False)
        super().main_work_horse(job, queue)

    def handle_job_failure(self, job, queue, started_job_registry=None, exc_string="", execution=None):
        super().handle_job_failure(
            job, queue, started_job_registry=started_job_registry, exc_string=exc_string,
            execution=execution,
        )
        if not job.id.startswith("ingest-") or self._is_horse:
            return
        # In the main worker: the horse died (killed, out of memory, timeout) without recording
        # anything; an exception inside the job was already recorded by the job itself.
        try:
            upload_id = int(job.id.split("-", 1)[1])
            status = job.get_status(refresh=True)
            retrying = status in (JobStatus.QUEUED, JobStatus.SCHEDULED)
            record_infrastructure_failure(
                upload_id, will_retry=retrying, message=None if retrying else HORSE_KILLED_MESSAGE,
                batch=job.kwargs.get("batch"),
            )
        except Exception:
            log.exception("could not record the failure of job %s", job.id)
            db.session.rollback()
        finally:
            db.session.remove()


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def job_is_live(connection, ident: str) -> bool:
    """Whether a job exists that will still run or finish the upload (or report)."""
    return _is_live(connection, ident, frozenset())


def _is_live(connection, ident: str, waited_for: frozenset[str]) -> bool:
    try:
        job = Job.fetch(ident, connection=connection)
    except NoSuchJobError:
        return False
    status = job.get_status(refresh=False)
    if status in (JobStatus.QUEUED, JobStatus.SCHEDULED):
        return True
    if status == JobStatus.DEFERRED:
        return _will_be_released(connection, job, waited_for | {ident})
    if status != JobStatus.STARTED or not job.worker_name:
        return False
    worker = Worker.find_by_key(Worker.redis_worker_namespace_prefix + job.worker_name, connection=connection)
    if worker is None or worker.get_current_job_id() != ident:
        return False
    if worker.hostname == socket.gethostname() and not _pid_alive(worker.pid):
        return False
    heartbeat = worker.last_heartbeat
    if heartbeat is None:
        return False
    if heartbeat.tzinfo is None:
        heartbeat = heartbeat.replace(tzinfo=dt.UTC)
    return (dt.datetime.now(dt.UTC) - heartbeat).total_seconds() < STALE_WORKER_SECONDS


def _will_be_released(connection, job: Job, waited_for: frozenset[str]) -> bool:
    """A waiting (deferred) job is queued by RQ when the last job it waits for ends, from
    that job's set of dependents. The set is gone once that job was deleted — the sweep
    deletes a dead job before queuing it again under the same id — and nobody releases a
    job still listed by one that already ended (its worker died in between). So the job
    is live only while every job it waits for is live and still lists it."""
    dependency_ids = job.dependency_ids
    if not dependency_ids:  # nothing left that would release it
        return False
    for dependency_id in dependency_ids:
        if dependency_id in waited_for or not _is_live(connection, dependency_id, waited_for):
            return False
        if not connection.sismember(Job.dependents_key_for(dependency_id), job.id):
            return False
    return True


def _forget_job(connection, queue, ident: str) -> list[int] | None:
    """Delete the job; returns the files submitted with its upload (its ``batch``), which
    the job queued again carries on (None when Redis lost the job: its upload is mailed
    about alone)."""
    try:
        job = Job.fetch(ident, connection=connection)
    except NoSuchJobError:
        return None
    batch = job.kwargs.get("batch")
    StartedJobRegistry(queue=queue).remove_executions(job)
    job.delete()
    return batch


def recover_stuck_uploads(queue) -> list[tuple[int, str]]:
    """Re-queue (at most ``MAX_RECOVERIES`` times) or fail each upload left queued or
    processing with no live job. Returns ``[(upload id, "requeued" | "failed")]``."""
    from app.services.uploads.records import enqueue_ingest

    connection = queue.connection
    done = []
    stuck = db.session.query(UploadFile).filter(
        UploadFile.status.in_([UploadStatus.processing.value, UploadStatus.queued.value])
    ).order_by(UploadFile.id).all()
    for upload in stuck:
        ident = job_id(upload.id)
        if job_is_live(connection, ident):
            continue
        batch = _forget_job(connection, queue, ident)
        count = 0
        if upload.status == UploadStatus.processing.value:
            # Counted so that a file that kills every worker ends failed, not in a loop.
            count = connection.incr(RECOVERY_KEY.format(upload.id))
            connection.expire(RECOVERY_KEY.format(upload.id), 7 * 86400)
        if count <= MAX_RECOVERIES:
            if upload.status == UploadStatus.processing.value:
                set_message(upload, RECOVERED_MESSAGE)
            upload.status = UploadStatus.queued.value
            db.session.commit()
            enqueue_ingest(upload.id, batch)
            done.append((upload.id, "requeued"))
        else:
            record_infrastructure_failure(upload.id, will_retry=False,
                                          message=part("upload.abandoned", count=count), batch=batch)
            done.append((upload.id, "failed"))
    db.session.remove()
    return done


def recover_stuck_reports(queue) -> list[tuple[str, str]]:
    """The same for the reports of a hospital-month left ``queued`` or ``running`` with no
    live job: neither its own nor the hospital's run after a data change. A month that is
    ready and unpublished is requeued as that run (all such months of the hospital, one
    mail); any other month as its own report job. Returns
    ``[("report <hospital id>/<YYYY-MM>", "requeued" | "failed")]``."""
    from sqlalchemy import select

    from app.services.reports import (
        enqueue_report,
        enqueue_revision_check,
        revision_job_ids,
        unpublished_ready_months,
    )
    from app.services.reports import job_id as report_job_id
    from app.services.reports.service import mark_status

    connection = queue.connection
    rows = db.session.execute(
        select(ReportFile.hospital_id, ReportFile.month, ReportFile.status)
        .where(ReportFile.source == "generated", ReportFile.status.in_(["queued", "running"]))
        .order_by(ReportFile.hospital_id, ReportFile.month)
    ).all()
    running: dict[tuple[int, dt.date], bool] = {}
    for hospital_id, month, status in rows:
        running[(hospital_id, month)] = running.get((hospital_id, month), False) or status == "running"
    done = []
    covered: dict[int, bool] = {}  # the hospital's run after a data change is live
    ready: dict[int, set[dt.date]] = {}
    runs_queued: set[int] = set()
    for (hospital_id, month), was_running in running.items():
        ident = report_job_id(hospital_id, month)
        if hospital_id not in covered:
            covered[hospital_id] = any(job_is_live(connection, run) for run in revision_job_ids(hospital_id))
        if covered[hospital_id] or job_is_live(connection, ident):
            continue
        _forget_job(connection, queue, ident)
        label = f"report {hospital_id}/{month:%Y-%m}"
        count = 0
        if was_running:
            count = connection.incr(REPORT_RECOVERY_KEY.format(ident))
            connection.expire(REPORT_RECOVERY_KEY.format(ident), 7 * 86400)
        if count > MAX_RECOVERIES:
            mark_status(hospital_id, month, "failed", part("report.abandoned", count=count))
            done.append((label, "failed"))
            continue
        if hospital_id not in ready:
            ready[hospital_id] = set(unpublished_ready_months(hospital_id))
        if month in ready[hospital_id]:
            # a month a data change made ready: the hospital's one run (one mail), not a job each
            if hospital_id not in runs_queued:
                enqueue_revision_check(hospital_id)
                runs_queued.add(hospital_id)
        else:
            enqueue_report(hospital_id, month)
        done.append((label, "requeued"))
    db.session.remove()
    return done


def recover_stuck_work(queue) -> list[tuple[str, str]]:
    """Every kind of work the database says is waiting or running, with no live job: uploads,
    then reports. Returns ``[(label, action)]`` such as ``("upload 12", "requeued")``.

    Callable any time (worker start, the daily sweep task, a shell); concurrent sweeps are
    serialized by a short Redis lock, and the second one does nothing."""
    connection = queue.connection
    if not connection.set(SWEEP_LOCK, "1", nx=True, ex=300):
        return []
    try:
        done = [(f"upload {upload_id}", action) for upload_id, action in recover_stuck_uploads(queue)]
        done += recover_stuck_reports(queue)
    finally:
        connection.delete(SWEEP_LOCK)
    return done


def seconds_until_more_work(queues) -> float | None:
    """For a burst worker that found the queues empty: 0 if a job arrived meanwhile, the wait
    until the next scheduled retry if it is near, else None (the worker may stop)."""
    from rq.registry import ScheduledJobRegistry

    if any(queue.count for queue in queues):
        return 0.0
    waits = []
    for queue in queues:
        earliest = queue.connection.zrange(ScheduledJobRegistry(queue=queue).key, 0, 0, withscores=True)
        if earliest:
            waits.append(max(0.0, earliest[0][1] - time.time()))
    if not waits or min(waits) > DRAIN_WAIT_SECONDS:
        return None
    return min(waits) + 0.5


def run_worker(queues, burst: bool, echo=print) -> None:
    """Recover stuck work, then work: for ever, or (``burst``) until the queues are empty and
    no retry is due soon — the one-off worker task of ``WORKER_MODE=ecs-run-task``."""
    from flask import current_app

    from app.infra.queue import WORKER_LAUNCH_LOCK

    connection = queues[0].connection
    # This worker is on its way: the jobs the sweep queues must not start another worker task.
    connection.set(WORKER_LAUNCH_LOCK, "1", ex=current_app.config["WORKER_LAUNCH_LOCK_SECONDS"])
    for label, action in recover_stuck_work(queues[0]):
        echo(f"{label}: {action}")
    db.session.remove()
    db.engine.dispose()  # no pooled connection is inherited by the forked work horses
    if not burst:
        # The scheduler runs the delayed retries (Retry intervals) of failed jobs; a
        # long-running worker also anchors the audit chain (app.services.audit.anchors).
        worker = AppWorker(queues, connection=connection)
        worker.anchors_audit_chain = True
        worker.work(with_scheduler=True)
        return
    while True:
        # A burst worker's scheduler moves the retries that are due into the queue at start.
        AppWorker(queues, connection=connection).work(burst=True, with_scheduler=True)
        wait = seconds_until_more_work(queues)
        if wait is None:
            return
        time.sleep(wait)
