"""「招待メールを再送」: a new first-login link for a user who has not logged in yet.

The mail was lost, the link expired, or an admin corrected a typo in the address (which ends
the old link, see :mod:`app.services.accounts.invitations`): the user gets a new link, mailed
exactly as the first invitation was (same template, a copy to the admin who sends it), and
every unused earlier link of the user stops working, so only the newest mail counts.
"""
from __future__ import annotations

import datetime as dt

from flask import current_app
from flask_babel import gettext as _

from app.access.capabilities import MANAGE_USERS
from app.access.scope import scope_of
from app.core.months import utc_now
from app.extensions import db
from app.models import Invitation, User, UserStatus
from app.services.accounts import invitations
from app.services.accounts.users import UserError, send_invitation
from app.services.audit import trail as audit

# A second click, or a script retrying, must not flood the user's mailbox.
RESEND_INTERVAL = dt.timedelta(minutes=1)


class UserOutOfScope(UserError):
    """The actor may not manage this user: the screen and the API answer 404, as for any
    user outside the scope."""


class ResendTooSoon(UserError):
    """The last invitation went out less than :data:`RESEND_INTERVAL` ago (the API: 429)."""


def check_resend(user: User, actor) -> None:
    """Raise :class:`UserError` (with the message to show) unless ``actor`` may resend now."""
    scope = scope_of(actor)
    if not scope.can(MANAGE_USERS) or not scope.allows(user.organization_id):
        raise UserOutOfScope(_("このユーザーの招待メールを再送する権限がありません"))
    if user.status == UserStatus.inactive or not user.active:
        raise UserError(_("利用停止中のユーザーには招待メールを再送できません"))
    if user.status != UserStatus.temporary or user.password:
        raise UserError(_("このユーザーは初回ログインを済ませているため、招待メールは再送できません"))
    latest = db.session.query(Invitation.created_on).filter(
        Invitation.user_id == user.id, Invitation.purpose == invitations.INVITATION,
    ).order_by(Invitation.created_on.desc()).limit(1).scalar()
    if latest is not None and latest > utc_now() - RESEND_INTERVAL:
        raise ResendTooSoon(_("招待メールは送信したばかりです。1分ほど待ってから再送してください"))


def resend_invitation(user: User, actor) -> int:
    """End the user's unused links, store a new one, audit, commit, then mail it as the first
    invitation was. Returns the new link's validity in hours. The link itself is not
    returned: unlike at registration it is shown to nobody but its owner."""
    check_resend(user, actor)
    ended = invitations.end_unused_links(db.session, [user.id])
    link = invitations.create_link(user, created_by=actor)
    audit.record("user.invitation_resent", user, actor=actor,
                  changes={"email": user.email, "ended_links": ended})
    db.session.commit()
    hours = current_app.config["INVITATION_HOURS"]
    send_invitation(user, link, hours, inviter=actor)
    return hours
