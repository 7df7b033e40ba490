"""Issue 14 item 10, the mails as the file transport writes them: links follow the run
command's port unless PUBLIC_BASE_URL is set; the report-published mail links to its
reports; an invitation is copied to the admin who registered the user (owner's spec,
"admin in CC"); Japanese only (no English trailer); one subject prefix 【OptiServe】."""
from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path

from flask import current_app

from app.extensions import db
from app.infra import mail
from app.models import Organization
from app.services.accounts import notices
from app.services.reports.notices import MonthNotice
from app.services.reports.service import notify_published
from config import default_public_base_url

from .conftest import ADMIN, HOSPITAL_A, login_as, user_by_email
from .test_users import role_id

ROOT = Path(__file__).resolve().parent.parent
ENGLISH_SENTENCE = re.compile(r"[A-Za-z]+ [A-Za-z]+ [A-Za-z]+")


def new_mails(before: int):
    return mail.outbox_messages()[before:]


def plain(message) -> tuple[str, str, str, str]:
    return (str(message["Subject"]), message["To"], message.get("Cc") or "", message.get_content())


def assert_japanese_mail(subject: str, body: str) -> None:
    assert subject.startswith("【OptiServe】") and subject.count("OptiServe") == 1, subject
    assert "-----" not in body
    text = re.sub(r"https?://\S+|\S+@\S+", "", body)
    assert not ENGLISH_SENTENCE.search(text), text


def test_public_base_url_follows_the_port_unless_set():
    assert default_public_base_url({}) == "http://127.0.0.1:5000"
    assert default_public_base_url({"OPTISERVE_PORT": "5123"}) == "http://127.0.0.1:5123"
    assert default_public_base_url({"OPTISERVE_PORT": "8080", "OPTISERVE_HOST": "0.0.0.0"}) == "http://127.0.0.1:8080"
    code = "import config; print(config.Config.PUBLIC_BASE_URL)"
    env = {k: v for k, v in os.environ.items() if k != "PUBLIC_BASE_URL"}
    run = lambda extra: subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**env, **extra},  # noqa: E731
                                       capture_output=True, text=True, check=True).stdout.strip()
    assert run({"OPTISERVE_PORT": "5123"}) == "http://127.0.0.1:5123"
    assert run({"OPTISERVE_PORT": "5123", "PUBLIC_BASE_URL": "https://optiserve.example.jp"}) == \
        "https://optiserve.example.jp"


def test_invitation_goes_to_the_user_with_a_copy_to_the_admin(client, ctx):
    before = len(mail.outbox_messages())
    login_as(client, ADMIN)
    hospital = db.session.query(Organization).filter_by(code="H0001").one()
    response = client.post("/users/add", data={
        "first_name": "新人 看護", "email": "new.nurse@sakura-hp.example.jp",
        "organization": str(hospital.id), "roles": [str(role_id("HospitalUser"))]})
    assert response.status_code == 302
    mails = [plain(m) for m in new_mails(before)]
    assert len(mails) == 2
    (s1, to1, _cc1, body1), (s2, to2, _cc2, body2) = mails
    assert to1 == "new.nurse@sakura-hp.example.jp" and "ユーザー仮登録のお知らせ" in s1
    base = current_app.config["PUBLIC_BASE_URL"]
    link = re.search(re.escape(base) + r"/first-login/\S+", body1).group(0)
    assert to2 == ADMIN and "控え" in s2
    assert "new.nurse@sakura-hp.example.jp" in body2 and link not in body2 and "/first-login/" not in body2
    for subject, body in ((s1, body1), (s2, body2)):
        assert_japanese_mail(subject, body)
    # the link works
    path = link[len(base):]
    assert client.get(path).status_code in (200, 302)


def test_report_published_mail_links_to_the_month(ctx):
    before = len(mail.outbox_messages())
    hospital = db.session.query(Organization).filter_by(code="H0001").one()
    hospital.notification_emails = "report@sakura-hp.example.jp"
    db.session.commit()
    notify_published(hospital, dt.date(2026, 10, 1))
    notify_published(hospital, dt.date(2026, 10, 1), version=2, changes=[])
    (s1, to, _cc, body1), (s2, _to, _cc2, body2) = [plain(m) for m in new_mails(before)]
    base = current_app.config["PUBLIC_BASE_URL"]
    assert to == "report@sakura-hp.example.jp"
    assert f"{base}/reports/?month=2026-10" in body1 and "公開しました" in s1
    assert f"{base}/reports/?month=2026-10" in body2 and "第2版" in s2
    assert_japanese_mail(s1, body1)
    assert_japanese_mail(s2, body2)


def test_auth_mails_are_japanese_with_the_one_prefix(ctx):
    before = len(mail.outbox_messages())
    user = user_by_email(HOSPITAL_A)
    link = notices.send_password_reset(user, mails_per_hour=5)
    notices.send_lockout_notice(user, minutes=15)
    (s1, _t, _c, body1), (s2, _t2, _c2, body2) = [plain(m) for m in new_mails(before)]
    assert link in body1 and "パスワード再設定" in s1
    assert "ロック" in s2 and "15分間" in body2
    for subject, body in ((s1, body1), (s2, body2)):
        assert_japanese_mail(subject, body)


def test_every_template_renders_with_the_prefix_and_footer(ctx):
    hospital = db.session.query(Organization).filter_by(code="H0001").one()
    user = user_by_email(HOSPITAL_A)
    contexts = {
        "password_reset": dict(user=user, link="L", hours=1),
        "lockout": dict(user=user, minutes=15),
        "invitation": dict(user=user, link="L", hours=72, inviter=user),
        "invitation_copy": dict(user=user, hours=72, inviter=user),
        "dealer_permission": dict(dealer=user, hospital=hospital, old="（なし）", label="全機能利用", reason="代行"),
        "upload_done": dict(hospital=hospital, month="2026-10", label="機器台帳", imported=3, rejected=0),
        "upload_batch_done": dict(hospital=hospital, month="2026-10", files=[
            dict(label="医療機器台帳", name="a.csv", outcome="完了", imported=3, rejected=0, reason=None),
            dict(label="故障履歴", name="c.csv", outcome="失敗", imported=None, rejected=0, reason="有効な行がありません")]),
        "report_published": dict(hospital=hospital, month_label="2026年10月", link="L"),
        "report_revised": dict(hospital=hospital, month_label="2026年10月", version=2, lines=["x"], link="L"),
        "report_months": dict(hospital=hospital, published=[MonthNotice(dt.date(2026, 9, 1), "2026年9月", "L")],
                              revised=[MonthNotice(dt.date(2026, 10, 1), "2026年10月", "L", 2, ("x",))]),
    }
    templates = {p.stem for p in (ROOT / "app/templates/mail").glob("*.txt") if not p.stem.startswith("_")}
    assert templates == set(contexts)
    for name, context in contexts.items():
        subject, body = mail.render(name, **context)
        assert_japanese_mail(subject, body)
        assert "このメールは OptiServe から自動送信しています" in body
        assert current_app.config["PUBLIC_BASE_URL"] in body


def test_an_old_style_subject_gets_the_one_prefix():
    assert mail.subject_with_prefix("[OptiServe] 件名") == "【OptiServe】件名"
    assert mail.subject_with_prefix("【OptiServe】件名") == "【OptiServe】件名"
