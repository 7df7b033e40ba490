"""REST API of screen 2 (/api/v1/users/...): the same scope, permissions and rules as the
screen (:mod:`app.services.accounts.users`), so an API client can do nothing the screen refuses.

Users are never deleted (no DELETE route); they are deactivated with a reason and a note.
"""
from __future__ import annotations

from flask import abort, g, request
from flask_appbuilder.api import expose, protect, safe
from flask_appbuilder.models.sqla.filters import FilterInFunction
from flask_appbuilder.security.decorators import permission_name
from flask_babel import gettext as _
from marshmallow import ValidationError

from app.extensions import db
from app.models import User
from app.services.accounts import invitation_resend
from app.services.accounts.users import (
    UserError,
    check_update,
    deactivate_user,
    grantable_role_names,
    invite_new_user,
    prepare_new_user,
    reactivate_user,
    unlock_user,
    user_snapshot,
)
from app.services.unit_of_work import unit_of_work
from app.views.base import ScopedInterface, ScopedModelRestApi, scope_filter
from app.views.errors import MAX_ID
from app.views.users import UserMaintenanceView

# Never the password hash, the TOTP secret or anything of the recovery codes.
READ_COLUMNS = [
    "id", "first_name", "email", "organization.id", "organization.name", "phone", "mobile",
    "status", "locked_until", "inactive_reason", "inactive_note", "roles.name", "last_login",
]


def _is_id(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_ID


def not_an_id(pk):
    """FAB routes GET /api/v1/users/<int:pk> but PUT /<pk>: a GET with a non-numeric id
    would answer 405 (the PUT rule matches); it is a 404 like any unknown id."""
    abort(404)


def register_id_fallback(app) -> None:
    app.add_url_rule("/api/v1/users/<pk>", endpoint="UserApi.not_an_id", view_func=not_an_id, methods=["GET"])


class UserApi(ScopedModelRestApi):
    resource_name = "users"
    datamodel = ScopedInterface(User)
    # The screen's permissions, so the existing role grants apply to the API as they are.
    class_permission_name = "Users"
    method_permission_name = {
        "get_list": "list", "info": "list", "get": "show", "post": "add", "put": "edit",
        "deactivate": "deactivate", "reactivate": "reactivate", "unlock": "unlock",
        "resend_invitation": "resend_invitation",
    }
    # The same list as the screen: FAB drops from a view menu every permission that its last
    # registered view does not declare, which would take can_reset_totp from the roles.
    base_permissions = list(UserMaintenanceView.base_permissions)
    include_route_methods = {"get_list", "info", "get", "post", "put", "deactivate", "reactivate", "unlock",
                             "resend_invitation"}
    # Session too, so the screen's user can call it; every write requires a JSON body, which a
    # cross-site form cannot send without a CORS preflight that is never granted.
    allow_browser_login = True
    openapi_spec_tag = "Users"

    # What post/put/deactivate/reactivate answer: the user as shown (``UserApi.get``).
    openapi_spec_methods = {
        "post": {"post": {"responses": {
            "201": {"description": "the invited user", "content": {"application/json": {"schema": {
                "type": "object", "required": ["id", "result"],
                "properties": {"id": {"type": "integer"},
                               "result": {"$ref": "#/components/schemas/UserApi.get"}}}}}},
            "400": {"description": "refused"}, "422": {"description": "invalid fields"}}}},
        "put": {"put": {"responses": {
            "200": {"description": "the changed user", "content": {"application/json": {"schema": {
                "$ref": "#/components/schemas/UserResult"}}}},
            "400": {"description": "refused"}, "404": {"description": "no such user in your scope"},
            "422": {"description": "invalid fields"}}}},
    }

    list_columns = show_columns = READ_COLUMNS
    order_columns = ["first_name", "email", "status", "last_login"]
    # Explicit: FAB's default would allow filtering on the password hash.
    search_columns = ["first_name", "email", "organization", "status"]
    add_columns = ["first_name", "email", "organization", "roles"]
    edit_columns = ["first_name", "email", "phone", "mobile", "roles", "organization"]
    base_order = ("organization_id", "asc")
    _rel_filters = {
        "organization": [scope_filter("id")],
        "roles": [["name", FilterInFunction, lambda: grantable_role_names(g.user)]],
    }
    add_query_rel_fields = edit_query_rel_fields = _rel_filters

    def _refused_relations(self, payload: dict):
        """``organization`` is an id and ``roles`` a list of ids; marshmallow-sqlalchemy would
        build a new row from an object given there (a TypeError: 500)."""
        organization, roles = payload.get("organization"), payload.get("roles")
        errors = {}
        if organization is not None and not _is_id(organization):
            errors["organization"] = [_("組織のIDを指定してください。")]
        if roles is not None and (not isinstance(roles, list) or not all(_is_id(r) for r in roles)):
            errors["roles"] = [_("ロールのIDの配列を指定してください。")]
        if errors:
            return self.response(422, message=_("入力内容を確認してください。"), errors=errors)
        return None

    def _result(self, user: User) -> dict:
        return self.show_model_schema.dump(user, many=False)

    def post_headless(self):
        """Create a temporary user and mail the invitation, as the screen does."""
        payload = request.get_json(silent=True)
        if not isinstance(payload, dict):
            return self.response_400(message=_("JSON形式で送ってください。"))
        refused = self._refused_relations(payload)
        if refused is not None:
            return refused
        try:
            user = self.add_model_schema.load(payload)
        except ValidationError as err:
            db.session.rollback()
            return self.response(422, message=_("入力内容を確認してください。"), errors=err.messages)
        try:
            prepare_new_user(user, g.user)
        except UserError as exc:
            return self.response_400(message=str(exc))
        invite_new_user(user, g.user)
        return self.response(201, id=user.id, result=self._result(user))

    def put_headless(self, pk):
        """Change a user of the scope; refused changes leave it as it was."""
        user = self.datamodel.get(pk, self._base_filters)
        if user is None:
            return self.response_404()
        payload = request.get_json(silent=True)
        if not isinstance(payload, dict):
            return self.response_400(message=_("JSON形式で送ってください。"))
        refused = self._refused_relations(payload)
        if refused is not None:
            return refused
        before = user_snapshot(user)
        try:
            with unit_of_work():
                user = self.edit_model_schema.load(self._merge_update_item(user, payload), instance=user)
                check_update(user, before, g.user)
        except ValidationError as err:
            return self.response(422, message=_("入力内容を確認してください。"), errors=err.messages)
        except UserError as exc:
            return self.response_400(message=str(exc))
        return self.response(200, result=self._result(user))

    @expose("/<int:pk>/deactivate", methods=["POST"])
    @protect()
    @safe
    @permission_name("deactivate")
    def deactivate(self, pk):
        """Set a user to 利用停止 with a reason code and a note, both required.
        ---
        post:
          summary: Deactivate a user (JSON `reason` 1, 2, 3 or 99 and `note`); its API keys are
            revoked for good (`revoked_api_keys` counts them; reactivating does not revive them)
          requestBody:
            required: true
            content:
              application/json:
                schema: {$ref: '#/components/schemas/DeactivateRequest'}
          responses:
            200:
              description: the user, and how many of its API keys were revoked
              content:
                application/json:
                  schema:
                    allOf:
                    - {$ref: '#/components/schemas/UserResult'}
                    - type: object
                      required: [revoked_api_keys]
                      properties: {revoked_api_keys: {type: integer, minimum: 0}}
            400: {description: refused (reason or note missing, or oneself)}
            404: {description: no such user in your scope}
        """
        user = self.datamodel.get(pk)
        if user is None:
            return self.response_404()
        payload = request.get_json(silent=True)
        if not isinstance(payload, dict):
            return self.response_400(message=_("JSON形式で送ってください。"))
        try:
            with unit_of_work():
                revoked = deactivate_user(user, payload.get("reason"), payload.get("note"), g.user)
        except UserError as exc:
            return self.response_400(message=str(exc))
        # the user's API keys are revoked for good (reactivation does not bring them back)
        return self.response(200, result=self._result(user), revoked_api_keys=revoked)

    @expose("/<int:pk>/reactivate", methods=["POST"])
    @protect()
    @safe
    @permission_name("reactivate")
    def reactivate(self, pk):
        """Put a 利用停止 user back in use.
        ---
        post:
          summary: Reactivate a user (body `{}` as JSON)
          requestBody:
            required: true
            content:
              application/json:
                schema: {type: object}
          responses:
            200:
              description: the user
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/UserResult'}
            400: {description: the body is not JSON}
            404: {description: no such user in your scope}
        """
        # As on the screen, a user already in use is left as it is.
        return self._change_state(pk, lambda user: reactivate_user(user, g.user))

    @expose("/<int:pk>/unlock", methods=["POST"])
    @protect()
    @safe
    @permission_name("unlock")
    def unlock(self, pk):
        """End a lockout (too many failed logins) now, as the screen's ロックを解除 does.
        ---
        post:
          summary: Unlock a locked user (body `{}` as JSON); `locked_until` is null afterwards
          requestBody:
            required: true
            content:
              application/json:
                schema: {type: object}
          responses:
            200:
              description: the user (a user not locked is left as it is)
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/UserResult'}
            400: {description: the body is not JSON}
            404: {description: no such user in your scope}
        """
        return self._change_state(pk, lambda user: unlock_user(user, g.user))

    @expose("/<int:pk>/resend-invitation", methods=["POST"])
    @protect()
    @safe
    @permission_name("resend_invitation")
    def resend_invitation(self, pk):
        """Mail a new first-login link to a 仮登録 user, as the screen's 招待メールを再送 does.
        ---
        post:
          summary: Resend the invitation of a user who has not logged in yet (body `{}` as
            JSON); the user's earlier unused links stop working, the new link goes only to the
            user's address (a copy without the link to you), at most once a minute per user
          requestBody:
            required: true
            content:
              application/json:
                schema: {type: object}
          responses:
            200:
              description: the user, and how many hours the new link is valid
              content:
                application/json:
                  schema:
                    allOf:
                    - {$ref: '#/components/schemas/UserResult'}
                    - type: object
                      required: [invitation_hours]
                      properties: {invitation_hours: {type: integer, minimum: 1}}
            400: {description: "refused (the user has logged in already, or is deactivated), or the body is not JSON"}
            404: {description: no such user in your scope}
            429: {description: an invitation of this user was sent less than a minute ago}
        """
        user, refusal = self._action_target(pk)
        if refusal is not None:
            return refusal
        try:
            hours = invitation_resend.resend_invitation(user, g.user)
        except invitation_resend.UserOutOfScope:
            return self.response_404()
        except invitation_resend.ResendTooSoon as exc:
            return self.response(429, message=str(exc))
        except UserError as exc:
            return self.response_400(message=str(exc))
        return self.response(200, result=self._result(user), invitation_hours=hours)

    def _change_state(self, pk, change):
        """A body-less state change of a user of the scope: ``change(user)`` says whether it
        changed anything (then committed); the answer is the user as it is now."""
        user, refusal = self._action_target(pk)
        if refusal is not None:
            return refusal
        if change(user):
            db.session.commit()
        return self.response(200, result=self._result(user))

    def _action_target(self, pk):
        """The user of the scope a body-less action names, or the answer refusing it: 404
        outside the scope, 400 unless the request says it is JSON."""
        user = self.datamodel.get(pk)
        if user is None:
            return None, self.response_404()
        if not request.is_json:
            return None, self.response_400(message=_("JSON形式で送ってください。"))
        return user, None
