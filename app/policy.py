"""Request-wide policy: client address, organization IP allow-lists, session rules, CSRF
and security headers. :func:`init_app` wires it into the application.

Client address: ``X-Forwarded-For`` is believed only for ``TRUSTED_PROXY_COUNT`` proxies
(werkzeug's ProxyFix; 0 = the header is ignored). The count is read per request so a
configuration change (or a test) needs no new middleware.

IP allow-list: when the organization of the signed-in user (session or API key) lists
CIDRs, a request from any other address is refused with 403 and audited, web and API alike.
"""
from __future__ import annotations

import ipaddress
import secrets

from flask import (
    Flask,
    current_app,
    g,
    has_request_context,
    jsonify,
    render_template,
    request,
)
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import Forbidden
from werkzeug.middleware.proxy_fix import ProxyFix

from . import audit
from .auth import session as auth_session
from .extensions import db

csrf = CSRFProtect()

# Endpoints a refused user may still reach: leaving, and the static files of the 403 page.
_OPEN_ENDPOINTS = {"static", "appbuilder.static", "OptiServeAuthView.logout"}


class TrustedProxyFix:
    """ProxyFix whose ``x_for`` is ``app.config['TRUSTED_PROXY_COUNT']`` at request time."""

    def __init__(self, app: Flask, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app
        self._fixes: dict[int, ProxyFix] = {}

    def __call__(self, environ, start_response):
        count = int(self.app.config.get("TRUSTED_PROXY_COUNT") or 0)
        if count <= 0:
            return self.wsgi_app(environ, start_response)
        fix = self._fixes.get(count)
        if fix is None:
            fix = self._fixes[count] = ProxyFix(self.wsgi_app, x_for=count, x_proto=count)
        return fix(environ, start_response)


def ip_allowed(address: str | None, entries: list[str]) -> bool:
    """True when there is no allow-list, or ``address`` lies in one of its networks."""
    if not entries:
        return True
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    for entry in entries:
        try:
            if ip in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


class IPRefused(Forbidden):
    """403 for a request from outside the organization's allow-list."""


def check_ip(user) -> None:
    """Refuse (403, audited) when ``user``'s organization does not allow this address."""
    organization = getattr(user, "organization", None)
    entries = organization.ip_allowlist_entries if organization is not None else []
    address = request.remote_addr
    if ip_allowed(address, entries):
        return
    audit.record("policy.ip_refused", organization, organization_id=organization.id,
                 actor=user, changes={"path": request.path[:200], "ip": address})
    db.session.commit()
    raise IPRefused()


def _enforce_ip_policy() -> None:
    if request.endpoint in _OPEN_ENDPOINTS:
        return
    if current_user.is_authenticated:
        check_ip(current_user)


def _ip_refused(error):
    if request.path.startswith("/api/"):
        return jsonify(message=_("このIPアドレスからの接続は許可されていません")), 403
    return render_template("policy/ip_refused.html", address=request.remote_addr), 403


def csp_nonce() -> str:
    """The per-request nonce FAB's templates put on their <script> tags (baselib.get_nonce)."""
    if not has_request_context():
        return ""
    nonce = getattr(g, "_csp_nonce", None)
    if nonce is None:
        nonce = g._csp_nonce = secrets.token_urlsafe(16)
    return nonce


def content_security_policy(nonce: str) -> str:
    return "; ".join([
        "default-src 'self'",
        f"script-src 'self' 'nonce-{nonce}'",
        # FAB's templates and widgets (select2, datepicker) use style attributes
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def _security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", content_security_policy(csp_nonce()))
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    if current_app.config.get("OPTISERVE_ENV") == "production":
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


def init_csrf(app: Flask) -> None:
    """CSRF for every form, FAB's and ours. Must run before AppBuilder registers its APIs:
    FAB exempts its REST blueprints (authenticated by API key or session + JSON) only when
    the extension already exists."""
    csrf.init_app(app)


def init_app(app: Flask) -> None:
    app.wsgi_app = TrustedProxyFix(app, app.wsgi_app)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.before_request(auth_session.enforce)
    app.before_request(_enforce_ip_policy)
    app.after_request(_security_headers)
    app.register_error_handler(IPRefused, _ip_refused)
