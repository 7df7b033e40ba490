"""Jobs sending the sign-in mails (app.services.accounts.notices): each takes a user id."""
from __future__ import annotations

from flask import current_app

from app.infra.queue import in_app_context


def _in_app(work, user_id: int | None) -> str:
    if user_id is None:
        return "not sent"  # the request's address is unknown: nothing to do, by design
    return in_app_context(work, user_id)


def _reset(user_id: int) -> str:
    from app.extensions import db
    from app.models import User
    from app.services.accounts import notices

    user = db.session.get(User, user_id)
    sent = user is not None and notices.send_password_reset(user, **notices.config_for_reset())
    db.session.remove()
    return "sent" if sent else "not sent"


def _lockout(user_id: int) -> str:
    from app.extensions import db
    from app.models import User
    from app.services.accounts import notices

    user = db.session.get(User, user_id)
    sent = user is not None and notices.send_lockout_notice(
        user, minutes=current_app.config["AUTH_LOCKOUT_MINUTES"])
    db.session.remove()
    return "sent" if sent else "not sent"


def password_reset_mail_job(user_id: int | None) -> str:
    return _in_app(_reset, user_id)


def lockout_notice_job(user_id: int) -> str:
    return _in_app(_lockout, user_id)
