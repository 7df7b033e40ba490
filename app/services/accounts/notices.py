"""Mails of the sign-in: the password-reset link and the lockout notice.

They are sent by jobs (app.jobs.auth_mail), never inside the request: a request for a known
address then does the same work as one for an unknown address (a look-up, at most one
enqueue), so the answer time does not tell which addresses exist, and a locked account's
owner learns of the lock without the login page telling the person guessing.

Functions here take the user and the settings; they do not read the request.
"""
from __future__ import annotations

import datetime as dt
import logging

import redis
from flask import current_app

from app.core.months import format_jst, utc_now
from app.extensions import db
from app.infra.mail import render as render_mail
from app.infra.mail import send_mail
from app.models import Invitation, User, UserStatus
from app.services.accounts import invitations
from app.services.audit import trail as audit

log = logging.getLogger(__name__)

RESET_LINK_HOURS = 1
RESET_JOB = "app.jobs.auth_mail.password_reset_mail_job"
LOCKOUT_JOB = "app.jobs.auth_mail.lockout_notice_job"


def _enqueue(function: str, user_id: int | None) -> None:
    from app.infra.queue import get_queue

    get_queue().enqueue(function, user_id, result_ttl=3600, failure_ttl=7 * 86400)


def enqueue_password_reset(user_id: int | None) -> None:
    """``None`` (an unknown or inactive address) queues a job that sends nothing, so the
    request costs the same either way."""
    _enqueue(RESET_JOB, user_id)


def enqueue_lockout_notice(user_id: int) -> None:
    """Best effort: a Redis outage must not turn a refused login into an error page."""
    try:
        _enqueue(LOCKOUT_JOB, user_id)
    except redis.exceptions.RedisError:
        log.exception("lockout notice for user %s not queued", user_id)


def can_reset_password(user: User | None) -> bool:
    """Whether the request screen queues a reset for ``user`` (its own columns only: no
    query more than for an unknown address; the job checks the organization)."""
    return user is not None and user.status == UserStatus.active and bool(user.active)


def in_active_organization(user: User) -> bool:
    """A deactivated organization's users are refused every request once logged in
    (app.access.request_policy), so no link or reset mail may take them that far: a
    password set then would wait for a reactivation nobody asked it for."""
    organization = user.organization
    return organization is None or bool(organization.is_active)


def send_password_reset(user: User, *, mails_per_hour: int,
                        now: dt.datetime | None = None) -> str | None:
    """Mail ``user`` a new reset link, unless ``mails_per_hour`` links went out in the last
    hour. Every older unused link stops working. Returns the link, or None when nothing was
    sent. Commits."""
    if not can_reset_password(user) or not in_active_organization(user):
        return None
    now = now or utc_now()
    links = db.session.query(Invitation).filter_by(
        user_id=user.id, purpose=invitations.PASSWORD_RESET)
    recent = links.filter(Invitation.created_on > now - dt.timedelta(hours=1)).count()
    if recent >= mails_per_hour:
        audit.record("auth.password_reset_throttled", user, actor=user,
                     changes={"links_last_hour": recent})
        db.session.commit()
        return None
    links.filter(Invitation.used_at.is_(None), Invitation.expires_at > now).update(
        {"expires_at": now}, synchronize_session=False)
    link = invitations.create_link(user, invitations.PASSWORD_RESET, hours=RESET_LINK_HOURS)
    audit.record("auth.password_reset_requested", user, actor=user)
    db.session.commit()
    subject, body = render_mail("password_reset", user=user, link=link, hours=RESET_LINK_HOURS)
    send_mail([user.email], subject, body)
    return link


def send_lockout_notice(user: User, *, minutes: int) -> str | None:
    """Tell the owner that the account is locked (the login page tells nobody)."""
    if not user.email:
        return None
    until = format_jst(utc_now() + dt.timedelta(minutes=minutes))
    subject, body = render_mail("lockout", user=user, minutes=minutes, until=until)
    return send_mail([user.email], subject, body)


def config_for_reset() -> dict:
    return {"mails_per_hour": current_app.config["PASSWORD_RESET_MAILS_PER_HOUR"]}
