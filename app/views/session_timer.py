"""The idle-expiry notice's two routes, called by static/js/session_timer.js on every page.

``/session/remaining`` is passive (it does not count as activity, else asking would keep the
session alive for ever); ``/session/extend`` is the user's "continue": CSRF-checked here
(token in the X-CSRFToken header) rather than by the application-wide CSRFProtect, whose
refusal comes before the login is read and is an HTML page the script cannot show.
"""
from __future__ import annotations

from flask import current_app, jsonify, request
from flask_appbuilder import BaseView, expose
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms import ValidationError

from app.access import sessions
from app.access.request_policy import csrf


def _answer(seconds: int):
    body = {"seconds": seconds, "warn_seconds": current_app.config["SESSION_WARN_SECONDS"]}
    return jsonify(body), 200 if seconds > 0 else 401


class SessionTimerView(BaseView):
    """Any logged-in user's own session; no data and no permission behind it."""

    route_base = "/session"
    default_view = "remaining"

    @expose("/remaining")
    @sessions.passive_request
    def remaining(self):
        return _answer(sessions.seconds_left())

    @expose("/extend", methods=["POST"])
    @sessions.passive_request  # only an accepted request extends (below), not a refused one
    def extend(self):
        if current_app.config.get("WTF_CSRF_ENABLED", True):
            try:
                validate_csrf(request.headers.get("X-CSRFToken"))
            except (CSRFError, ValidationError):
                return jsonify(message=_("画面の有効期限が切れました。再読み込みしてください。")), 400
        return _answer(sessions.extend())


csrf.exempt(f"{__name__}.{SessionTimerView.extend.__name__}")  # checked in the view, above
