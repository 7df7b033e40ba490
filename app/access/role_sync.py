"""Roles as data: each role's permissions, applied by ``flask optiserve sync-roles``.

A permission is ``(permission, view_or_menu)`` as FAB stores it. ``ALL`` gives a role every
permission of every registered view and menu (Admin). Running the sync twice changes
nothing; a permission removed here is removed from the role on the next sync.
"""
from __future__ import annotations

from flask import current_app

# Which roles a user may hold and an OrgAdmin may grant are role checks: app.access.roles.

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
        *_grant("SmdsClassifications", "can_read", "can_write"),
        *_grant("ClassificationMapping", "can_read", "can_write"),
        *_grant("Makers", "can_read", "can_write"),
        *_grant("ClassificationApi", "can_read", "can_write"),
        *_menu("Masters", "SMDS Classifications", "Classification Mapping", "Makers"),
        *_grant("Dashboard", "can_read"),
        *_grant("Reports", "can_read", "can_download", "can_generate"),
        *_grant("ReportsApi", "can_read"),
        *_menu("Dashboard", "Reports"),
        # the API contract (/api/v1/_openapi) and Swagger UI (/swagger/v1)
        *_grant("OpenApi", "can_get"),
        *_grant("SwaggerView", "can_show"),
    ],
    "OrgAdmin": [
        *_grant("Users", *CRUD, "can_deactivate", "can_reactivate", "can_reset_totp", "can_unlock",
                 "can_resend_invitation"),
        *_grant("AuditLog", *READ),
        *_grant("Organizations", "can_list", "can_show", "can_edit"),
        *_grant("DealerPermissions", "can_list", "can_edit"),
        *_menu("Dealer Permissions"),
        *_menu("Administration", "Users", "Organizations", "AuditLog"),
        # Keys for the organization's own users (scoped in app.access.api_keys), e.g. a hospital
        # automating its monthly upload.
        *_grant("ApiKeys", "can_read", "can_write"),
        *_menu("API Keys"),
    ],
    "HospitalUser": [
        *_grant("Dashboard", "can_read"),
        *_grant("Reports", "can_read", "can_download"),
        *_grant("ReportsApi", "can_read"),
        *_menu("Dashboard", "Reports"),
        *_grant("Upload", "can_read", "can_write"),
        *_grant("UploadApi", "can_read", "can_write"),
        *_grant("Ledger", "can_read", "can_write"),
        *_grant("LedgerApi", "can_read", "can_write"),
        *_menu("MEData", "Upload", "Ledger"),
        *_grant("ReportSelection", "can_read", "can_write"),
        *_grant("ClassificationMapping", "can_read", "can_write"),
        *_grant("ClassificationApi", "can_read", "can_write"),
        *_menu("Masters", "Report Selection", "Classification Mapping"),
        *_grant("DealerPermissions", "can_list", "can_edit"),
        *_menu("Administration", "Dealer Permissions"),
    ],
    "DealerUser": [],
    "ManufacturerUser": [
        *_grant("ManufacturerHospitals", "can_select", "can_figures"),
        *_menu("Manufacturer", "Manufacturer Figures", "Manufacturer Selection"),
    ],
    # Service accounts of the on-prem systems: API keys only, no screens.
    "System": [*_grant("SystemApi", "can_read", "can_write"), *_grant("OpenApi", "can_get")],
}

# A dealer acting for a hospital reaches every hospital screen; the capabilities of its level
# (app.access: scope, level_capabilities) refuse with 403 what the level does not allow.
# Mirrored from HospitalUser so a new hospital screen reaches dealers without a second edit;
# the hospital's own administration (its dealer permissions) stays out.
DEALER_EXCLUDED = {"DealerPermissions", "Dealer Permissions", "Administration"}
ROLE_PERMISSIONS["DealerUser"] = sorted(
    set(ROLE_PERMISSIONS["DealerUser"])
    | {pair for pair in ROLE_PERMISSIONS["HospitalUser"] if pair[1] not in DEALER_EXCLUDED}
    | {("can_choose", "DealerHospitals")}
)

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
