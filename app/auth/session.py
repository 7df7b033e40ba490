"""Session rules: a session counts as logged in only when the second factor was passed in
it, expires after ``SESSION_IDLE_MINUTES`` without a request, and starts afresh (new cookie
content, nothing carried over) at login.

Flask's session is a signed cookie: "rotation" means clearing it before the login, so no
value planted before authentication survives, and clearing it again at logout.
"""
from __future__ import annotations

import time

from flask import current_app, flash, session
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

MFA_KEY = "_os_mfa"  # second factor passed (or not required) in this session
SEEN_KEY = "_os_seen"  # epoch seconds of the last request
PENDING_KEY = "_os_pending"  # a login between the password and the second factor
PENDING_SECONDS = 600


def start(user, *, via: str) -> None:
    session.clear()
    login_user(user, remember=False, fresh=True)
    session.permanent = True
    session[MFA_KEY] = via
    session[SEEN_KEY] = int(time.time())


def end() -> None:
    logout_user()
    session.clear()


def set_pending(user, next_url: str, stage: str) -> None:
    session.clear()
    session[PENDING_KEY] = {"uid": user.id, "since": int(time.time()), "next": next_url,
                            "stage": stage}


def pending() -> dict | None:
    data = session.get(PENDING_KEY)
    if not data or time.time() - data.get("since", 0) > PENDING_SECONDS:
        return None
    return data


def clear_pending() -> None:
    session.pop(PENDING_KEY, None)


def enforce() -> None:
    """before_request: drop sessions that skipped the second factor or sat idle too long."""
    if not current_user.is_authenticated or not session.get("_user_id"):
        return
    idle = current_app.config["SESSION_IDLE_MINUTES"] * 60
    seen = session.get(SEEN_KEY)
    now = int(time.time())
    if not session.get(MFA_KEY):
        end()
        return
    if not isinstance(seen, int) or now - seen > idle:
        end()
        flash(_("一定時間操作がなかったため、ログアウトしました。再度ログインしてください。"),
              "warning")
        return
    if now - seen >= 15:  # rewrite the cookie at most every 15 s
        session[SEEN_KEY] = now
