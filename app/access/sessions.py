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

from flask import current_app, flash, request, session
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

MFA_KEY = "_os_mfa"  # second factor passed (or not required) in this session
SEEN_KEY = "_os_seen"  # epoch seconds of the last request
PENDING_KEY = "_os_pending"  # a login between the password and the second factor
GENERATION_KEY = "_os_gen"  # the user's session_generation when this session logged in
PENDING_SECONDS = 600
LANGUAGE_KEY = "locale"  # Flask-AppBuilder's /lang/<locale> stores the reader's choice here
PASSIVE_ATTRIBUTE = "_os_passive_request"


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


def passive_request(view):
    """Mark a view the page's script calls on its own (status polls, the idle-expiry timer):
    it is checked like any request but is no sign the user is there, so it does not restart
    the idle time. Without this a page left polling would never log out."""
    setattr(view, PASSIVE_ATTRIBUTE, True)
    return view


def _is_passive() -> bool:
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    return bool(getattr(view, PASSIVE_ATTRIBUTE, False))


def remaining_seconds(seen, now: int, idle_minutes: int) -> int:
    """Seconds until a session last active at ``seen`` (epoch seconds) expires; 0 if it has."""
    if not isinstance(seen, int):
        return 0
    return max(0, seen + idle_minutes * 60 - now)


def seconds_left() -> int:
    """What remains of the current session's idle time (0 when nobody is logged in)."""
    if not current_user.is_authenticated or not session.get("_user_id"):
        return 0
    return remaining_seconds(session.get(SEEN_KEY), int(time.time()),
                             current_app.config["SESSION_IDLE_MINUTES"])


def extend() -> int:
    """Count now as activity (the user said "continue"); returns the seconds left then."""
    if not current_user.is_authenticated or not session.get("_user_id"):
        return 0
    session[SEEN_KEY] = int(time.time())
    return seconds_left()


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
    if _is_passive():
        return
    if now - seen >= 15:  # rewrite the cookie at most every 15 s
        session[SEEN_KEY] = now
