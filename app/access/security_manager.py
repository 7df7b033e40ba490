"""OptiServe's security manager: the single subclass of FAB's SecurityManager.

Everything FAB-specific about who a user is and which security screens exist lives here;
*what* a user may see is answered by :mod:`app.access.scope`. The FAB internals overridden are
listed in ``FAB_OVERRIDES`` and checked against the pinned FAB version by
``tests/test_fab_contract.py``.
"""
from __future__ import annotations

import secrets

from flask import abort, current_app, g, has_request_context, jsonify, request
from flask_appbuilder import expose
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.views import RoleModelView
from flask_appbuilder.widgets import ListWidget, ShowWidget
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException
from werkzeug.security import generate_password_hash

from app.access import api_keys
from app.access.request_policy import check_acting_hospital, check_ip, check_organization_active
from app.access.scope import current_scope, forget_scope, roles_in_effect
from app.core.validation import normalize_email
from app.models import User, UserStatus
from app.views.auth import OptiServeAuthView
from app.views.base import ScopedInterface
from app.views.users import UserMaintenanceView

# (class, attribute) pairs of FAB that this module relies on or replaces.
FAB_OVERRIDES = (
    ("flask_appbuilder.security.sqla.manager.SecurityManager", "user_model"),
    ("flask_appbuilder.security.sqla.manager.SecurityManager", "userdbmodelview"),
    ("flask_appbuilder.security.sqla.manager.SecurityManager", "rolemodelview"),
    ("flask_appbuilder.security.sqla.manager.SecurityManager", "register_views"),
    ("flask_appbuilder.security.sqla.manager.SecurityManager", "find_user"),
    ("flask_appbuilder.security.sqla.manager.SecurityManager", "auth_user_db"),
    ("flask_appbuilder.security.sqla.manager.SecurityManager", "authdbview"),
    ("flask_appbuilder.security.sqla.manager.SecurityManager", "validate_api_key"),
    # app.access.api_keys issues keys with FAB's lookup hash, so FAB's look-up finds them
    ("flask_appbuilder.security.sqla.manager.SecurityManager", "_compute_lookup_hash"),
    ("flask_appbuilder.security.sqla.manager.SecurityManager", "has_access"),
    ("flask_appbuilder.security.manager.BaseSecurityManager", "get_user_roles"),
    ("flask_appbuilder.security.sqla.manager.SecurityManager", "get_user_menu_access"),
    ("flask_appbuilder.security.sqla.manager.SecurityManager", "_get_user_permission_view_menus"),
    ("flask_appbuilder.security.manager.BaseSecurityManager", "create_jwt_manager"),
    ("flask_appbuilder.security.views.AuthDBView", "login"),
    ("flask_appbuilder.security.views.AuthView", "logout"),
    ("flask_appbuilder.security.views.AuthView", "_get_authenticated_user"),
    ("flask_appbuilder.security.manager.BaseSecurityManager", "is_auth_limited"),
    ("flask_appbuilder.security.manager.BaseSecurityManager", "auth_rate_limit"),
    ("flask_appbuilder.security.manager.BaseSecurityManager", "before_request"),
    ("flask_appbuilder.baseviews.BaseCRUDView", "is_get_mutation_allowed"),
    # app.views.api_base.OptiServeModelApi: no gettext("") (the catalog header) in _info
    ("flask_appbuilder.api.ModelRestApi", "_get_field_info"),
)



def _from_a_screen() -> bool:
    """A call made by one of the app's own pages (screen 7's fetches send the CSRF header; a
    browser marks its own page's requests same-origin), not by an API client: the person
    reading the 401 has no API key to send, their login ended (idle, logout in another tab)."""
    return bool(request.headers.get("X-CSRFToken")) or request.headers.get("Sec-Fetch-Site") == "same-origin"


class RoleView(RoleModelView):
    """Roles are declared in app.access.role_sync and applied by a command: read-only on screen."""

    base_permissions = ["can_list", "can_show"]
    # FAB's role widgets print the raw permission list; the plain ones use the formatters.
    list_widget = ListWidget
    show_widget = ShowWidget
    search_columns = ["name"]
    list_columns = ["name", "permissions"]
    show_columns = ["name", "permissions"]
    label_columns = {"name": _l("ロール"), "permissions": _l("利用できる画面とAPI")}
    list_title = _l("ロール一覧")
    show_title = _l("ロール")

    def __init__(self, **kwargs):
        from app.views.display import role_label
        from app.views.role_summary import summarize

        super().__init__(**kwargs)
        self.formatters_columns = {"name": role_label, "permissions": summarize}

    def copy_role(self, items):
        """Not an action here (no @action): roles are declared as data, never copied on screen."""
        abort(404)

    @expose("/action/<string:name>/<pk>", methods=["GET", "POST"])
    def action(self, name, pk):
        """FAB raises (500) on an action name it does not know; answer 404 instead."""
        if name not in self.actions:
            abort(404)
        return super().action(name, pk)

    @expose("/action_post", methods=["POST"])
    def action_post(self):
        if request.form.get("action") not in self.actions:
            abort(404)
        return super().action_post()


def _match_fake_password_hash(config) -> None:
    """The login checks an unknown address against ``AUTH_DB_FAKE_PASSWORD_HASH_CHECK`` so it
    costs what a real check costs. FAB's is fixed at scrypt:32768:8:1; with another
    ``PASSWORD_HASH_METHOD`` (the tests' pbkdf2, a stronger scrypt in production) the answer
    time told which addresses have an account. The fake hash uses the configured method."""
    method = config["FAB_PASSWORD_HASH_METHOD"]
    if not str(config.get("AUTH_DB_FAKE_PASSWORD_HASH_CHECK", "")).startswith(f"{method}$"):
        config["AUTH_DB_FAKE_PASSWORD_HASH_CHECK"] = generate_password_hash(
            secrets.token_urlsafe(16), method=method, salt_length=config["FAB_PASSWORD_HASH_SALT_LENGTH"])


class OptiServeSecurityManager(SecurityManager):
    user_model = User
    userdbmodelview = UserMaintenanceView
    authdbview = OptiServeAuthView
    rolemodelview = RoleView

    def __init__(self, appbuilder):
        super().__init__(appbuilder)
        _match_fake_password_hash(current_app.config)
        # FAB's constructor gives the user view a plain interface; users are scoped too.
        self.userdbmodelview.datamodel = ScopedInterface(self.user_model)

    def register_views(self) -> None:
        """Register only the security screens OptiServe offers.

        Left out on purpose: FAB's JWT login API (``/api/v1/security/login`` would bypass
        the second factor), its password-reset views (an administrator must never set a
        user's password), the permission/view-menu screens (permissions are declared in
        :mod:`app.access.role_sync`) and self-registration.
        """
        self.user_view = self.userdbmodelview
        self.auth_view = self.authdbview()
        self.appbuilder.add_view_no_menu(self.auth_view)
        if self.is_auth_limited:
            self.limiter.limit(self.auth_rate_limit, methods=["POST"])(self.auth_view.blueprint)
        self.user_view = self.appbuilder.add_view(
            self.user_view,
            "Users",
            icon="fa-user",
            label=_l("ユーザーメンテナンス"),
            category="Administration",
            category_icon="fa-cogs",
            category_label=_l("管理"),
        )
        self.appbuilder.add_view(
            self.rolemodelview,
            "Roles",
            icon="fa-user-gear",
            label=_l("ロール"),
            category="Administration",
        )

    # Menus follow capabilities: FAB shows a menu item when the role holds its ``menu_access``
    # (navbar: the ``is_menu_visible`` filter → has_access; MenuApi: get_user_menu_access). The
    # scope must also let the user open the screen behind it (app.access.capabilities), and a
    # category shows only with a child to show, so a level-1 dealer or Admin is not offered
    # items that answer 403.
    def has_access(self, permission_name, view_name):
        """Answered once per request for each user, permission and view: a page's menu asks
        ~30 times, the list of roles and the scope behind each answer do not change."""
        if not has_request_context():
            return self._has_access(permission_name, view_name)
        user = g.get("user")
        key = (getattr(user, "id", None) if user is not None and user.is_authenticated else None,
               bool(g.get("_api_key_user")), permission_name, view_name)
        answers = g.setdefault("_os_access_answers", {})
        if key not in answers:
            answers[key] = self._has_access(permission_name, view_name)
        return answers[key]

    def _has_access(self, permission_name, view_name):
        role_allows = super().has_access
        if permission_name != "menu_access":
            return role_allows(permission_name, view_name)
        return self._menu_opens(view_name, lambda name: role_allows("menu_access", name))

    def get_user_roles(self, user):
        """Every permission check (screens, APIs, menus) reads the roles here: a dealer acting
        for a hospital holds only its DealerUser role (app.access.scope.roles_in_effect).
        The request's user's roles are worked out once per request (a page's menu asks ~30
        times), like its scope."""
        request_user = g.get("user") if has_request_context() else None
        if request_user is None or not user.is_authenticated or getattr(request_user, "id", None) != user.id:
            return roles_in_effect(user, super().get_user_roles(user))
        cached = g.get("_os_roles_in_effect")
        if cached is None or cached[0] != user.id:
            cached = (user.id, roles_in_effect(user, super().get_user_roles(user)))
            g._os_roles_in_effect = cached
        return cached[1]

    def _has_view_access(self, user, permission_name, view_name) -> bool:
        """FAB asks the database once per check (27 checks for one page's menu); here the
        permissions of the user's roles are read once per request (one query) and looked up."""
        roles = self.get_user_roles(user)
        if not has_request_context() or any(role.name in self.builtin_roles for role in roles):
            return super()._has_view_access(user, permission_name, view_name)
        role_ids = tuple(sorted(role.id for role in roles))
        if not role_ids:
            return False
        cache = g.setdefault("_os_role_permissions", {})
        if role_ids not in cache:
            cache[role_ids] = self._role_permission_pairs(role_ids)
        return (permission_name, view_name) in cache[role_ids]

    def _role_permission_pairs(self, role_ids) -> frozenset[tuple[str, str]]:
        from flask_appbuilder.security.sqla.models import (
            Permission,
            PermissionView,
            ViewMenu,
            assoc_permissionview_role,
        )
        from sqlalchemy import select

        rows = self.session.execute(
            select(Permission.name, ViewMenu.name)
            .select_from(PermissionView)
            .join(Permission, Permission.id == PermissionView.permission_id)
            .join(ViewMenu, ViewMenu.id == PermissionView.view_menu_id)
            .join(assoc_permissionview_role,
                  assoc_permissionview_role.c.permission_view_id == PermissionView.id)
            .where(assoc_permissionview_role.c.role_id.in_(role_ids))
            .distinct())
        return frozenset((permission, view) for permission, view in rows)

    def get_user_menu_access(self, menu_names=None):
        if g.get("_api_key_user") and g.get("user") is not None:
            # FAB asks flask-login, which knows nothing of a key's user (MenuApi answered 500)
            allowed = self._get_user_permission_view_menus(g.user, "menu_access", view_menus_name=menu_names)
        else:
            allowed = super().get_user_menu_access(menu_names)
        return {name for name in allowed if self._menu_opens(name, allowed.__contains__)}

    def _menu_opens(self, name, role_allows) -> bool:
        if not role_allows(name):
            return False
        item = self.appbuilder.menu.find(name)
        if item is not None and item.childs:
            return any(self._menu_opens(child.name, role_allows) for child in item.childs
                       if child.name != "-")
        return current_scope().can_open(self._menu_permission_name(item))

    def _menu_permission_name(self, item) -> str | None:
        """The FAB permission name of the view a menu item opens (a link: by its URL)."""
        if item is None:
            return None
        view = item.baseview
        if view is None and item.href:
            try:
                endpoint, _args = current_app.url_map.bind("localhost").match(item.get_url(), method="GET")
            except HTTPException:
                return None
            blueprint = endpoint.split(".", 1)[0]
            view = next((v for v in self.appbuilder.baseviews if v.endpoint == blueprint), None)
        return getattr(view, "class_permission_name", None)

    def create_jwt_manager(self, app):
        """FAB falls back to a JWT when an API call has neither key nor session; OptiServe
        issues no JWTs, and the refusal has the APIs' one error shape (``{"message": …}``,
        as documented in /api/v1/_openapi) instead of flask-jwt-extended's ``{"msg": …}``."""
        manager = super().create_jwt_manager(app)

        def refused(*_args):
            message = _l("APIキーを Authorization: Bearer ヘッダーで送るか、ログインしてください。")
            if _from_a_screen():
                message = _l("ログインが終了しました。ページを再読み込みして、もう一度ログインしてください。")
            return jsonify(message=str(message)), 401

        for loader in (manager.unauthorized_loader, manager.invalid_token_loader, manager.expired_token_loader,
                       manager.revoked_token_loader, manager.needs_fresh_token_loader):
            loader(refused)
        return manager

    def exist_permission_on_roles(self, view_name: str, permission_name: str, role_ids) -> bool:
        """FAB asks the database once per check, and the navbar checks every menu item (27
        queries, ~300 ms on screen 7, issue 14). Within a request the roles' permissions are
        read once, in one query, and kept in ``g``."""
        if not has_request_context():
            return super().exist_permission_on_roles(view_name, permission_name, role_ids)
        cache = g.setdefault("_role_permissions", {})
        key = tuple(sorted(role_ids))
        pairs = cache.get(key)
        if pairs is None:
            from flask_appbuilder.security.sqla.models import assoc_permissionview_role

            rows = (
                self.session.query(self.viewmenu_model.name, self.permission_model.name)
                .select_from(self.permissionview_model)
                .join(assoc_permissionview_role,
                      assoc_permissionview_role.c.permission_view_id == self.permissionview_model.id)
                .join(self.permission_model, self.permission_model.id == self.permissionview_model.permission_id)
                .join(self.viewmenu_model, self.viewmenu_model.id == self.permissionview_model.view_menu_id)
                .filter(assoc_permissionview_role.c.role_id.in_(list(key)))
            )
            pairs = cache[key] = set(rows)
        return (view_name, permission_name) in pairs

    def hash_password(self, password: str) -> str:
        """scrypt with the parameters of ``FAB_PASSWORD_HASH_METHOD`` (see config.py)."""
        return generate_password_hash(
            password,
            method=current_app.config["FAB_PASSWORD_HASH_METHOD"],
            salt_length=current_app.config["FAB_PASSWORD_HASH_SALT_LENGTH"],
        )

    def find_user(self, username=None, email=None):
        """Log-in ids are e-mails, stored lower-cased; look them up case-insensitively."""
        key = normalize_email(email or username)
        if not key:
            return None
        return self.session.query(self.user_model).filter_by(email=key).one_or_none()

    def validate_api_key(self, api_key_string):
        """FAB's key check with stored times in UTC (FAB compares with local time), then the
        organization's IP allow-list (403 outside it; a dealer's key acting for a hospital: the
        hospital's too), its being active (403) and the per-key
        rate limit (429).
        None (→ 401) for an unknown, revoked or expired key or an inactive user."""
        key = api_keys.find_usable_key(api_key_string, self)
        if key is None:
            return None
        user = api_keys.owner_of(key)
        g.user = user
        g._api_key_user = True
        forget_scope()  # a scope computed before the key was read would be the anonymous one
        check_ip(user)
        check_acting_hospital(user, second_factor=None)  # a dealer's key acting for its hospital
        check_organization_active(user)
        api_keys.check_rate_limit(current_app, key)
        api_keys.note_use(key)  # recorded after the response, in one commit (app.access.api_keys)
        return user

    def auth_user_db(self, username, password):
        """FAB's check, refusing users that are not active (temporary or inactive)."""
        user = self.find_user(username=username)
        if user is None or user.status != UserStatus.active:
            return None
        return super().auth_user_db(user.email, password)
