"""The application's RQ worker, and recovery of uploads a dead worker left "processing"."""
from __future__ import annotations

import datetime as dt
import logging
import os
import socket

from rq import Worker
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry

from ..extensions import db
from ..models import UploadFile, UploadStatus
from .ingest import job_id, record_infrastructure_failure

log = logging.getLogger(__name__)

MAX_RECOVERIES = 2
RECOVERY_KEY = "optiserve:ingest-recoveries:{}"
STALE_WORKER_SECONDS = 180
RECOVERED_MESSAGE = "前回の処理が中断されたため、再処理します。"
ABANDONED_MESSAGE = (
    "処理中に作業プロセスが停止しました（{count} 回）。ファイルの内容を確認し、"
    "再度アップロードしてください。"
)
HORSE_KILLED_MESSAGE = (
    "処理中に作業プロセスが異常終了しました。ファイルが大きすぎるか壊れている可能性があります。"
    "ファイルを確認して再度アップロードしてください。"
)


class AppWorker(Worker):
    """An RQ worker that keeps the database usable across fork and records dead horses.

    A long-running worker (``anchors_audit_chain``) also enqueues the audit-chain anchor
    job in its maintenance cycle (every 10 minutes; the job runs every AUDIT_ANCHOR_MINUTES).
    """

    anchors_audit_chain = False

    def run_maintenance_tasks(self):
        super().run_maintenance_tasks()
        if not self.anchors_audit_chain:
            return
        from ..audit_anchors import schedule_anchor_if_due

        try:
            schedule_anchor_if_due(self.queues[0])
        except Exception:
            log.exception("could not schedule the audit anchor")

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
                upload_id, will_retry=retrying, message=None if retrying else HORSE_KILLED_MESSAGE
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
    """Whether a job exists that will still run or finish the upload."""
    try:
        job = Job.fetch(ident, connection=connection)
    except NoSuchJobError:
        return False
    status = job.get_status(refresh=False)
    if status in (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED):
        return True
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


def _forget_job(connection, queue, ident: str) -> None:
    try:
        job = Job.fetch(ident, connection=connection)
    except NoSuchJobError:
        return
    StartedJobRegistry(queue=queue).remove_executions(job)
    job.delete()


def recover_stuck_uploads(queue) -> list[tuple[int, str]]:
    """Re-queue (at most ``MAX_RECOVERIES`` times) or fail each upload left queued or
    processing with no live job. Returns ``[(upload id, "requeued" | "failed")]``."""
    from ..uploads import enqueue_ingest

    connection = queue.connection
    done = []
    stuck = db.session.query(UploadFile).filter(
        UploadFile.status.in_([UploadStatus.processing.value, UploadStatus.queued.value])
    ).order_by(UploadFile.id).all()
    for upload in stuck:
        ident = job_id(upload.id)
        if job_is_live(connection, ident):
            continue
        _forget_job(connection, queue, ident)
        count = 0
        if upload.status == UploadStatus.processing.value:
            # Counted so that a file that kills every worker ends failed, not in a loop.
            count = connection.incr(RECOVERY_KEY.format(upload.id))
            connection.expire(RECOVERY_KEY.format(upload.id), 7 * 86400)
        if count <= MAX_RECOVERIES:
            if upload.status == UploadStatus.processing.value:
                upload.message = RECOVERED_MESSAGE
            upload.status = UploadStatus.queued.value
            db.session.commit()
            enqueue_ingest(upload.id)
            done.append((upload.id, "requeued"))
        else:
            upload.status = UploadStatus.failed.value
            upload.message = ABANDONED_MESSAGE.format(count=count)
            upload.finished_at = dt.datetime.utcnow()
            db.session.commit()
            done.append((upload.id, "failed"))
    db.session.remove()
    return done
