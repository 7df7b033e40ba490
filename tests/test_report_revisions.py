"""Revisable months: a published month whose figures change is published again as a new
version (old versions kept, downloadable, with their download history; the mail says 改訂
and what changed); a change that leaves the month's figures alone makes no version. A month
also gets its report after a byte-identical re-upload."""
from __future__ import annotations

import datetime as dt
import email
import email.policy
from pathlib import Path
from urllib.parse import urlparse

import pytest
from flask import current_app

from app.extensions import db
from app.infra.queue import redis_connection
from app.infra.storage import get_storage
from app.jobs.reports import revise_reports_job
from app.models import Download, Lending, ReportFile, ReportVersion, UploadFile
from app.services.reports import job_id, revision_job_ids
from app.services.reports.service import generate_reports

from .conftest import HOSPITAL_A, login_as
from .report_data import MONTH, T, hospital, make_dataset

H = 744  # hours in May


def outbox() -> set[Path]:
    folder = Path(urlparse(current_app.config["MAIL_URL"]).path)
    return set(folder.glob("*.eml")) if folder.exists() else set()


def read_mail(path: Path):
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    return str(message["Subject"]), message.get_content()


def versions_of(hospital_id) -> dict[int, list[ReportFile]]:
    db.session.expire_all()
    found: dict[int, list[ReportFile]] = {}
    for row in db.session.query(ReportFile).filter_by(hospital_id=hospital_id, month=MONTH).order_by(ReportFile.id):
        found.setdefault(row.version, []).append(row)
    return found


pytestmark = pytest.mark.usefixtures("empty_queue")


@pytest.fixture()
def published(ctx, client):
    """May published (version 1) and its analysis report downloaded twice."""
    data = make_dataset()
    h = hospital()
    h.notification_emails = "me-room@sakura-hp.example.jp"
    db.session.commit()
    generate_reports(data["hospital"], MONTH)
    v1 = {r.file_type: r for r in versions_of(data["hospital"])[1]}
    login_as(client, HOSPITAL_A)
    for _ in range(2):
        assert client.get(f"/reports/download/{v1[1].id}").status_code == 200
    data["v1"] = {t: (r.id, r.sha256, r.storage_key) for t, r in v1.items()}
    return data


def test_a_changed_month_is_published_again_as_version_2(published, client):
    h = published["hospital"]
    # D3's open lending (from 05-20, 288 h in May) gets its return on 05-25: 120 h.
    lending = db.session.query(Lending).filter_by(equipment_id=published["devices"]["D3"]).one()
    lending.returned_at = T(2025, 5, 25)
    db.session.commit()
    before = outbox()

    assert revise_reports_job(h) == "checked 1, revised 1: 2025-05 v2"

    files = versions_of(h)
    assert sorted(files) == [1, 2] and len(files[2]) == 3
    v2 = {r.file_type: r for r in files[2]}
    assert all(r.status == "published" and r.published_at for r in files[1] + files[2])
    assert v2[1].file_name == "分析レポート_さくら台総合病院_2025-05_第2版.xlsx"
    assert v2[1].storage_key == f"reports/{h}/2025-05/v2/1.xlsx"
    # Version 1 is untouched: same file, same bytes, its download history kept.
    for _file_type, (row_id, sha, key) in published["v1"].items():
        old = db.session.get(ReportFile, row_id)
        assert (old.version, old.sha256, old.storage_key) == (1, sha, key)
        assert get_storage().open(key).read()  # still stored
    old_id = published["v1"][1][0]
    assert db.session.query(Download).filter_by(report_file_id=old_id).count() == 2
    assert v2[1].sha256 != published["v1"][1][1]

    # The mail says 改訂 and names the changed headline figures, old → new.
    mails = outbox() - before
    assert len(mails) == 1
    subject, body = read_mail(next(iter(mails)))
    assert "改訂" in subject and "第2版" in subject
    old_hours, new_hours = 24 + 12 + 6 + 288, 24 + 12 + 6 + 120
    assert f"全機器 合計貸出時間: {old_hours:.1f}時間 → {new_hours:.1f}時間" in body
    assert f"全機器 稼働率: {old_hours / (4 * H) * 100:.2f}% → {new_hours / (4 * H) * 100:.2f}%" in body
    assert "全機器 貸出回数" not in body  # still 4 lendings: not listed
    assert "モニタ 合計貸出時間" in body  # D3 is a monitor (override)
    version = db.session.query(ReportVersion).filter_by(hospital_id=h, month=MONTH, version=2).one()
    assert {c["figure"] for c in version.changes if c["kind"] == "figure" and c["scope_key"] == "all"} == {
        "lending_hours", "mean_lending_hours", "hours_per_lent_device", "utilization", "max_device_hours"}

    # Screen 4: the newest version on the card, version 1 still listed and downloadable.
    page = client.get("/reports/?month=2025-05").get_data(as_text=True)
    assert "分析レポート_さくら台総合病院_2025-05_第2版.xlsx" in page and "第2版（改訂）" in page
    assert f"/reports/download/{old_id}" in page and "改訂履歴" in page
    assert f"合計貸出時間: {old_hours:.1f}時間 → {new_hours:.1f}時間" in page
    response = client.get(f"/reports/download/{old_id}")
    assert response.status_code == 200 and response.data == get_storage().open(published["v1"][1][2]).read()
    assert db.session.query(Download).filter_by(report_file_id=old_id).count() == 3
    # The API lists the newest version with the older ones.
    listing = client.get("/api/v1/reports/?month=2025-05").get_json()["result"]
    analysis = next(item for item in listing if item["file_type"] == 1)
    assert analysis["id"] == v2[1].id and analysis["version"] == 2
    assert [(o["id"], o["version"]) for o in analysis["older_versions"]] == [(old_id, 1)]
    assert len(listing) == 3
    everything = client.get("/api/v1/reports/?month=2025-05&all_versions=1").get_json()["result"]
    assert len(everything) == 6

    # Checked again with nothing new: no third version, no mail.
    again = outbox()
    assert revise_reports_job(h) == "checked 1, revised 0"
    assert sorted(versions_of(h)) == [1, 2] and outbox() == again


def test_a_change_outside_the_month_makes_no_version(published):
    h = published["hospital"]
    # A lending of 2023 touches no month May's report shows (2024-05 … 2025-05).
    db.session.add(Lending(hospital_id=h, equipment_id=published["devices"]["D4"], month=dt.date(2023, 1, 1),
                           lent_at=T(2023, 1, 5), returned_at=T(2023, 1, 6)))
    db.session.commit()
    before = outbox()
    outcome = revise_reports_job(h)
    revision = db.session.query(ReportVersion).filter_by(hospital_id=h, month=MONTH, version=2).first()
    assert outcome == "checked 1, revised 0", revision.changes if revision else None
    assert sorted(versions_of(h)) == [1] and outbox() == before


def test_a_change_of_last_month_revises_the_comparisons(published):
    h = published["hospital"]
    # April's L0 (D2, 24 h) becomes 48 h: May's own values stay, its 前月 column changes.
    lending = db.session.query(Lending).filter_by(equipment_id=published["devices"]["D2"],
                                                  lent_at=T(2025, 4, 10)).one()
    lending.returned_at = T(2025, 4, 12)
    db.session.commit()
    before = outbox()
    assert revise_reports_job(h) == "checked 1, revised 1: 2025-05 v2"
    _, body = read_mail(next(iter(outbox() - before)))
    assert "比較対象（前月・過去12か月平均）の値" in body and "全機器 合計貸出時間" not in body


def test_a_ledger_override_queues_the_check_and_revises(published, client):
    h = published["hospital"]
    d4 = published["devices"]["D4"]  # counts, no lending: leaving the count raises utilization
    response = client.post("/ledger/change", data={"target": "one", "ids": [str(d4)], "counts": "false",
                                                   "reason": "廃棄予定"})
    assert response.status_code == 302
    connection = redis_connection()
    assert connection.exists(f"rq:job:{revision_job_ids(h)[0]}")
    before = outbox()
    assert revise_reports_job(h) == "checked 1, revised 1: 2025-05 v2"
    _, body = read_mail(next(iter(outbox() - before)))
    assert "全機器 機器台数: 4台 → 3台" in body
    assert f"全機器 稼働率: {330 / (4 * H) * 100:.2f}% → {330 / (3 * H) * 100:.2f}%" in body


def test_a_byte_identical_reupload_queues_the_months_report(app, client, ctx):
    from app.services.uploads import records as uploads

    from .test_upload import FAILURE_CSV, LEDGER_CSV, LENDING_CSV, post

    login_as(client, HOSPITAL_A)
    post(client, ledger=(LEDGER_CSV, "a.csv"), lending=(LENDING_CSV, "b.csv"), failure=(FAILURE_CSV, "c.csv"))
    month = uploads.default_month()
    for upload in db.session.query(UploadFile).all():
        upload.status = "succeeded"  # as if the ingest had run; its report job was never made
    db.session.commit()
    connection = redis_connection()
    connection.flushdb()
    h = hospital().id
    assert not connection.exists(f"rq:job:{job_id(h, month)}")
    post(client, lending=(LENDING_CSV, "again.csv"))
    db.session.expire_all()
    assert db.session.query(UploadFile).order_by(UploadFile.id.desc()).first().status == "duplicate"
    assert connection.exists(f"rq:job:{job_id(h, month)}")


def test_onprem_first_then_generated_types_are_filled_in(ctx):
    from app.services.reports.service import attach_onprem_report

    data = make_dataset()
    h = data["hospital"]
    attach_onprem_report(h, MONTH, 1, b"%PDF-1.7 on-prem", "pdf", notify=False)
    generate_reports(h, MONTH, notify=False)
    files = versions_of(h)
    assert list(files) == [1]
    by_type = {r.file_type: r for r in files[1]}
    assert by_type[1].source == "onprem" and by_type[1].storage_key.endswith("/1.pdf")
    assert {t: by_type[t].published_at is not None for t in (2, 3)} == {2: True, 3: True}
    assert db.session.query(ReportVersion).filter_by(hospital_id=h, month=MONTH).count() == 1
    # Data changes later: a new version of the generated types; the on-prem file stays.
    lending = db.session.query(Lending).filter_by(equipment_id=data["devices"]["D3"]).one()
    lending.returned_at = T(2025, 5, 25)
    db.session.commit()
    assert revise_reports_job(h) == "checked 1, revised 1: 2025-05 v2"
    files = versions_of(h)
    assert sorted((r.file_type, r.source) for r in files[2]) == [(2, "generated"), (3, "generated")]


def test_revise_command(published, app):
    lending = db.session.query(Lending).filter_by(equipment_id=published["devices"]["D3"]).one()
    lending.returned_at = T(2025, 5, 25)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["optiserve", "reports", "revise", "--hospital", "H0001"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "H0001 2025-05: revised 3 (version 2)"
    again = app.test_cli_runner().invoke(args=["optiserve", "reports", "revise", "--hospital", "H0001",
                                               "--since", "2025-06"])
    assert again.exit_code == 0 and again.output == ""  # May is before --since
    bad = app.test_cli_runner().invoke(args=["optiserve", "reports", "revise", "--since", "June"])
    assert bad.exit_code != 0


@pytest.mark.parametrize("next_file", [False, True], ids=["corrected-reupload", "next-months-file"])
def test_a_file_that_fills_in_a_return_revises_the_published_month(app, ctx, next_file):
    """The real path: three uploads → ingest jobs → the run after the data change publishes
    the month that became ready → version 1, with its usual mail; then a file that fills in the
    open lending's return → ingest → the run again → version 2. The file is either October's
    own, corrected, or November's (a whole-history export listing the October lending with the
    return the October export did not know yet)."""
    from app.jobs.ingest import ingest_job

    from .ingest_helpers import LEDGER_HEADER, csv_bytes, ledger_rows, make_upload

    month = dt.date(2025, 10, 1)
    h = hospital()
    h.notification_emails = "me-room@sakura-hp.example.jp"
    db.session.commit()
    hospital_id = h.id  # the jobs end the session: keep the id, not the row
    header = ["機器番号", "貸出日時", "返却日時", "貸出先"]
    lent = ["ME00001", "2025/10/01 00:00", "", "ICU"]  # open: runs to the end of October
    files = {1: csv_bytes([LEDGER_HEADER] + ledger_rows(4)), 2: csv_bytes([header, lent]),
             3: csv_bytes([["機器番号", "故障日", "修理完了日", "故障内容"], ["ME00002", "2025/10/02", "2025/10/03", "異音"]])}
    connection = redis_connection()
    for file_type, data in files.items():
        upload_id = make_upload(data, file_type, month=month)
        db.session.get(UploadFile, upload_id).status = "queued"
        db.session.commit()
        assert ingest_job(upload_id) == "succeeded"
    # The month became ready: it waits as queued for the hospital's one run, not a job of its own.
    assert not connection.exists(f"rq:job:{job_id(hospital_id, month)}")
    assert any(connection.exists(f"rq:job:{ident}") for ident in revision_job_ids(hospital_id))
    assert {r.status for r in db.session.query(ReportFile).filter_by(hospital_id=hospital_id, month=month)} == {
        "queued"}
    before = outbox()
    assert revise_reports_job(hospital_id) == "published 1: 2025-10; checked 0, revised 0"
    published_mails = [read_mail(p) for p in outbox() - before]
    assert len(published_mails) == 1  # a single month keeps its usual mail
    subject, body = published_mails[0]
    assert subject == "【OptiServe】2025年10月の分析レポートを公開しました"
    assert "2025年10月の分析レポート・故障リスト・未実績リストを公開しました。" in body
    assert f"{current_app.config['PUBLIC_BASE_URL']}/reports/?month=2025-10" in body
    before = outbox()

    corrected = csv_bytes([header, ["ME00001", "2025/10/01 00:00", "2025/10/11 00:00", "ICU"]])
    upload_id = make_upload(corrected, 2, month=dt.date(2025, 11, 1) if next_file else month)
    db.session.get(UploadFile, upload_id).status = "queued"
    db.session.commit()
    assert ingest_job(upload_id) == "succeeded"
    assert any(connection.exists(f"rq:job:{ident}") for ident in revision_job_ids(hospital_id))
    assert revise_reports_job(hospital_id) == "checked 1, revised 1: 2025-10 v2"
    db.session.expire_all()
    assert db.session.query(ReportFile).filter_by(hospital_id=hospital_id, month=month, version=2).count() == 3
    revision_mails = [read_mail(p) for p in outbox() - before if "改訂" in read_mail(p)[0]]
    assert len(revision_mails) == 1
    subject, body = revision_mails[0]
    assert "2025年10月" in subject
    assert f"全機器 合計貸出時間: {31 * 24:.1f}時間 → {10 * 24:.1f}時間" in body


def test_a_month_is_ready_with_the_ledger_in_force(ctx):
    from app.services.reports import month_ready, unpublished_ready_months

    h = hospital().id
    september, october = dt.date(2025, 9, 1), dt.date(2025, 10, 1)

    def upload(month, file_type, status="succeeded", **kw):
        row = UploadFile(hospital_id=h, month=month, file_type=file_type, original_name="x.csv",
                         sha256=f"{file_type}" * 64, status=status, **kw)
        db.session.add(row)
        db.session.commit()
        return row

    upload(october, 2)
    upload(october, 3)
    assert not month_ready(h, october)  # no ledger at all
    upload(dt.date(2025, 11, 1), 1)
    assert not month_ready(h, october)  # a later ledger is not in force for October
    upload(september, 1)
    assert month_ready(h, october) and unpublished_ready_months(h) == [october]
    failed = upload(october, 3, status="failed", uploaded_at=dt.datetime(2030, 1, 1))
    # A newer failure file that failed wrote nothing: the one that succeeded stays in force
    # (app/services/uploads/month_status.py), and so does the month.
    assert month_ready(h, october)
    upload(october, 3, status="duplicate", duplicate_of_id=failed.id, uploaded_at=dt.datetime(2030, 1, 2))
    assert month_ready(h, october)
    november = dt.date(2025, 11, 1)
    upload(november, 2)
    failed_alone = upload(november, 3, status="failed")
    assert not month_ready(h, november)  # its only failure file failed
    upload(november, 3, status="duplicate", duplicate_of_id=failed_alone.id)
    assert not month_ready(h, november)  # repeating a failed file is no better
