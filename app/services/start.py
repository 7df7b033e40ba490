"""What each role's start page shows (issue 14, item 7): what needs doing. Plain functions:
the view passes the organization / scope in.

- operator / admin: hospitals whose previous month is not complete (due by the 10th), failed
  or stuck uploads and report jobs, unmapped classifications by hospital;
- OrgAdmin: pending invitations and locked users of its organization;
- hospital user: this month's upload status and the latest published report (on the dashboard);
- manufacturer: its selected hospitals and its latest analysis months.
"""
from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app.core.months import add_months, current_month, jst_today, previous_month, utc_now
from app.extensions import db
from app.models import (
    Classification,
    Equipment,
    Invitation,
    Organization,
    OrganizationKind,
    ReportFile,
    UploadFile,
    UploadStatus,
    UploadType,
    User,
    UserStatus,
)
from app.services.stored_messages import display
from app.services.uploads.month_status import KINDS, MonthState, due_date, month_state, month_states

STUCK_AFTER = dt.timedelta(minutes=30)
RECENT = dt.timedelta(days=14)
# Shown on the start page and the dashboard, in the UI language.
TYPE_LABELS = {int(UploadType.ledger): _l("台帳"), int(UploadType.lending): _l("貸出"),
               int(UploadType.failure): _l("故障")}
STATUS_LABELS = {
    "queued": _l("待機中"), "processing": _l("処理中"), "succeeded": _l("取込完了"),
    "succeeded_with_rejections": _l("取込完了（一部除外）"), "needs_mapping": _l("列の対応付け待ち"),
    "failed": _l("失敗"), "duplicate": _l("同一ファイル"), "discarded": _l("取り消し済み"), "running": _l("作成中"),
    "published": _l("公開済み"),
}
NOT_SUBMITTED = _l("未提出")
UPLOAD_JOB, REPORT_JOB = _l("アップロード"), _l("レポート作成")
FAILED, STUCK = _l("失敗"), _l("停止の疑い")


def due_month(today: dt.date | None = None) -> tuple[dt.date, dt.date, bool]:
    """(the month whose files are due, its due date, whether the due date has passed)."""
    today = today or jst_today()
    month = previous_month(dt.date(today.year, today.month, 1))
    due = due_date(month)
    return month, due, today > due


def _hospitals() -> list[Organization]:
    return list(db.session.scalars(select(Organization).where(
        Organization.kind == OrganizationKind.hospital.value).order_by(Organization.code)))


def type_rows(state: MonthState) -> list[dict]:
    """Each file type of a hospital-month as the start pages and the dashboard show it: the
    status of the file in force (else of the newest upload, else 未提出), whether it is in,
    and the status of a newer upload that has not succeeded beside a file in force (shown
    apart: it does not make the month incomplete, app.services.uploads.month_status)."""
    rows = []
    for file_type in KINDS:
        kind = state.kinds[file_type]
        status = kind.in_force_status or kind.newer_status
        rows.append({
            "label": TYPE_LABELS[file_type],
            "status": STATUS_LABELS.get(status, status) if status else NOT_SUBMITTED,
            "ok": kind.done,
            "newer": STATUS_LABELS.get(kind.newer_status, kind.newer_status) if kind.done and kind.newer else None,
        })
    return rows


def incomplete_hospitals(today: dt.date | None = None) -> dict:
    """Hospitals whose due month is not complete (app.services.uploads.month_status), with
    what each type's uploads say."""
    month, due, overdue = due_month(today)
    hospitals = _hospitals()
    states = month_states([h.id for h in hospitals], [month])
    rows = [{"hospital": h, "types": type_rows(states[h.id, month])}
            for h in hospitals if not states[h.id, month].complete]
    return {"month": month, "due": due, "overdue": overdue, "rows": rows, "total": len(hospitals)}


def job_problems(now: dt.datetime | None = None, locale=None) -> list[dict]:
    """Failed uploads and report jobs of the last two weeks, and uploads / reports waiting or
    running for longer than 30 minutes (stuck), newest first; their messages in ``locale``."""
    now = now or utc_now()
    names = dict(db.session.execute(select(Organization.id, Organization.name)).all())
    problems = []
    for u in db.session.scalars(select(UploadFile).where(
            ((UploadFile.status == UploadStatus.failed.value) & (UploadFile.uploaded_at >= now - RECENT))
            | (UploadFile.status.in_([UploadStatus.queued.value, UploadStatus.processing.value])
               & (UploadFile.uploaded_at < now - STUCK_AFTER))).order_by(UploadFile.uploaded_at.desc()).limit(50)):
        problems.append({"kind": UPLOAD_JOB, "hospital": names.get(u.hospital_id, ""), "hospital_id": u.hospital_id,
                         "month": u.month, "what": f"{TYPE_LABELS.get(u.file_type, '')} {u.original_name}",
                         "status": FAILED if u.status == UploadStatus.failed.value else STUCK,
                         "detail": STATUS_LABELS.get(u.status, u.status), "at": u.uploaded_at,
                         "message": display(u.message_parts, u.message, locale)[:200]})
    for r in db.session.scalars(select(ReportFile).where(
            (ReportFile.status == "failed")
            | (ReportFile.status.in_(["queued", "running"]) & (func.coalesce(ReportFile.generated_at, ReportFile.month)
                                                               < now - STUCK_AFTER)))
            .order_by(ReportFile.month.desc()).limit(50)):
        problems.append({"kind": REPORT_JOB, "hospital": names.get(r.hospital_id, ""), "hospital_id": r.hospital_id,
                         "month": r.month, "what": _l("種別%(type)s 第%(version)s版", type=r.file_type,
                                                      version=r.version),
                         "status": FAILED if r.status == "failed" else STUCK,
                         "detail": STATUS_LABELS.get(r.status, r.status), "at": r.generated_at,
                         "message": display(r.message_parts, r.message, locale)[:200]})
    return problems


def unmapped_by_hospital(limit: int = 30) -> list[dict]:
    """Per hospital: its classifications not yet mapped to an SMDS classification, how many of
    them hold devices (the ones whose devices are left out of the figures: a list of 600
    classes of which 3 are in use needs 3 decisions), and how many devices; most devices first."""
    effective = func.coalesce(Equipment.override_classification_id, Equipment.classification_id)
    devices = (select(effective.label("cid"), func.count().label("n")).group_by(effective).subquery())
    in_use = func.count(devices.c.cid)  # only the classes that joined a device count
    device_count = func.coalesce(func.sum(devices.c.n), 0)
    rows = db.session.execute(
        select(Organization.id, Organization.code, Organization.name, func.count(Classification.id),
               in_use, device_count)
        .join(Classification, Classification.hospital_id == Organization.id)
        .outerjoin(devices, devices.c.cid == Classification.id)
        .where(Classification.smds_classification_id.is_(None), Classification.is_active.is_(True))
        .group_by(Organization.id, Organization.code, Organization.name)
        .order_by(device_count.desc(), func.count(Classification.id).desc(), Organization.code).limit(limit)).all()
    return [{"hospital_id": i, "code": code, "name": name, "classes": n, "in_use": int(used), "devices": int(d or 0)}
            for i, code, name, n, used, d in rows]


def pending_invitations(organization_id: int, now: dt.datetime | None = None) -> list[dict]:
    """The 仮登録 users still in use, each with its latest invitation: a resent invitation (or
    a corrected address) ends the earlier links, which are no longer worth a row of their own."""
    now = now or utc_now()
    rows = db.session.execute(
        select(User, Invitation.expires_at, Invitation.created_on).join(Invitation, Invitation.user_id == User.id)
        .where(User.organization_id == organization_id, User.status == UserStatus.temporary,
               User.active.is_(True), Invitation.purpose == "invitation", Invitation.used_at.is_(None))
        .order_by(Invitation.created_on.desc(), Invitation.id.desc())).all()
    latest = {}
    for u, expires, sent in rows:
        latest.setdefault(u.id, {"user": u, "expires_at": expires, "sent_at": sent, "expired": expires <= now})
    return list(latest.values())


def locked_users(organization_id: int, now: dt.datetime | None = None) -> list[User]:
    now = now or utc_now()
    return list(db.session.scalars(select(User).where(
        User.organization_id == organization_id, User.locked_until.is_not(None), User.locked_until > now)
        .order_by(User.locked_until.desc())))


def hospital_status(hospital_id: int, today: dt.date | None = None) -> dict:
    """This month's upload status (the month due now) and the latest published report."""
    from app.services.reports.service import is_published

    month, due, overdue = due_month(today)
    state = month_state(hospital_id, month)
    report = db.session.scalars(select(ReportFile).where(ReportFile.hospital_id == hospital_id, is_published())
                                .order_by(ReportFile.month.desc(), ReportFile.file_type, ReportFile.version.desc())
                                .limit(1)).first()
    return {"month": month, "due": due, "overdue": overdue, "ready": state.complete,
            "types": type_rows(state), "report": report}


def manufacturer_summary(manufacturer_id: int) -> dict:
    from app.services.partners import manufacturers

    chosen = manufacturers.selection(manufacturer_id)
    visible = set(manufacturers.visible_hospital_ids(manufacturer_id))
    month = current_month()
    names = dict(db.session.execute(select(Organization.id, Organization.name).where(
        Organization.id.in_([s.hospital_id for s in chosen]))).all()) if chosen else {}
    return {"selection": [{"hospital": names.get(s.hospital_id, ""), "rank": s.rank,
                           "visible": s.hospital_id in visible, "since": s.month} for s in chosen],
            "months": [add_months(month, -i) for i in range(1, 4)]}
