"""Report files, publication, download history, scoping of screen / URL / API, dashboard."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import zipfile
from pathlib import Path
from urllib.parse import urlparse

import openpyxl
import pytest
from flask import current_app

from app.extensions import db
from app.infra.queue import redis_connection
from app.infra.storage import get_storage
from app.jobs.reports import generate_report_job
from app.models import Download, Equipment, LedgerListing, Lending, ReportFile, UploadFile
from app.services.reports import job_id, maybe_generate_after_upload
from app.services.reports.service import attach_onprem_report, generate_reports

from .conftest import HOSPITAL_A, HOSPITAL_B, OPERATOR, login_as, user_by_email
from .report_data import LEDGER_MONTH, MONTH, T, hospital, make_dataset

SHEETS = ["表紙", "①貸出サマリー", "②故障サマリー", "③残耐用年数", "④更新対象機種", "⑤貸出時間上位機種",
          "⑥稼働率ランキング", "データ品質", "数値の定義"]


def files_of(hospital_id, version=None) -> dict[int, ReportFile]:
    """The month's files of one version; by default the newest of each type."""
    db.session.expire_all()
    query = db.session.query(ReportFile).filter_by(hospital_id=hospital_id, month=MONTH)
    if version is not None:
        query = query.filter_by(version=version)
    return {r.file_type: r for r in query.order_by(ReportFile.version)}


def workbook(row: ReportFile):
    return openpyxl.load_workbook(get_storage().local_path(row.storage_key))


def cells(ws) -> list:
    return [c.value for row in ws.iter_rows() for c in row if c.value is not None]


def first_by_label(rows) -> dict:
    found = {}
    for r in rows:
        if r[0].value:
            found.setdefault(r[0].value, r)
    return found


def outbox() -> set[Path]:
    folder = Path(urlparse(current_app.config["MAIL_URL"]).path)
    return set(folder.glob("*.eml")) if folder.exists() else set()


@pytest.fixture()
def published(ctx):
    data = make_dataset(hyperlink_department=True)
    h = hospital()
    h.notification_emails = "me-room@sakura-hp.example.jp"
    db.session.commit()
    before = outbox()
    generate_reports(data["hospital"], MONTH)
    data["mails"] = outbox() - before
    return data


def test_analysis_workbook_sheets_tables_images(published):
    row = files_of(published["hospital"])[1]
    assert row.status == "published" and row.source == "generated" and row.published_at
    data = get_storage().open(row.storage_key).read()
    assert row.sha256 == hashlib.sha256(data).hexdigest() and row.size == len(data)
    assert row.storage_key == f"reports/{published['hospital']}/2025-05/1.xlsx"
    wb = workbook(row)
    assert wb.sheetnames == SHEETS
    assert "さくら台総合病院" in cells(wb["表紙"]) and "2025年5月" in cells(wb["表紙"])
    lending = wb["①貸出サマリー"]
    by_label = first_by_label(lending.iter_rows(min_col=1, max_col=8))  # the 全機器 block
    assert by_label["合計貸出時間"][1].value == pytest.approx(330)
    assert by_label["合計貸出時間"][3].value == pytest.approx(294)  # vs April
    assert by_label["合計貸出時間"][1].number_format == '#,##0.0"時間"'
    assert by_label["稼働率"][1].number_format == "0.00%"
    assert by_label["貸出回数"][1].number_format == '#,##0"回"'
    # matplotlib image for all devices; native charts (not kept by openpyxl) per classification
    assert len(lending._images) == 1 and len(wb["②故障サマリー"]._images) == 1
    failure = first_by_label(wb["②故障サマリー"].iter_rows(min_col=1, max_col=2))
    assert failure["合計故障時間"][1].value == pytest.approx(102)
    ranking = [r for r in wb["⑥稼働率ランキング"].iter_rows(min_row=3, max_col=5, values_only=True) if r[0]]
    assert [r[1] for r in ranking] == ["モニタ", "輸液ポンプ類"]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
    # native charts: ①② per classification (2 × 2), ③ per scope (3), ⑥ (1)
    assert sum(n.startswith("xl/charts/chart") for n in names) == 4 + 3 + 1
    assert sum(n.startswith("xl/media/") for n in names) == 2  # matplotlib PNGs


def test_formula_like_department_is_a_string_cell(published):
    row = files_of(published["hospital"])[1]
    wb = workbook(row)
    found = [c for r in wb["⑤貸出時間上位機種"].iter_rows() for c in r
             if c.value == '=HYPERLINK("http://evil.example/","x")']
    # shown exactly as the hospital wrote it (no apostrophe), as text that never runs
    assert found and all(c.data_type == "s" for c in found)
    with zipfile.ZipFile(get_storage().local_path(row.storage_key)) as archive:
        sheets = [archive.read(n).decode() for n in archive.namelist() if n.startswith("xl/worksheets/sheet")]
    assert not any("<f>" in sheet for sheet in sheets)


def test_failure_list_and_no_activity_list(published):
    db.session.add(Equipment(hospital_id=published["hospital"], device_number="D6", model_number="Z",
                             default_counts=True))
    db.session.flush()
    d6 = db.session.query(Equipment).filter_by(device_number="D6").one()
    db.session.add(LedgerListing(hospital_id=published["hospital"], month=LEDGER_MONTH, equipment_id=d6.id))
    db.session.add(Lending(hospital_id=published["hospital"], equipment_id=d6.id, month=dt.date(2025, 4, 1),
                           lent_at=T(2025, 4, 2), returned_at=T(2025, 4, 3)))  # April only
    db.session.commit()
    generate_reports(published["hospital"], MONTH, notify=False)
    files = files_of(published["hospital"])
    failures = workbook(files[2])["故障リスト"]
    rows = [r for r in failures.iter_rows(min_row=5, values_only=True) if r[0]]
    assert [(r[0], r[9]) for r in rows] == [("D1", "アラーム異常"), ("D2", "電源不良"), ("D2", "画面表示なし")]
    assert [r[8] for r in rows] == [pytest.approx(6), pytest.approx(48), pytest.approx(48)]
    idle = workbook(files[3])["未実績リスト"]
    listed = [r[0] for r in idle.iter_rows(min_row=5, values_only=True) if r[0]]
    # D1–D3 and D5 (not counted, but lent) had lendings in May; D4 never; D6 only in April.
    assert listed == ["D4", "D6"]


def test_publication_records_sources_and_mails(published):
    assert len(published["mails"]) == 1
    message = next(iter(published["mails"])).read_bytes()
    assert b"me-room@sakura-hp.example.jp" in message
    h = published["hospital"]
    ups = [UploadFile(hospital_id=h, month=MONTH, file_type=t, original_name=f"{t}.csv", sha256=f"{t}" * 64,
                      status="succeeded") for t in (1, 2, 3)]
    db.session.add_all(ups)
    db.session.commit()
    generate_reports(h, MONTH, notify=False, force=True)  # same figures: a new version only when forced
    row = files_of(h, version=2)[1]
    assert row.source_uploads == [{"id": u.id, "file_type": u.file_type, "sha256": u.sha256} for u in ups]


def test_regenerate_replaces_file_and_keeps_history(published, client):
    h = published["hospital"]
    row = files_of(h)[1]
    old_sha, row_id = row.sha256, row.id
    login_as(client, HOSPITAL_A)
    for _ in range(2):
        response = client.get(f"/reports/download/{row_id}")
        assert response.status_code == 200 and response.data[:2] == b"PK"
    db.session.add(Lending(hospital_id=h, equipment_id=published["devices"]["D4"], month=MONTH,
                           lent_at=T(2025, 5, 15), returned_at=T(2025, 5, 16), department="手術室"))
    db.session.commit()
    generate_reports(h, MONTH, notify=False)
    row = files_of(h)[1]
    assert row.id != row_id and row.version == 2 and row.sha256 != old_sha
    assert hashlib.sha256(get_storage().open(row.storage_key).read()).hexdigest() == row.sha256
    old = db.session.get(ReportFile, row_id)
    assert old.version == 1 and old.sha256 == old_sha
    assert hashlib.sha256(get_storage().open(old.storage_key).read()).hexdigest() == old_sha
    downloads = db.session.query(Download).filter_by(report_file_id=row_id).all()
    assert len(downloads) == 2 and {d.user_id for d in downloads} == {user_by_email(HOSPITAL_A).id}
    page = client.get("/reports/").get_data(as_text=True)
    assert "分析レポート_さくら台総合病院_2025-05_第2版.xlsx" in page
    assert "分析レポート_さくら台総合病院_2025-05.xlsx" in page and 'class="text-right">2<' in page


def test_hospital_a_cannot_reach_b_reports(published, client):
    b = hospital("H0002")
    make_dataset("H0002")
    generate_reports(b.id, MONTH, notify=False)
    b_file = files_of(b.id)[1].id
    a_file = files_of(published["hospital"])[1].id
    login_as(client, HOSPITAL_A)
    page = client.get("/reports/").get_data(as_text=True)
    assert "さくら台総合病院" in page and "みなと中央病院" not in page
    assert client.get(f"/reports/?hospital_id={b.id}").status_code == 404
    assert client.get(f"/reports/download/{b_file}").status_code == 404
    assert client.get(f"/dashboard/?hospital_id={b.id}").status_code == 404
    assert client.get(f"/dashboard/data?hospital_id={b.id}&month=2025-05").status_code == 404
    listing = client.get("/api/v1/reports/").get_json()["result"]
    assert listing and {r["hospital_id"] for r in listing} == {published["hospital"]}
    assert client.get(f"/api/v1/reports/?hospital_id={b.id}").status_code == 404
    assert client.get(f"/api/v1/reports/{b_file}/download").status_code == 404
    response = client.get(f"/api/v1/reports/{a_file}/download")
    assert response.status_code == 200 and response.data[:2] == b"PK"
    assert db.session.query(Download).filter_by(report_file_id=b_file).count() == 0
    login_as(client, HOSPITAL_B)
    assert client.get(f"/reports/download/{a_file}").status_code == 404
    assert client.get(f"/reports/download/{b_file}").status_code == 200


def test_dashboard_is_the_hospital_users_start_page(published, client):
    login_as(client, HOSPITAL_A)
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/dashboard/")
    page = client.get("/dashboard/?month=2025-05").get_data(as_text=True)
    assert "330.0" in page and "11.09%" in page  # lending hours, utilization 330 / 2976
    assert "+294.0" in page  # vs April
    assert "輸液ポンプ類" in page and "モニタ" in page
    # The charts are drawn in the browser from the figures embedded in the page.
    embedded = json.loads(page.split('id="dashboard-data"')[1].split(">", 1)[1].split("</script>")[0])
    assert embedded["months"][-1] == "2025-05"
    assert embedded["scopes"][0]["trend"]["failure"]["failures"][-2:] == [1, 3]


def test_operator_generates_on_demand_and_job_publishes(published, client):
    h = published["hospital"]
    login_as(client, OPERATOR)
    response = client.post("/reports/generate", data={"hospital_id": h, "month": "2025-06"})
    assert response.status_code == 302
    job = redis_connection().exists(f"rq:job:{job_id(h, dt.date(2025, 6, 1))}")
    assert job
    db.session.expire_all()
    june = db.session.query(ReportFile).filter_by(hospital_id=h, month=dt.date(2025, 6, 1)).all()
    assert {r.status for r in june} == {"queued"}
    assert generate_report_job(h, "2025-06") == "published 3"
    db.session.expire_all()
    assert {r.status for r in db.session.query(ReportFile).filter_by(month=dt.date(2025, 6, 1))} == {"published"}
    redis_connection().delete(f"rq:job:{job_id(h, dt.date(2025, 6, 1))}")
    login_as(client, HOSPITAL_A)
    assert client.post("/reports/generate", data={"hospital_id": h, "month": "2025-06"}).status_code == 403


def test_generation_follows_the_three_uploads(ctx):
    h = hospital().id
    month = dt.date(2025, 7, 1)
    statuses = {1: "succeeded", 2: "succeeded_with_rejections", 3: "failed"}
    for t, status in statuses.items():
        db.session.add(UploadFile(hospital_id=h, month=month, file_type=t, original_name="x.csv",
                                  sha256="0" * 64, status=status))
    db.session.commit()
    assert maybe_generate_after_upload(h, month) is False
    db.session.add(UploadFile(hospital_id=h, month=month, file_type=3, original_name="y.csv", sha256="1" * 64,
                              status="succeeded", uploaded_at=dt.datetime.utcnow() + dt.timedelta(seconds=1)))
    db.session.commit()
    try:
        assert maybe_generate_after_upload(h, month) is True
        assert redis_connection().exists(f"rq:job:{job_id(h, month)}")
    finally:
        redis_connection().delete(f"rq:job:{job_id(h, month)}")


def test_onprem_file_replaces_generated_and_is_kept(published):
    h = published["hospital"]
    row = attach_onprem_report(h, MONTH, 1, b"%PDF-1.7 test", "pdf", notify=False)
    assert (row.source, row.content_type, row.file_name) == ("onprem", "application/pdf",
                                                            "分析レポート_さくら台総合病院_2025-05.pdf")
    assert row.storage_key.endswith("/1.pdf")
    generate_reports(h, MONTH, notify=False)
    assert files_of(h)[1].storage_key.endswith("/1.pdf")  # regeneration leaves it alone
    with pytest.raises(ValueError):
        attach_onprem_report(h, MONTH, 1, b"x", "exe")


def test_cli_runs_a_month(published, app):
    result = app.test_cli_runner().invoke(args=["optiserve", "reports", "run", "--month", "2025-05", "--now",
                                                "--hospital", "H0001"])
    assert result.exit_code == 0, result.output
    assert "H0001: unchanged (version 1)" in result.output  # the data did not change since
    forced = app.test_cli_runner().invoke(args=["optiserve", "reports", "run", "--month", "2025-05", "--now",
                                                "--hospital", "H0001", "--force"])
    assert forced.exit_code == 0, forced.output
    assert "H0001: revised 3 (version 2)" in forced.output
    bad = app.test_cli_runner().invoke(args=["optiserve", "reports", "run", "--month", "May"])
    assert bad.exit_code != 0


def test_new_figures_on_dashboard_and_in_workbook(published, client):
    import re

    login_as(client, HOSPITAL_A)
    page = client.get("/dashboard/?month=2025-05").get_data(as_text=True)
    everything = page.split('data-scope="all"')[1].split('data-scope=')[0]

    def figure_cell(key):
        return re.search(rf'data-figure="{key}">\s*<th>[^<]*</th>\s*<td class="text-right">([^<]*)</td>',
                         everything).group(1)

    assert figure_cell("hours_per_lent_device") == "110.0"  # 330 h ÷ 3 devices lent
    assert figure_cell("failed_device_ratio") == "50.00%"  # 2 of 4 devices
    assert figure_cell("max_device_failure_hours") == "96.0"  # D2: 48 h + 48 h
    ranking = page.split('id="dashboard-ranking"')[1].split("</table>")[0]
    cells = [re.sub(r"<[^>]+>", " ", "<tr" + row).split() for row in ranking.split("<tr")[2:]]
    # May: monitors 294 h, pumps 36 h, each 2 devices × 744 h.
    assert cells == [["1", "モニタ", "2", "294.0", f"{294 / 1488 * 100:.2f}%", "1", "2"],
                     ["2", "輸液ポンプ類", "2", "36.0", f"{36 / 1488 * 100:.2f}%", "2", "1"]]
    wb = workbook(files_of(published["hospital"])[1])
    table = [r for r in wb["⑥稼働率ランキング"].iter_rows(min_row=2, max_col=7, values_only=True) if r[0]]
    assert table[0][5:] == ("前月順位", "前年同月順位")
    assert [(r[1], r[5], r[6]) for r in table[1:]] == [("モニタ", 1, 2), ("輸液ポンプ類", 2, 1)]
    labels = [r[0] for r in wb["②故障サマリー"].iter_rows(min_col=1, max_col=1, values_only=True)]
    assert {"故障台数割合", "1台あたり平均故障時間", "1台あたり最大故障時間", "1台あたり最小故障時間"} <= set(labels)
