"""WORKER_MODE=ecs-run-task: the first enqueue that finds no worker starts one Fargate task
(``ecs.run_task``, against moto); more enqueues while it starts or runs start nothing."""
from __future__ import annotations

import logging

import boto3
import pytest
from moto import mock_aws

from app.extensions import db
from app.infra.queue import WORKER_LAUNCH_LOCK, get_queue, redis_connection
from app.jobs.worker import AppWorker
from app.models import UploadFile
from app.services.uploads import records as uploads

from .ingest_helpers import LEDGER_HEADER, csv_bytes, ledger_rows, make_upload

REGION = "ap-northeast-1"
CLUSTER = "optiserve-staging"


@pytest.fixture()
def ecs(app, monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        ec2 = boto3.client("ec2", region_name=REGION)
        vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
        # As in deploy/: interface endpoints need DNS host names in the VPC.
        ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
        subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.40.{n}.0/24")["Subnet"]["SubnetId"]
                   for n in (1, 2)]
        group = ec2.create_security_group(GroupName="worker", Description="worker tasks", VpcId=vpc)["GroupId"]
        client = boto3.client("ecs", region_name=REGION)
        client.create_cluster(clusterName=CLUSTER)
        definition = client.register_task_definition(
            family="optiserve-staging-worker", networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
            cpu="512", memory="2048",
            containerDefinitions=[{"name": "worker", "image": "optiserve:test", "essential": True, "cpu": 512, "memory": 2048,
                                   "command": ["flask", "--app", "app", "optiserve", "worker", "--burst"]}],
        )["taskDefinition"]
        for key, value in {"WORKER_MODE": "ecs-run-task", "ECS_CLUSTER": CLUSTER,
                           "ECS_WORKER_TASK_DEFINITION": definition["family"],
                           "ECS_WORKER_SUBNETS": " , ".join(subnets),
                           "ECS_WORKER_SECURITY_GROUPS": group}.items():
            monkeypatch.setitem(app.config, key, value)
        with app.app_context():
            redis_connection().flushdb()
            yield client
            redis_connection().flushdb()
            db.session.remove()


def worker_tasks(client) -> list[dict]:
    arns = client.list_tasks(cluster=CLUSTER)["taskArns"]
    return client.describe_tasks(cluster=CLUSTER, tasks=arns)["tasks"] if arns else []


def enqueue_uploads(count: int) -> list[int]:
    ids = []
    for n in range(count):
        upload_id = make_upload(csv_bytes([LEDGER_HEADER] + ledger_rows(3, start=10 * n + 1)), 1)
        db.session.get(UploadFile, upload_id).status = "queued"
        db.session.commit()
        uploads.enqueue_ingest(upload_id)
        ids.append(upload_id)
    return ids


def test_a_burst_of_enqueues_starts_one_worker_task(ecs, app):
    ids = enqueue_uploads(5)
    assert get_queue().count == 5
    tasks = worker_tasks(ecs)
    assert len(tasks) == 1
    task = tasks[0]
    assert task["startedBy"] == "optiserve-enqueue"
    assert "optiserve-staging-worker" in task["taskDefinitionArn"]
    assert task["launchType"] == "FARGATE"
    attachment = {d["name"]: d["value"] for d in task["attachments"][0]["details"]}
    assert attachment["subnetId"] in app.config["ECS_WORKER_SUBNETS"]  # the private subnets given
    # A report queued afterwards, while the task is still starting, starts nothing either.
    from app.services.reports import enqueue_report

    enqueue_report(db.session.get(UploadFile, ids[0]).hospital_id, db.session.get(UploadFile, ids[0]).month)
    assert len(worker_tasks(ecs)) == 1


def test_a_running_worker_takes_new_work_and_a_stopped_one_is_replaced(ecs):
    enqueue_uploads(1)
    assert len(worker_tasks(ecs)) == 1
    worker = AppWorker([get_queue()], connection=redis_connection())
    worker.register_birth()  # the task's worker is up: the launch lock is released
    assert not redis_connection().exists(WORKER_LAUNCH_LOCK)
    enqueue_uploads(2)
    assert len(worker_tasks(ecs)) == 1  # the running worker will take them
    worker.register_death()  # it drained the queue and stopped
    enqueue_uploads(1)
    assert len(worker_tasks(ecs)) == 2


def test_a_failed_launch_keeps_the_job_and_tries_again_next_time(ecs, app, monkeypatch, caplog):
    monkeypatch.setitem(app.config, "ECS_CLUSTER", "no-such-cluster")
    # Alembic's fileConfig (tests/test_migrations.py) disables the loggers that existed then.
    monkeypatch.setattr(logging.getLogger("app.infra.queue"), "disabled", False)
    with caplog.at_level(logging.ERROR, logger="app.infra.queue"):
        [upload_id] = enqueue_uploads(1)
    assert get_queue().get_job_ids() == [f"ingest-{upload_id}"]
    assert "could not start a worker task" in caplog.text
    assert not redis_connection().exists(WORKER_LAUNCH_LOCK)  # the next enqueue may try again
    monkeypatch.setitem(app.config, "ECS_CLUSTER", CLUSTER)
    enqueue_uploads(1)
    assert len(worker_tasks(ecs)) == 1


def test_external_mode_never_calls_ecs(ecs, app, monkeypatch):
    monkeypatch.setitem(app.config, "WORKER_MODE", "external")
    enqueue_uploads(2)
    assert worker_tasks(ecs) == []


def test_production_refuses_an_incomplete_worker_mode(monkeypatch):
    from config import check_production

    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/optiserve")
    monkeypatch.setenv("TOTP_ENCRYPTION_KEY", "x" * 44)
    monkeypatch.setenv("AUDIT_KEY", "y" * 44)
    settings = {"OPTISERVE_ENV": "production", "WORKER_MODE": "ecs-run-task", "ECS_CLUSTER": "c",
                "ECS_WORKER_TASK_DEFINITION": "optiserve-production-worker", "ECS_WORKER_SUBNETS": "",
                "ECS_WORKER_SECURITY_GROUPS": "sg-1"}
    with pytest.raises(SystemExit, match="ECS_WORKER_SUBNETS"):
        check_production(settings)
    with pytest.raises(SystemExit, match="WORKER_MODE"):
        check_production({**settings, "WORKER_MODE": "lambda"})
    check_production({**settings, "ECS_WORKER_SUBNETS": "subnet-1,subnet-2"})  # complete: starts


def test_database_password_comes_separately_from_the_url():
    from sqlalchemy.engine import make_url

    from config import with_password

    url = with_password("postgresql+psycopg2://optiserve@db.internal:5432/optiserve", "p@ss/w:rd%")
    assert make_url(url).password == "p@ss/w:rd%"  # quoted in the URL, intact once parsed
    assert make_url(url).host == "db.internal" and make_url(url).username == "optiserve"
    assert with_password("sqlite:///x.db", "") == "sqlite:///x.db"


def test_worker_in_public_subnets_gets_a_public_ip(ecs, app, monkeypatch):
    """TaskNetwork=public-ip: no NAT and no endpoints, so the task needs a public IP to pull its
    image; in private subnets it must not have one."""
    sent = []
    real_client = boto3.client

    def recording_client(*args, **kwargs):
        client = real_client(*args, **kwargs)
        client.meta.events.register("provide-client-params.ecs.RunTask", lambda params, **_: sent.append(params))
        return client

    monkeypatch.setattr(boto3, "client", recording_client)
    monkeypatch.setitem(app.config, "ECS_WORKER_PUBLIC_IP", True)
    enqueue_uploads(1)
    assert sent[-1]["networkConfiguration"]["awsvpcConfiguration"]["assignPublicIp"] == "ENABLED"
    assert sent[-1]["networkConfiguration"]["awsvpcConfiguration"]["subnets"] == app.config["ECS_WORKER_SUBNETS"].replace(" ", "").split(",")
    redis_connection().delete(WORKER_LAUNCH_LOCK)  # as if that task had come and gone
    monkeypatch.setitem(app.config, "ECS_WORKER_PUBLIC_IP", False)
    enqueue_uploads(1)
    assert sent[-1]["networkConfiguration"]["awsvpcConfiguration"]["assignPublicIp"] == "DISABLED"
    assert len(worker_tasks(ecs)) == 2
