"""Framework leftovers (issue 14 item 9): no "None", "__None", "Select Value" or "True" on
screens; roles and audit actions by their Japanese names (English in the en locale); a readable
roles page; report generation status in Japanese, refreshed until done."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Organization, ReportFile
from app.services.audit import trail as audit

from .conftest import ADMIN, HOSPITAL_A, OPERATOR, ORGADMIN_A, login_as, user_by_email

ROLE_NAMES_JA = ["システム管理者", "運用担当", "組織管理者", "病院ユーザー", "販売店ユーザー",
                 "メーカーユーザー", "システム連携"]


def visible(html: str) -> str:
    html = re.sub(r"<script.*?</script>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def org(code: str) -> Organization:
    return db.session.scalars(select(Organization).where(Organization.code == code)).one()


def pages(who: str) -> list[str]:
    hospital, user = org("H0001").id, user_by_email(HOSPITAL_A).id
    common = ["/users/list/", f"/users/show/{user}", f"/users/edit/{user}", "/users/add",
              f"/organizations/show/{hospital}", f"/organizations/edit/{hospital}", "/audit/list/"]
    return common + (["/organizations/list/", "/roles/list/", "/roles/show/4"] if who == ADMIN else [])


@pytest.mark.parametrize("who", [ADMIN, ORGADMIN_A])
def test_no_framework_placeholders(client, ctx, who):
    login_as(client, who)
    for url in pages(who):
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.get_data(as_text=True)
        text = visible(html)
        for word in ("None", "True", "False", "Select Value"):
            assert not re.search(rf"(?<![\w.]){word}(?![\w.])", text), f"{word} on {url}"
        assert ">__None<" not in html and 'data-placeholder="Select Value"' not in html, url


def test_role_names_are_japanese_and_english_in_en(client, ctx):
    login_as(client, ADMIN)
    add_form = client.get("/users/add").get_data(as_text=True)
    for name in ROLE_NAMES_JA:
        assert f">{name}</option>" in add_form
    assert ">HospitalUser<" not in add_form
    show = visible(client.get(f"/users/show/{user_by_email(ORGADMIN_A).id}").get_data(as_text=True))
    assert "組織管理者" in show and "OrgAdmin" not in show
    roles = visible(client.get("/roles/list/").get_data(as_text=True))
    assert all(name in roles for name in ROLE_NAMES_JA)
    client.get("/lang/en")
    english = visible(client.get("/roles/list/").get_data(as_text=True))
    assert "Hospital user" in english and "Organization administrator" in english
    assert "病院ユーザー" not in english


def test_roles_page_is_a_readable_summary(client, ctx):
    login_as(client, ADMIN)
    hospital_role = client.application.appbuilder.sm.find_role("HospitalUser")
    text = visible(client.get(f"/roles/show/{hospital_role.id}").get_data(as_text=True))
    assert "画面:" in text and "機器台帳のメンテナンス" in text and "アップロードAPI" in text
    for dump in ("can read on", "menu access on", "can_", "[", "]"):
        assert dump not in text, dump
    listing = visible(client.get("/roles/list/").get_data(as_text=True))
    assert "can read on" not in listing and "menu access" not in listing


def test_audit_actions_are_labels(client, ctx):
    user = user_by_email(HOSPITAL_A)
    audit.record("auth.login", user, actor=user, organization_id=user.organization_id)
    db.session.commit()
    login_as(client, ORGADMIN_A)
    text = visible(client.get("/audit/list/").get_data(as_text=True))
    assert "ログイン" in text and "auth.login" not in text
    assert "ユーザー" in text and " User " not in text  # the object type, by its label
    # the stored type is the model's class name (OptiServeUser), never shown as such
    assert "OptiServeUser" not in text


def test_unknown_audit_action_is_still_shown():
    from app.views.audit_labels import action_label

    assert action_label("something.new") == "something.new"
    assert action_label("auth.login") == "ログイン"


def test_report_job_status_in_japanese_and_polled(client, ctx):
    hospital = org("H0001")
    row = ReportFile(hospital_id=hospital.id, month=dt.date(2026, 10, 1), file_type=1, version=1,
                     source="generated", status="queued")
    db.session.add(row)
    db.session.commit()
    login_as(client, OPERATOR)
    html = client.get(f"/reports/?hospital_id={hospital.id}").get_data(as_text=True)
    table = html[html.index('id="report-jobs"'):html.index("</table>", html.index('id="report-jobs"'))]
    assert "待機中" in table and "queued" not in visible(table)
    assert 'data-done="false"' in table and "report_jobs.js" in html
    assert "この表は自動で更新されます" in html and "レポートの作成が完了しました" in html
    jobs = client.get(f"/reports/jobs?hospital_id={hospital.id}").get_json()["jobs"]
    assert jobs[0]["status_label"] == "待機中" and jobs[0]["done"] is False
    row.status, row.published_at, row.storage_key = "published", dt.datetime(2026, 11, 1), "r/x.xlsx"
    db.session.commit()
    jobs = client.get(f"/reports/jobs?hospital_id={hospital.id}").get_json()["jobs"]
    assert jobs[0]["status_label"] == "完了" and jobs[0]["done"] is True


def test_report_jobs_are_for_operators_only(client, ctx):
    login_as(client, HOSPITAL_A)
    assert client.get("/reports/jobs").status_code == 403


def test_excel_cover_points_to_the_definitions_sheet(ctx):
    """The cover no longer sends a hospital to "docs/figures.md" (a file of the repository): the
    workbook carries the definitions in its own sheet, one for every figure of ① and ②."""
    import io

    import openpyxl

    from app.services.reports.definitions import DEFINITIONS_JA, FAILURE_FIGURES, LENDING_FIGURES
    from app.services.reports.figures import compute_figures
    from app.services.reports.workbook import build_analysis_workbook

    from .report_data import MONTH, make_dataset

    data = make_dataset()
    figures = compute_figures(data["hospital"], MONTH)
    book = openpyxl.load_workbook(io.BytesIO(build_analysis_workbook(figures)))
    cover = [c.value for row in book["表紙"].iter_rows() for c in row if isinstance(c.value, str)]
    assert not any("docs/" in value or ".md" in value for value in cover)
    assert "各数値の定義は「数値の定義」シートのとおりです。" in cover
    sheet = [[c.value for c in row] for row in book["数値の定義"].iter_rows()]
    by_name = {row[0]: row[1] for row in sheet if row[0]}
    assert "合計貸出時間 ÷ (機器台数 × H)" in by_name["稼働率"]
    assert "停止時間の割合" in by_name["故障率"]
    for kind, figures_of_kind in (("lending", LENDING_FIGURES), ("failure", FAILURE_FIGURES)):
        assert {f.key for f in figures_of_kind} == set(DEFINITIONS_JA[kind]), kind


def test_profile_shows_the_japanese_role_name(client, ctx):
    login_as(client, ORGADMIN_A)
    text = visible(client.get("/users/userinfo/").get_data(as_text=True))
    assert "組織管理者" in text and "OrgAdmin" not in text


def test_language_menu_names_the_language_without_a_dash(client, ctx):
    """FAB's menu wrote 「- English」."""
    login_as(client, HOSPITAL_A)
    html = client.get("/users/userinfo/").get_data(as_text=True)
    assert re.search(r'href="/lang/en"[^>]*>\s*<div class="f16"><i class="flag [^"]*"></i> English', html)
    assert "</i> - English" not in html
