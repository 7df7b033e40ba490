"""English mode shows app-made text in English (issue: Japanese left in English mode): the
revision lines of screen 4 (the mail keeps Japanese), the operator start page's job table,
the refusals of the maker and report-selection screens, the dashboard's hover definitions
and the names the app makes up. Data (hospital, classification, device names) stays as
entered."""
from __future__ import annotations

import datetime as dt
import html
import re

import pytest

from app.core.months import utc_now
from app.extensions import db
from app.jobs.reports import revise_reports_job
from app.models import Lending, Maker, Organization, ReportFile, UploadFile
from app.services.reports.revisions import describe

from . import test_report_revisions as revisions
from .conftest import HOSPITAL_A, OPERATOR, login_as
from .report_data import T, hospital, make_dataset
from .test_report_revisions import outbox, read_mail

published = revisions.published  # the revision tests' fixture: May published as version 1

H = 744
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")

CHANGES = [
    {"kind": "figure", "scope": "全機器", "scope_key": "all", "figure": "lending_hours", "old": 330.0, "new": 162.0},
    {"kind": "figure", "scope": "モニタ", "scope_key": "c7", "figure": "lendings", "old": 4, "new": 5},
    {"kind": "comparison", "scope": "全機器", "scope_key": "all", "column": "previous", "figure": "lendings",
     "old": 1, "new": 2},
    {"kind": "comparison", "scope": "全機器", "scope_key": "all", "column": "mean_12", "figure": "lendings",
     "old": 1, "new": 2},
    {"kind": "ranking", "scope": "モニタ", "figure": "rank", "old": 2, "new": 1},
    {"kind": "section", "scope": "全機器", "scope_key": "all"},
    {"kind": "list", "list": "failure"},
]


def test_revision_lines_are_japanese_by_default_and_english_on_request(app):
    with app.test_request_context():
        assert describe(CHANGES) == [
            "全機器 合計貸出時間: 330.0時間 → 162.0時間",
            "モニタ 貸出回数: 4回 → 5回",
            "比較対象（前月・過去12か月平均）の値",
            "⑥稼働率ランキング モニタ: 2位 → 1位",
            "③残耐用年数・④更新対象機種・⑤貸出時間上位機種（全機器）",
            "故障リスト",
        ]
        assert describe(CHANGES, locale="en") == [
            "All devices Lending hours: 330.0 hours → 162.0 hours",
            "モニタ Lendings: 4 times → 5 times",  # a classification's name is data
            "Comparison values (previous month, 12-month average)",
            "⑥ Utilization ranking, モニタ: #2 → #1",
            "③ Remaining useful life, ④ Models near the end of useful life, ⑤ Top models by hours per "
            "lending (All devices)",
            "Failure list",
        ]
        many = [{**CHANGES[0], "figure": key} for key in ("lendings", "lending_hours", "utilization")]
        assert describe(many, limit=1, locale="en")[-1] == "and 2 more figures"
        assert describe(many, limit=1)[-1] == "ほか 2 項目"


@pytest.mark.usefixtures("empty_queue")  # the revision check queues jobs
def test_screen_4_shows_revision_lines_in_english_while_the_mail_stays_japanese(published, client):
    lending = db.session.query(Lending).filter_by(equipment_id=published["devices"]["D3"]).one()
    lending.returned_at = T(2025, 5, 25)
    db.session.commit()
    before = outbox()
    assert revise_reports_job(published["hospital"]) == "checked 1, revised 1: 2025-05 v2"
    old_hours, new_hours = 24 + 12 + 6 + 288, 24 + 12 + 6 + 120
    (mail,) = outbox() - before
    _subject, body = read_mail(mail)
    assert f"全機器 合計貸出時間: {old_hours:.1f}時間 → {new_hours:.1f}時間" in body

    page = client.get("/reports/?month=2025-05").get_data(as_text=True)
    assert f"全機器 合計貸出時間: {old_hours:.1f}時間 → {new_hours:.1f}時間" in page

    client.get("/lang/en")
    page = client.get("/reports/?month=2025-05").get_data(as_text=True)
    assert f"All devices Lending hours: {old_hours:.1f} hours → {new_hours:.1f} hours" in page
    assert "All devices Utilization:" in page
    assert "合計貸出時間:" not in page and "全機器" not in page


def test_operator_start_page_job_table_is_english(ctx, client):
    h = hospital()
    month = dt.date(2026, 10, 1)
    db.session.add(UploadFile(hospital_id=h.id, month=month, file_type=2, original_name="lend.csv", sha256="0" * 64,
                              status="failed", uploaded_at=utc_now() - dt.timedelta(hours=1)))
    db.session.add(UploadFile(hospital_id=h.id, month=month, file_type=3, original_name="fail.csv", sha256="1" * 64,
                              status="processing", uploaded_at=utc_now() - dt.timedelta(hours=2)))
    db.session.add(ReportFile(hospital_id=h.id, month=month, file_type=1, version=2, status="failed"))
    db.session.commit()
    login_as(client, OPERATOR)
    client.get("/lang/en")
    text = client.get("/").get_data(as_text=True)
    problems = text.split('id="start-problems"')[1].split('id="start-unmapped"')[0]
    for english in ("Upload", "Report generation", "Failed (Failed)", "Possibly stuck (Processing)",
                    "type 1, version 2", "Lendings lend.csv"):
        assert english in problems, english
    for japanese in ("アップロード", "レポート作成", "失敗", "停止の疑い", "種別", "第2版", "（"):
        assert japanese not in problems, japanese


def test_maker_screen_refusals_are_english(ctx, client):
    terumo, nipro = (db.session.query(Maker).filter_by(name=name).one() for name in ("テルモ株式会社", "ニプロ株式会社"))
    login_as(client, OPERATOR)
    client.get("/lang/en")
    page = client.post("/makers/merge", data={"source_id": terumo.id, "target_id": terumo.id},
                       follow_redirects=True).get_data(as_text=True)
    assert "The manufacturer to merge and the one to merge into must differ." in page
    assert "同じメーカー" not in page
    page = client.post(f"/makers/{nipro.id}/alias", data={"alias": "ﾃﾙﾓ"}, follow_redirects=True).get_data(as_text=True)
    assert "already belongs to manufacturer &#34;テルモ株式会社&#34;" in page or \
        "already belongs to manufacturer &quot;テルモ株式会社&quot;" in page
    assert "既にメーカー" not in page


def test_report_selection_refusals_are_english(ctx, client):
    hospital_id = db.session.query(Organization).filter_by(code="H0001").one().id
    login_as(client, HOSPITAL_A)
    client.get("/lang/en")
    response = client.post(f"/report-selection/grouping?hospital_id={hospital_id}", json={"grouping": "x"})
    assert response.status_code == 400
    assert response.get_json()["message"] == ("grouping must be own (the hospital's classifications) "
                                              "or smds (SMDS groups).")
    response = client.post(f"/report-selection/save?hospital_id={hospital_id}",
                           json={"classification_ids": [-5]})
    assert response.status_code == 400 and "機器分類" not in response.get_json()["message"]


def test_dashboard_definitions_are_english(ctx, client):
    make_dataset()
    login_as(client, HOSPITAL_A)
    page = client.get("/dashboard/?month=2025-05").get_data(as_text=True)
    assert 'title="合計貸出時間 ÷ (機器台数 × H)"' in page  # Japanese by default
    client.get("/lang/en")
    page = html.unescape(client.get("/dashboard/?month=2025-05").get_data(as_text=True))
    assert 'title="lending hours ÷ (devices × H)"' in page
    assert 'title="Whole years from the last day of M to the expiry of useful life:' in page
    assert "合計貸出時間 ÷" not in page and "残耐用年数 =" not in page
    figures = client.get("/dashboard/data?month=2025-05").get_json()["figures"]["definitions"]
    assert figures["failure"]["failure_rate"].startswith("failure hours ÷ (devices × H)")
    assert figures["ranking"].startswith("Every classification at the report level")
    texts = [*figures["lending"].values(), *figures["failure"].values(), figures["life"], figures["ranking"]]
    assert not [t for t in texts if JAPANESE.search(t)]


def test_made_up_names_are_translated_and_data_is_not(app):
    from app.views.display import placeholder

    with app.test_request_context():
        assert placeholder("（未分類）") == "（未分類）"
    with app.test_request_context(headers={"Accept-Language": "en"}):
        from flask_babel import force_locale

        with force_locale("en"):
            assert [placeholder(n) for n in ("（未分類）", "未紐付け", "（不明）", "全機器", "モニタ")] == [
                "(unclassified)", "Unmapped", "(unknown)", "All devices", "モニタ"]
