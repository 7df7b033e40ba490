"""API keys: the screen (/apikeys/) and its REST API (/api/v1/apikeys/).

Both are thin over :mod:`app.access.api_keys`, which decides who may issue or revoke a key for whom
through the scope. The raw key is in the answer to the creation only.
"""
from __future__ import annotations

import datetime as dt

from flask import flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.api import protect
from flask_appbuilder.security.decorators import permission_name
from flask_babel import gettext as _
from sqlalchemy import select

from app.access import api_keys
from app.access.capabilities import MANAGE_USERS
from app.access.scope import current_scope
from app.core.months import JST, UTC, format_jst
from app.extensions import db
from app.models import User, UserStatus
from app.views.api_base import OptiServeApi
from app.views.errors import is_valid_id
from app.views.hospital_target import CsrfForm


def parse_expiry(value) -> dt.datetime | None:
    """Blank → no expiry; ``YYYY-MM-DD`` → the end of that day in Japan; an ISO date-time
    (JST when it has no offset). Naive UTC, as stored."""
    text = (value or "").strip() if isinstance(value, str) else value
    if not text:
        return None
    try:
        if len(text) == 10:
            moment = dt.datetime.combine(dt.date.fromisoformat(text), dt.time(23, 59, 59), JST)
        else:
            moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=JST)
    except (TypeError, ValueError):
        raise api_keys.ApiKeyError(_("有効期限は YYYY-MM-DD の形式で入力してください。")) from None
    return moment.astimezone(UTC).replace(tzinfo=None)


def manageable_users() -> list[User]:
    scope = current_scope()
    if not scope.can(MANAGE_USERS):
        return []
    return list(db.session.scalars(select(User).where(
        scope.clause(User.organization_id), User.status == UserStatus.active).order_by(User.email)))


def _user(user_id) -> User | None:
    if isinstance(user_id, bool) or not isinstance(user_id, (int, str)) or not is_valid_id(str(user_id)):
        return None
    return db.session.get(User, int(user_id))


class ApiKeyView(BaseView):
    route_base = "/apikeys"
    class_permission_name = "ApiKeys"
    default_view = "index"

    def _page(self, created=None, raw_key=None, status=200):
        keys = api_keys.keys_in_scope(current_scope())
        return self.render_template(
            "api_keys/index.html", title=_("APIキー"), keys=keys, users=manageable_users(),
            created=created, raw_key=raw_key, state=api_keys.key_state, owner=api_keys.owner_of, format_jst=format_jst,
            form=CsrfForm()), status

    @expose("/")
    @has_access
    @permission_name("read")
    def index(self):
        return self._page()

    @expose("/create", methods=["POST"])
    @has_access
    @permission_name("write")
    def create(self):
        if not CsrfForm().validate_on_submit():
            flash(_("画面を再読み込みしてからやり直してください。"), "danger")
            return self._page(status=400)
        try:
            key, raw_key = api_keys.create_key(
                current_scope(), g.user, _user(request.form.get("user_id")), request.form.get("name"),
                parse_expiry(request.form.get("expires_on")), self.appbuilder.sm)
        except api_keys.ApiKeyError as exc:
            flash(exc.message, "danger")
            return self._page(status=exc.status)
        return self._page(created=key, raw_key=raw_key, status=201)

    @expose("/<int:pk>/revoke", methods=["POST"])
    @has_access
    @permission_name("write")
    def revoke(self, pk):
        if not CsrfForm().validate_on_submit():
            flash(_("画面を再読み込みしてからやり直してください。"), "danger")
            return self._page(status=400)
        try:
            key = api_keys.revoke_key(current_scope(), g.user, api_keys.key_in_scope(current_scope(), pk))
        except api_keys.ApiKeyError as exc:
            flash(exc.message, "danger")
            return self._page(status=exc.status)
        flash(_("APIキー %(prefix)s… を失効させました。", prefix=key.key_prefix), "success")
        return redirect(url_for("ApiKeyView.index"))


class ApiKeyApi(OptiServeApi):
    route_base = "/api/v1/apikeys"
    class_permission_name = "ApiKeys"
    method_permission_name = {"list_keys": "read", "get_key": "read", "create_key": "write",
                              "revoke_key": "write"}
    allow_browser_login = True
    openapi_spec_tag = "API keys"

    @expose("/", methods=["GET"])
    @protect()
    def list_keys(self):
        """API keys of the users you manage.
        ---
        get:
          summary: Keys (prefix, name, state, expiry, last use); never the key itself
          responses:
            200:
              description: the keys
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/ApiKeyList'}
        """
        return self.response(200, result=[api_keys.key_payload(k) for k in api_keys.keys_in_scope(current_scope())])

    @expose("/<int:pk>", methods=["GET"])
    @protect()
    def get_key(self, pk):
        """One key with its reads per day.
        ---
        get:
          summary: One key and its daily read counts
          responses:
            200:
              description: the key
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/ApiKeyDetailResult'}
            404: {description: not a key of a user you manage}
        """
        key = api_keys.key_in_scope(current_scope(), pk)
        if key is None:
            return self.response_404()
        reads = [{"day": f"{r.day:%Y-%m-%d}", "reads": r.reads} for r in api_keys.reads_of(key.id)]
        return self.response(200, result=dict(api_keys.key_payload(key), reads_per_day=reads))

    @expose("/", methods=["POST"])
    @protect()
    def create_key(self):
        """Issue a key for a user.
        ---
        post:
          summary: Issue a key; the answer holds the key itself, shown this once
          requestBody:
            required: true
            content:
              application/json:
                schema: {$ref: '#/components/schemas/ApiKeyRequest'}
          responses:
            201:
              description: the key; `key` is the secret
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/ApiKeyCreatedResult'}
            400: {description: invalid name or expiry}
            404: {description: not a user you manage}
        """
        payload = request.get_json(silent=True)
        if not isinstance(payload, dict):
            return self.response_400(message=_("JSON形式で送ってください。"))
        try:
            key, raw_key = api_keys.create_key(
                current_scope(), g.user, _user(payload.get("user_id")), payload.get("name"),
                parse_expiry(payload.get("expires_on")), self.appbuilder.sm)
        except api_keys.ApiKeyError as exc:
            return self.response(exc.status, message=exc.message)
        return self.response(201, result=dict(api_keys.key_payload(key), key=raw_key))

    @expose("/<int:pk>/revoke", methods=["POST"])
    @protect()
    def revoke_key(self, pk):
        """Revoke a key.
        ---
        post:
          summary: Revoke a key at once (its next call answers 401)
          responses:
            200:
              description: the revoked key
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/ApiKeyResult'}
            404: {description: not a key of a user you manage}
        """
        try:
            key = api_keys.revoke_key(current_scope(), g.user, api_keys.key_in_scope(current_scope(), pk))
        except api_keys.ApiKeyError as exc:
            return self.response(exc.status, message=exc.message)
        return self.response(200, result=api_keys.key_payload(key))
