"""REST API of screen 2 (/api/v1/users/...): the same scope, permissions and rules as the
screen (:mod:`app.services.accounts.users`), so an API client can do nothing the screen refuses.

Users are never deleted (no DELETE route); they are deactivated with a reason and a note.
"""
from __future__ import annotations

from flask import g, request
from flask_appbuilder.api import expose, protect, safe
from flask_appbuilder.models.sqla.filters import FilterInFunction
from flask_appbuilder.security.decorators import permission_name
from flask_babel import gettext as _
from marshmallow import ValidationError

from app.extensions import db
from app.models import User
from app.services.accounts.users import (
    UserError,
    check_update,
    deactivate_user,
    grantable_role_names,
    invite_new_user,
    prepare_new_user,
    reactivate_user,
    user_snapshot,
)
from app.views.base import ScopedInterface, ScopedModelRestApi, scope_filter
from app.views.users import UserMaintenanceView

# Never the password hash, the TOTP secret or anything of the recovery codes.
READ_COLUMNS = [
    "id", "first_name", "email", "organization.id", "organization.name", "phone", "mobile",
    "status", "inactive_reason", "inactive_note", "roles.name", "last_login",
]


class UserApi(ScopedModelRestApi):
    resource_name = "users"
    datamodel = ScopedInterface(User)
    # The screen's permissions, so the existing role grants apply to the API as they are.
    class_permission_name = "Users"
    method_permission_name = {
        "get_list": "list", "info": "list", "get": "show", "post": "add", "put": "edit",
        "deactivate": "deactivate", "reactivate": "reactivate",
    }
    # The same list as the screen: FAB drops from a view menu every permission that its last
    # registered view does not declare, which would take can_reset_totp from the roles.
    base_permissions = list(UserMaintenanceView.base_permissions)
    include_route_methods = {"get_list", "info", "get", "post", "put", "deactivate", "reactivate"}
    # Session too, so the screen's user can call it; every write requires a JSON body, which a
    # cross-site form cannot send without a CORS preflight that is never granted.
    allow_browser_login = True
    openapi_spec_tag = "Users"

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

    def _result(self, user: User) -> dict:
        return self.show_model_schema.dump(user, many=False)

    def post_headless(self):
        """Create a temporary user and mail the invitation, as the screen does."""
        payload = request.get_json(silent=True)
        if not isinstance(payload, dict):
            return self.response_400(message=_("JSON形式で送ってください。"))
        try:
            user = self.add_model_schema.load(payload)
        except ValidationError as err:
            db.session.rollback()
            return self.response_422(message=err.messages)
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
        before = user_snapshot(user)
        try:
            user = self.edit_model_schema.load(self._merge_update_item(user, payload), instance=user)
        except ValidationError as err:
            db.session.rollback()
            return self.response_422(message=err.messages)
        try:
            check_update(user, before, g.user)
        except UserError as exc:
            return self.response_400(message=str(exc))
        db.session.commit()
        return self.response(200, result=self._result(user))

    @expose("/<int:pk>/deactivate", methods=["POST"])
    @protect()
    @safe
    @permission_name("deactivate")
    def deactivate(self, pk):
        """Set a user to 利用停止 with a reason code and a note, both required.
        ---
        post:
          summary: Deactivate a user (JSON `reason` 1, 2, 3 or 99 and `note`)
          responses:
            200: {description: the user}
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
            deactivate_user(user, payload.get("reason"), payload.get("note"), g.user)
        except UserError as exc:
            db.session.rollback()
            return self.response_400(message=str(exc))
        db.session.commit()
        return self.response(200, result=self._result(user))

    @expose("/<int:pk>/reactivate", methods=["POST"])
    @protect()
    @safe
    @permission_name("reactivate")
    def reactivate(self, pk):
        """Put a 利用停止 user back in use.
        ---
        post:
          summary: Reactivate a user (body `{}` as JSON)
          responses:
            200: {description: the user}
            400: {description: the body is not JSON}
            404: {description: no such user in your scope}
        """
        user = self.datamodel.get(pk)
        if user is None:
            return self.response_404()
        if not request.is_json:
            return self.response_400(message=_("JSON形式で送ってください。"))
        # As on the screen, a user already in use is left as it is.
        if reactivate_user(user):
            db.session.commit()
        return self.response(200, result=self._result(user))
