"""Roles as data: each role's permissions, applied by ``flask optiserve sync-roles``.

A permission is ``(permission, view_or_menu)`` as FAB stores it. ``ALL`` gives a role every
permission of every registered view and menu (Admin). Running the sync twice changes
nothing; a permission removed here is removed from the role on the next sync.
"""
from __future__ import annotations

from flask import current_app

ALL = "__all__"

CRUD = ("can_list", "can_show", "can_add", "can_edit")
READ = ("can_list", "can_show")


def _grant(view: str, *permissions: str) -> list[tuple[str, str]]:
    return [(permission, view) for permission in permissions]


def _menu(*names: str) -> list[tuple[str, str]]:
    return [("menu_access", name) for name in names]


ROLE_PERMISSIONS: dict[str, object] = {
    "Admin": ALL,
    "Operator": [
        *_grant("Organizations", *CRUD),
        *_menu("Administration", "Organizations"),
    ],
    "OrgAdmin": [
        *_grant("Users", *CRUD, "can_deactivate", "can_reactivate"),
        *_grant("Organizations", "can_list", "can_show", "can_edit"),
        *_menu("Administration", "Users", "Organizations"),
    ],
    "HospitalUser": [],
    "DealerUser": [],
    "ManufacturerUser": [],
    # Service accounts of the on-prem systems: API keys only, no screens.
    "System": [],
}

# Roles an OrgAdmin may grant, by the kind of the user's organization.
ROLES_BY_ORGANIZATION_KIND = {
    "hospital": {"OrgAdmin", "HospitalUser"},
    "dealer": {"OrgAdmin", "DealerUser"},
    "manufacturer": {"OrgAdmin", "ManufacturerUser"},
    "operator": {"Admin", "Operator", "System"},
}
ORGADMIN_GRANTABLE = {"OrgAdmin", "HospitalUser", "DealerUser", "ManufacturerUser"}


def all_permissions(appbuilder) -> set[tuple[str, str]]:
    """Every (permission, view) of the registered views and every menu item."""
    pairs: set[tuple[str, str]] = set()
    for view in appbuilder.baseviews:
        name = getattr(view, "class_permission_name", None)
        for permission in getattr(view, "base_permissions", None) or []:
            if name:
                pairs.add((permission, name))
    for item in appbuilder.menu.get_list():
        pairs.add(("menu_access", item.name))
        for child in item.childs or []:
            if child.name != "-":
                pairs.add(("menu_access", child.name))
    return pairs


def sync_roles() -> dict[str, int]:
    """Create or update every declared role to exactly its declared permissions."""
    appbuilder = current_app.appbuilder
    sm = appbuilder.sm
    everything = all_permissions(appbuilder)
    counts = {}
    for role_name, declared in ROLE_PERMISSIONS.items():
        wanted = everything if declared == ALL else set(declared)
        role = sm.find_role(role_name) or sm.add_role(role_name)
        role.permissions = [sm.add_permission_view_menu(p, v) for p, v in sorted(wanted)]
        counts[role_name] = len(role.permissions)
    appbuilder.session.commit()
    return counts
