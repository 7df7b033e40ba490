"""Every stored timestamp is shown in Japan time, to the minute, with the zone stated once
per page (issue 14 item 3, issue 10 "Japan time everywhere").

Each test stores a UTC time before 09:00 JST — 2026-11-29 22:40:30.123456 UTC is
2026-11-30 07:40 JST — and checks that the screen shows the next day's JST date.
"""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import insert, select

from app.core.months import current_month, format_jst
from app.extensions import db
from app.models import (
    Download,
    Equipment,
    EquipmentChange,
    Organization,
    ReportFile,
    UploadFile,
    User,
)
from app.views.display import ZONE_NOTE

from .conftest import ADMIN, HOSPITAL_A, ORGADMIN_A, login_as, user_by_email

STORED = dt.datetime(2026, 11, 29, 22, 40, 30, 123456)  # naive UTC, as stored
SHOWN = "2026-11-30 07:40"
UTC_DATE = "2026-11-29"
NOTE = str(ZONE_NOTE)


def text_of(response) -> str:
    html = response.get_data(as_text=True)
    html = re.sub(r"<script.*?</script>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def assert_jst(response, shown: str = SHOWN) -> str:
    assert response.status_code == 200
    text = text_of(response)
    assert shown in text
    assert UTC_DATE not in text, "a UTC date is on the page"
    assert not re.search(r"\d\d:\d\d:\d\d\.\d+", text), "microseconds are on the page"
    assert text.count(NOTE) == 1, "the zone is stated once"
    return text


def org(code: str) -> Organization:
    return db.session.scalars(select(Organization).where(Organization.code == code)).one()


def test_format_jst_gives_the_next_day_before_nine():
    assert format_jst(STORED) == SHOWN
    assert format_jst(dt.datetime(2026, 11, 30, 0, 0)) == "2026-11-30 09:00"
    assert format_jst(None) == ""


def test_users_list_and_show_last_login(client, ctx):
    user = user_by_email(HOSPITAL_A)
    user.last_login = STORED
    user.created_on = STORED
    db.session.commit()
    login_as(client, ADMIN)
    assert_jst(client.get("/users/list/"))
    assert_jst(client.get(f"/users/show/{user.id}"))


def test_organizations_list_last_change(client, ctx):
    for organization in db.session.scalars(select(Organization)):
        organization.changed_on = STORED
    db.session.commit()
    login_as(client, ADMIN)
    assert_jst(client.get("/organizations/list/"))


def test_audit_list_and_show(client, ctx):
    login_as(client, ORGADMIN_A)
    from app.models import AuditEvent
    from app.services.audit import trail as audit

    audit.record("user.update", user_by_email(HOSPITAL_A), organization_id=org("H0001").id,
                 changes={"phone": ["1", "2"]})
    db.session.commit()
    event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    shown = format_jst(event.created_on)
    text = text_of(client.get("/audit/list/"))
    assert shown in text and NOTE in text and "（UTC）" not in text
    assert not re.search(r"\d\d:\d\d:\d\d", text)


def test_upload_status_and_history(client, ctx):
    hospital = org("H0001")
    db.session.add(UploadFile(hospital_id=hospital.id, month=current_month(), file_type=1,
                              original_name="ledger.csv", sha256="0" * 64, status="succeeded",
                              rows_total=1, rows_imported=1, rows_rejected=0, uploaded_at=STORED))
    db.session.commit()
    login_as(client, HOSPITAL_A)
    text = assert_jst(client.get("/upload/"))
    assert text.count(SHOWN) == 2  # the status table and the six-month history
    status = client.get("/upload/status?ids=" + str(db.session.scalar(select(UploadFile.id)))).get_json()
    assert status["uploads"][0]["uploaded_at"] == SHOWN


def test_report_list_and_download_history(client, ctx):
    hospital = org("H0001")
    month = dt.date(2026, 10, 1)
    row = ReportFile(hospital_id=hospital.id, month=month, file_type=1, version=1, file_name="r.xlsx",
                     storage_key="reports/x.xlsx", size=10, status="published", published_at=STORED,
                     generated_at=STORED)
    db.session.add(row)
    db.session.flush()
    user = user_by_email(HOSPITAL_A)
    db.session.add_all([
        Download(report_file_id=row.id, hospital_id=hospital.id, user_id=user.id, downloaded_at=STORED),
        Download(report_file_id=row.id, hospital_id=hospital.id, user_id=user.id,
                 downloaded_at=STORED + dt.timedelta(hours=1)),
    ])
    db.session.commit()
    login_as(client, HOSPITAL_A)
    text = assert_jst(client.get("/reports/?month=2026-10"))
    assert "2026-11-30 08:40" in text  # the last download
    assert "2026-11-30" in text.split("公開日")[1][:40]  # the card's publication date, in JST


def test_ledger_history_time_and_editor_name(client, ctx):
    hospital = org("H0001")
    editor = user_by_email(HOSPITAL_A)
    db.session.execute(insert(Equipment), [dict(hospital_id=hospital.id, device_number="JST-1",
                                                product_name="輸液ポンプ", default_counts=True)])
    device = db.session.scalars(select(Equipment).where(Equipment.device_number == "JST-1")).one()
    db.session.add(EquipmentChange(equipment_id=device.id, hospital_id=hospital.id, changed_by_id=editor.id,
                                   changed_at=STORED, field="counts", old_value="1", new_value="0",
                                   reason="点検のため"))
    db.session.commit()
    login_as(client, HOSPITAL_A)
    text = assert_jst(client.get(f"/ledger/{device.id}"))
    row = text.split("変更履歴", 1)[1]
    assert editor.first_name in row
    assert f"> {editor.id} <" not in client.get(f"/ledger/{device.id}").get_data(as_text=True)
    api = client.get(f"/api/v1/ledger/{device.id}").get_json()
    assert api["history"][0]["changed_by"] == editor.first_name
    assert api["history"][0]["changed_at"].endswith("Z")


def test_dealer_permission_times(client, ctx):
    from app.models import DealerPermission

    for permission in db.session.scalars(select(DealerPermission)):
        permission.granted_at = STORED
    db.session.commit()
    login_as(client, ORGADMIN_A)
    assert_jst(client.get("/dealer-permissions/"))


def test_api_key_last_used(client, ctx):
    from flask_appbuilder.security.sqla.models import ApiKey

    login_as(client, ADMIN)
    owner = user_by_email("system@smds.example")
    assert client.post("/apikeys/create", data={"user_id": owner.id, "name": "jst", "expires_on": ""}).status_code == 201
    key = db.session.scalars(select(ApiKey).where(ApiKey.name == "jst")).one()
    key.created_on = STORED
    key.last_used_on = STORED
    db.session.commit()
    text = text_of(client.get("/apikeys/"))
    assert text.count(SHOWN) >= 2 and UTC_DATE not in text and text.count(NOTE) == 1


def test_page_without_times_states_no_zone(client, ctx):
    login_as(client, ADMIN)
    assert NOTE not in text_of(client.get("/roles/list/"))


def test_users_never_see_a_stored_time_in_utc(client, ctx):
    """The users list sorts and shows last login; a user who never logged in shows nothing."""
    user = db.session.scalars(select(User).where(User.email == HOSPITAL_A)).one()
    user.last_login = None
    db.session.commit()
    login_as(client, ADMIN)
    text = text_of(client.get("/users/list/"))
    assert " None " not in text


def _mail_text(message) -> str:
    part = message.get_body(preferencelist=("plain",)) if message.is_multipart() else message
    return part.get_content()


def _until_in_mail(text: str) -> dt.datetime:
    match = re.search(r"(\d{4}-\d\d-\d\d \d\d:\d\d)（日本時間）まで", text)
    assert match, text
    return dt.datetime.strptime(match.group(1), "%Y-%m-%d %H:%M")


def test_mails_give_times_in_japan_time(app, client, ctx):
    """The invitation's expiry and the lockout's end are written in JST and say so."""
    from app.core.months import jst_now
    from app.infra.mail import outbox_messages
    from app.services.accounts.notices import send_lockout_notice

    login_as(client, ADMIN)
    client.post("/users/add", data={
        "first_name": "新規 花子", "email": "hanako@sakura-hp.example.jp",
        "organization": str(org("H0001").id),
        "roles": [str(app.appbuilder.sm.find_role("HospitalUser").id)],
    })
    invitation = [m for m in outbox_messages() if m["To"] == "hanako@sakura-hp.example.jp"][-1]
    until = _until_in_mail(_mail_text(invitation))
    expected = jst_now().replace(tzinfo=None) + dt.timedelta(hours=app.config["INVITATION_HOURS"])
    assert abs(until - expected) < dt.timedelta(minutes=2)

    send_lockout_notice(user_by_email(HOSPITAL_A), minutes=15)
    lockout = [m for m in outbox_messages() if m["To"] == HOSPITAL_A][-1]
    until = _until_in_mail(_mail_text(lockout))
    assert abs(until - (jst_now().replace(tzinfo=None) + dt.timedelta(minutes=15))) < dt.timedelta(minutes=2)
