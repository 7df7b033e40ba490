"""Request-wide policy: client address, organization IP allow-lists, session rules, CSRF
(forms and API) and security headers. :func:`init_app` wires it into the application.

Client address: ``X-Forwarded-For`` is believed only for ``TRUSTED_PROXY_COUNT`` proxies
(werkzeug's ProxyFix; 0 = the header is ignored). The count is read per request so a
configuration change (or a test) needs no new middleware.

IP allow-list: when the organization of the signed-in user (session or API key) lists
CIDRs, a request from any other address is refused with 403 and audited, web and API alike.

A dealer acting for a hospital works on that hospital's rows, so the hospital's policy applies
to it as well (:func:`check_acting_hospital`): its IP allow-list, and its required second
factor (a session that logged in with the password alone is refused; an API key, which no
second factor ever guards, is not). The refusal page lets the dealer go back to its own
organization (or to another hospital) from the same browser.

API CSRF: FAB exempts its REST blueprints from Flask-WTF's CSRF check, yet the APIs also
accept the browser's session cookie (so the screens' scripts can call them). A write
(POST/PUT/PATCH/DELETE) under ``/api/`` made with the session cookie therefore needs the
CSRF token in an ``X-CSRFToken`` header, or an ``Origin`` (else ``Referer``) naming this
application. Machine clients authenticate with an API key in the ``Authorization`` header,
which a cross-site page cannot set, and are exempt.
"""
from __future__ import annotations

import ipaddress
import secrets
from urllib.parse import urlparse

from flask import (
    Flask,
    current_app,
    g,
    has_request_context,
    jsonify,
    render_template,
    request,
    session,
)
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFProtect, generate_csrf, validate_csrf
from werkzeug.exceptions import Forbidden
from werkzeug.middleware.proxy_fix import ProxyFix
from wtforms.validators import ValidationError

from app.access import sessions as auth_session
from app.access.roles import is_dealer_user
from app.extensions import db
from app.services.audit import trail as audit

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
        if not (request.endpoint or "").startswith(_ACTING_FREE_PREFIXES):
            check_acting_hospital(current_user, second_factor=auth_session.current_via())


# Reachable while a hospital's policy refuses the dealer acting for it: the switch back to its
# own organization (or to another hospital) and the language.
_ACTING_FREE_PREFIXES = ("DealerHospitalView.", "LocaleView.")
# How a session passed the login without a second factor (app.views.auth, _second_step).
NO_SECOND_FACTOR = "none"


class ActingHospitalRefused(Forbidden):
    """403 for a dealer whose request the hospital it acts for does not allow."""

    def __init__(self, hospital, reason: str):
        super().__init__()
        self.hospital_name, self.reason = hospital.name, reason


def check_acting_hospital(user, *, second_factor: str | None) -> None:
    """Apply the security policy of the hospital ``user`` (a dealer) acts for in this request:
    its IP allow-list (audited as ``policy.ip_refused``) and, for a session
    (``second_factor`` is how it logged in; None for an API key), its required second factor."""
    from app.access.scope import current_scope  # scope imports the models this module serves
    from app.models import Organization

    if not is_dealer_user(user) or getattr(getattr(g, "user", None), "id", None) != getattr(user, "id", None):
        return  # only a dealer acts for a hospital; the scope read below is the request's user's
    hospital_id = current_scope().dealer_hospital_id
    if hospital_id is None:
        return
    hospital = db.session.get(Organization, hospital_id)
    address = request.remote_addr
    if not ip_allowed(address, hospital.ip_allowlist_entries):
        audit.record("policy.ip_refused", hospital, organization_id=hospital.id, actor=user,
                     changes={"path": request.path[:200], "ip": address, "acting_for": hospital.code})
        db.session.commit()
        raise ActingHospitalRefused(hospital, "ip")
    if second_factor == NO_SECOND_FACTOR and hospital.mfa_required:
        raise ActingHospitalRefused(hospital, "mfa")


class OrganizationInactive(Forbidden):
    """403 for a user whose organization a full masters push deactivated."""


def check_organization_active(user) -> None:
    """Users of a deactivated organization (app.services.sync.masters) are refused (403),
    by session and by API key alike; the 403 is audited as every refusal is."""
    organization = getattr(user, "organization", None)
    if organization is not None and not organization.is_active:
        raise OrganizationInactive()


def _enforce_active_organization() -> None:
    if request.endpoint in _OPEN_ENDPOINTS or not current_user.is_authenticated:
        return  # they may still log out
    check_organization_active(current_user)


def _organization_inactive(error):
    if request.path.startswith("/api/"):
        return jsonify(message=_("所属組織が無効になっているため利用できません")), 403
    organization = getattr(current_user, "organization", None)
    return render_template("policy/organization_inactive.html", name=getattr(organization, "name", "")), 403


def _acting_hospital_refused(error: ActingHospitalRefused):
    if error.reason == "ip":
        message = _("%(name)sのセキュリティ設定により、このIPアドレス（%(address)s）からは%(name)sの作業はできません。",
                    name=error.hospital_name, address=request.remote_addr)
    else:
        message = _("%(name)sは二要素認証を必須にしています。"
                    "一度ログアウトし、ログインし直して二要素認証を設定してから作業してください。",
                    name=error.hospital_name)
    if request.path.startswith("/api/"):
        return jsonify(message=message), 403
    from app.access.dealer_choice import OWN_ORGANIZATION

    appbuilder = current_app.appbuilder
    return render_template("policy/acting_hospital_refused.html", message=message,
                           csrf_token=generate_csrf(), own_id=OWN_ORGANIZATION,
                           appbuilder=appbuilder, base_template=appbuilder.base_template), 403


def _ip_refused(error):
    if request.path.startswith("/api/"):
        return jsonify(message=_("このIPアドレスからの接続は許可されていません")), 403
    return render_template("policy/ip_refused.html", address=request.remote_addr), 403


API_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _origin_of(url: str | None) -> str | None:
    parsed = urlparse(url or "")
    if not parsed.scheme or not parsed.netloc:
        return None
    return f"{parsed.scheme}://{parsed.netloc}".lower()


def is_same_origin(url: str | None) -> bool:
    """Whether ``url`` (an Origin or Referer header) is this application: the address the
    request came to, or ``PUBLIC_BASE_URL``."""
    origin = _origin_of(url)
    if origin is None:
        return False
    own = {f"{request.scheme}://{request.host}".lower(),
           _origin_of(current_app.config.get("PUBLIC_BASE_URL"))}
    return origin in own


def _valid_csrf_header() -> bool:
    token = request.headers.get("X-CSRFToken") or request.headers.get("X-CSRF-Token")
    if not token:
        return False
    try:
        validate_csrf(token)
    except ValidationError:
        return False
    return True


def api_write_allowed() -> bool:
    """The API CSRF rule (see the module docstring) for the current request."""
    if not request.path.startswith("/api/") or request.method not in API_WRITE_METHODS:
        return True
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return True
    if current_app.appbuilder.sm.extract_api_key_from_request() is not None:
        return True  # a machine client: its key, not the cookie, authenticates it
    if not session.get("_user_id"):
        return True  # no signed-in browser session to borrow; the API answers 401 itself
    if _valid_csrf_header():
        return True
    origin = request.headers.get("Origin")
    if origin is not None:
        return is_same_origin(origin)
    return is_same_origin(request.headers.get("Referer"))


def _enforce_api_csrf():
    if api_write_allowed():
        return None
    audit.record("policy.csrf_refused", changes={
        "path": request.path[:200], "method": request.method,
        "origin": (request.headers.get("Origin") or "")[:200]})
    db.session.commit()
    return jsonify(message=_("CSRFトークンがないか正しくありません。画面を再読み込みしてからやり直してください。")), 403


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


STATIC_ENDPOINTS = frozenset({"static", "appbuilder.static"})


def _security_headers(response):
    headers = response.headers
    # Every page but the static files is someone's data, a form's CSRF token or a login step
    # (the TOTP secret): kept out of the browser's cache, the back button after logout and a
    # shared PC's disk show none of it.
    if request.endpoint not in STATIC_ENDPOINTS and "no-store" not in headers.get("Cache-Control", ""):
        headers["Cache-Control"] = "no-store"
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
    # Flask-WTF's own csrf_token global is shadowed on some FAB pages (a form field of that name)
    app.jinja_env.globals["page_csrf_token"] = generate_csrf
    app.before_request(auth_session.enforce)
    app.before_request(_enforce_api_csrf)  # after enforce: an ended session is no session
    app.before_request(_enforce_ip_policy)
    app.before_request(_enforce_active_organization)
    app.after_request(_security_headers)
    app.register_error_handler(IPRefused, _ip_refused)
    app.register_error_handler(ActingHospitalRefused, _acting_hospital_refused)
    app.register_error_handler(OrganizationInactive, _organization_inactive)
