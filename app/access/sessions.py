"""Session rules: a session counts as logged in only when the second factor was passed in
it, expires after ``SESSION_IDLE_MINUTES`` without a request, and starts afresh (new cookie
content, nothing carried over but the chosen language) at login.

Flask's session is a signed cookie: "rotation" means clearing it before the login, so no
value planted before authentication survives, and clearing it again at logout.

A signed cookie cannot be deleted from a copy an attacker holds, so every session stores the
user's ``session_generation`` at login and is refused once the stored generation differs.
:func:`app.services.accounts.sessions.end_all_sessions` raises it: at logout, password reset, TOTP reset, deactivation,
a role or organization change, and "log out everywhere".
"""
from __future__ import annotations

import time

from flask import current_app, flash, session
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

MFA_KEY = "_os_mfa"  # second factor passed (or not required) in this session
SEEN_KEY = "_os_seen"  # epoch seconds of the last request
PENDING_KEY = "_os_pending"  # a login between the password and the second factor
GENERATION_KEY = "_os_gen"  # the user's session_generation when this session logged in
PENDING_SECONDS = 600
LANGUAGE_KEY = "locale"  # Flask-AppBuilder's /lang/<locale> stores the reader's choice here


def _clear_keeping_language() -> None:
    """Empty the session but keep the language the reader chose: it is no credential, and a
    reader who picked English on the login page (or was logged out for idling) would
    otherwise land in Japanese screens right after logging in."""
    language = session.get(LANGUAGE_KEY)
    session.clear()
    if language:
        session[LANGUAGE_KEY] = language


def start(user, *, via: str) -> None:
    _clear_keeping_language()
    login_user(user, remember=False, fresh=True)
    session.permanent = True
    session[MFA_KEY] = via
    session[SEEN_KEY] = int(time.time())
    session[GENERATION_KEY] = user.session_generation or 0


def current_via() -> str:
    """How this session passed the second factor (kept when the session is started afresh)."""
    return session.get(MFA_KEY) or "password"


def end() -> None:
    logout_user()
    _clear_keeping_language()


def set_pending(user, next_url: str, stage: str) -> None:
    _clear_keeping_language()
    session[PENDING_KEY] = {"uid": user.id, "since": int(time.time()), "next": next_url,
                            "stage": stage, "gen": user.session_generation or 0}


def pending() -> dict | None:
    data = session.get(PENDING_KEY)
    if not data or time.time() - data.get("since", 0) > PENDING_SECONDS:
        return None
    return data


def pending_is_current(data: dict, user) -> bool:
    """A half-done login (password given) is ended by the same events as a session."""
    return data.get("gen") == (user.session_generation or 0)


def clear_pending() -> None:
    session.pop(PENDING_KEY, None)


def enforce() -> None:
    """before_request: drop sessions that skipped the second factor, were ended elsewhere
    (an older session generation) or sat idle too long."""
    if not current_user.is_authenticated or not session.get("_user_id"):
        return
    idle = current_app.config["SESSION_IDLE_MINUTES"] * 60
    seen = session.get(SEEN_KEY)
    now = int(time.time())
    if not session.get(MFA_KEY):
        end()
        return
    if session.get(GENERATION_KEY) != (current_user.session_generation or 0):
        end()
        flash(_("このセッションは終了しました。再度ログインしてください。"), "warning")
        return
    if not isinstance(seen, int) or now - seen > idle:
        end()
        flash(_("一定時間操作がなかったため、ログアウトしました。再度ログインしてください。"),
              "warning")
        return
    if now - seen >= 15:  # rewrite the cookie at most every 15 s
        session[SEEN_KEY] = now
