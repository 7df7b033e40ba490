"""A lending or failure file's job waits (RQ ``DEFERRED``) for the ledger job of its hospital.
When the recovery sweep queues that ledger again (its worker died), RQ's ``Job.delete()``
drops the list of jobs waiting for it: the waiting job must be queued again too, or the file
stays 「待機中」 for ever."""
from __future__ import annotations

import io

import pytest
from rq.job import Dependency, JobStatus

from app.extensions import db
from app.infra import mail
from app.infra.queue import get_queue
from app.jobs.worker import MAX_RECOVERIES, job_is_live, recover_stuck_uploads
from app.models import Lending, Organization, UploadFile
from app.services.uploads import records as uploads

from .conftest import HOSPITAL_A, login_as
from .ingest_helpers import LEDGER_HEADER, csv_bytes, ledger_rows
from .test_jobs import run_burst_worker, status

LEDGER_CSV = csv_bytes([LEDGER_HEADER] + ledger_rows(5))
LENDING_CSV = csv_bytes([["機器番号", "貸出日時", "返却日時", "貸出先"], ["ME00001", "2025/10/01 09:00", "", "ICU"],
                         ["ME00002", "2025/10/02 10:00", "2025/10/02 15:00", "HCU"]])


pytestmark = pytest.mark.usefixtures("empty_queue")


def submit_ledger_and_lending(client) -> tuple[int, int]:
    """The ids of a ledger and a lending file submitted together (the lending job waits)."""
    login_as(client, HOSPITAL_A)
    data = {"month": f"{uploads.default_month():%Y-%m}",
            "ledger": (io.BytesIO(LEDGER_CSV), "台帳.csv"), "lending": (io.BytesIO(LENDING_CSV), "貸出.csv")}
    assert client.post("/upload/", data=data, content_type="multipart/form-data").status_code == 302
    ledger, lending = db.session.query(UploadFile).order_by(UploadFile.file_type).all()
    return ledger.id, lending.id


def worker_died_during(upload_id: int) -> None:
    """The job shows as started by a worker that no longer exists; the row says processing."""
    get_queue().fetch_job(f"ingest-{upload_id}").set_status(JobStatus.STARTED)
    upload = db.session.get(UploadFile, upload_id)
    upload.status = "processing"
    db.session.commit()


def lendings_of(code: str) -> int:
    hospital = db.session.query(Organization).filter_by(code=code).one()
    count = db.session.query(Lending).filter_by(hospital_id=hospital.id).count()
    db.session.commit()
    return count


def test_a_file_waiting_for_a_requeued_ledger_is_requeued_and_imported(client, ctx):
    ledger, lending = submit_ledger_and_lending(client)
    queue = get_queue()
    assert queue.fetch_job(f"ingest-{lending}").get_status() == JobStatus.DEFERRED
    assert recover_stuck_uploads(queue) == []  # waiting behind a queued ledger: left alone
    worker_died_during(ledger)
    before = len(mail.outbox_messages())

    swept = recover_stuck_uploads(queue)
    requeued = queue.fetch_job(f"ingest-{lending}")
    run_burst_worker()

    assert [status(u).status for u in (ledger, lending)] == ["succeeded", "succeeded"]
    assert lendings_of("H0001") == 2
    assert len(mail.outbox_messages()) == before + 1  # one mail for the two files
    assert swept == [(ledger, "requeued"), (lending, "requeued")]
    # The lending job was queued again behind the new ledger job, in the same submission.
    assert requeued.kwargs == {"batch": sorted([ledger, lending])}
    assert requeued.dependency_ids == [f"ingest-{ledger}"]


def test_a_file_waiting_for_an_abandoned_ledger_is_processed_without_it(client, ctx):
    """The ledger killed its worker once too often and is failed; the lending file waiting
    for it must not wait for ever (its rows are checked against the ledgers there are)."""
    ledger, lending = submit_ledger_and_lending(client)
    queue = get_queue()
    for _attempt in range(MAX_RECOVERIES):
        worker_died_during(ledger)
        assert (ledger, "requeued") in recover_stuck_uploads(queue)
    worker_died_during(ledger)
    assert recover_stuck_uploads(queue) == [(ledger, "failed"), (lending, "requeued")]

    run_burst_worker()
    assert status(ledger).status == "failed"
    # Processed, not left waiting: without a ledger none of its devices is known.
    assert status(lending).status == "failed"
    assert status(lending).message.startswith("有効な行がありません")


def test_a_waiting_job_is_live_only_while_what_it_waits_for_will_release_it(app, ctx):
    queue = get_queue()
    connection = queue.connection
    first = queue.enqueue("builtins.print", job_id="first")
    waiting = queue.enqueue("builtins.print", job_id="waiting",
                            depends_on=Dependency(jobs=[first], allow_failure=True))
    assert waiting.get_status() == JobStatus.DEFERRED
    assert job_is_live(connection, "waiting")

    # The job waited for ended for good and the worker died before releasing its dependents.
    first.set_status(JobStatus.FAILED)
    assert not job_is_live(connection, "waiting")

    first.set_status(JobStatus.QUEUED)
    assert job_is_live(connection, "waiting")
    dependencies = connection.smembers(waiting.dependencies_key)
    connection.delete(waiting.dependencies_key)  # nothing recorded that would release it
    assert not job_is_live(connection, "waiting")
    connection.sadd(waiting.dependencies_key, *dependencies)
    assert job_is_live(connection, "waiting")
    first.delete()  # also drops its list of dependents, even once a job of the same id is back
    queue.enqueue("builtins.print", job_id="first")
    assert not job_is_live(connection, "waiting")
