"""OptiServe's security manager: the single subclass of FAB's SecurityManager.

Everything FAB-specific about who a user is and which security screens exist lives here;
*what* a user may see is answered by :mod:`app.scope`. The FAB internals overridden are
listed in ``FAB_OVERRIDES`` and checked against the pinned FAB version by
``tests/test_fab_contract.py``.
"""
from __future__ import annotations

from flask import current_app
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.views import RoleModelView
from flask_babel import lazy_gettext as _l
from werkzeug.security import generate_password_hash

from .models import User, UserStatus
from .validation import normalize_email
from .views.base import ScopedInterface
from .views.users import UserMaintenanceView

# (class, attribute) pairs of FAB that this module relies on or replaces.
FAB_OVERRIDES = (
    ("flask_appbuilder.security.sqla.manager.SecurityManager", "user_model"),
    ("flask_appbuilder.security.sqla.manager.SecurityManager", "userdbmodelview"),
    ("flask_appbuilder.security.sqla.manager.SecurityManager", "rolemodelview"),
    ("flask_appbuilder.security.sqla.manager.SecurityManager", "register_views"),
    ("flask_appbuilder.security.sqla.manager.SecurityManager", "find_user"),
    ("flask_appbuilder.security.sqla.manager.SecurityManager", "auth_user_db"),
)


class RoleView(RoleModelView):
    """Roles are declared in app.roles and applied by a command: read-only on screen."""

    base_permissions = ["can_list", "can_show"]
    list_columns = ["name"]
    show_columns = ["name", "permissions"]


class OptiServeSecurityManager(SecurityManager):
    user_model = User
    userdbmodelview = UserMaintenanceView
    rolemodelview = RoleView

    def __init__(self, appbuilder):
        super().__init__(appbuilder)
        # FAB's constructor gives the user view a plain interface; users are scoped too.
        self.userdbmodelview.datamodel = ScopedInterface(self.user_model)

    def register_views(self) -> None:
        """Register only the security screens OptiServe offers.

        Left out on purpose: FAB's JWT login API (``/api/v1/security/login`` would bypass
        the second factor), its password-reset views (an administrator must never set a
        user's password), the permission/view-menu screens (permissions are declared in
        :mod:`app.roles`) and self-registration.
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

    def auth_user_db(self, username, password):
        """FAB's check, refusing users that are not active (temporary or inactive)."""
        user = self.find_user(username=username)
        if user is None or user.status != UserStatus.active:
            return None
        return super().auth_user_db(user.email, password)
