"""Capability names, the capabilities of each role and dealer level, and of each menu item.

A scope (:mod:`.scope`) carries a set of these names; screens and APIs check them beside
FAB's permissions, and the menu shows an item only when the scope holds its capability.
"""
from __future__ import annotations

from app.models import DealerLevel

MANAGE_USERS = "manage_users"
# An organization's security policy (MFA required, e-mail domains, IP allow-list) for any
# organization: Admin only; the Operator role is "no user or security administration".
MANAGE_SECURITY = "manage_security"
MANAGE_ORGANIZATIONS = "manage_organizations"
EDIT_OWN_ORGANIZATION = "edit_own_organization"
UPLOAD = "upload"
DOWNLOAD_REPORTS = "download_reports"
MAINTAIN_MASTERS = "maintain_masters"
MANAGE_DEALERS = "manage_dealers"
# A manufacturer choosing the hospitals whose pooled figures it views (screen 9).
SELECT_HOSPITALS = "select_hospitals"
# The on-prem systems' service accounts (role System): the System APIs over every hospital.
SYSTEM_SYNC = "system_sync"
# Not held by any scope: names what only an operator-wide scope may open (masters, makers).
OPERATOR_ONLY = "operator_only"

HOSPITAL_CAPABILITIES = frozenset({UPLOAD, DOWNLOAD_REPORTS, MAINTAIN_MASTERS, MANAGE_DEALERS})
OPERATOR_CAPABILITIES = frozenset({MANAGE_ORGANIZATIONS, DOWNLOAD_REPORTS, MAINTAIN_MASTERS, UPLOAD})
ADMIN_CAPABILITIES = OPERATOR_CAPABILITIES | {MANAGE_USERS, MANAGE_DEALERS, MANAGE_SECURITY}
ORG_ADMIN_CAPABILITIES = frozenset({MANAGE_USERS, EDIT_OWN_ORGANIZATION})
SYSTEM_CAPABILITIES = frozenset({SYSTEM_SYNC})


def level_capabilities(level: int) -> frozenset[str]:
    """What a dealer acting for a hospital may do at ``level`` (see app/dealers.py for why)."""
    if level == DealerLevel.download_site:
        return frozenset({UPLOAD, DOWNLOAD_REPORTS})
    if level == DealerLevel.masters:
        return frozenset({MAINTAIN_MASTERS})
    if level == DealerLevel.full:
        return frozenset(HOSPITAL_CAPABILITIES - {MANAGE_DEALERS})
    return frozenset()


# FAB permission name of a screen or API (its ``class_permission_name``) → the capability it
# checks. Menus hide an item whose screen the scope may not open (app.access.security_manager), and
# tests/test_isolation_matrix.py sweeps every endpoint of these views for dealer levels 1, 2, 3
# and 9: a hospital screen left out here, or one that forgets its check, fails there.
SCREEN_CAPABILITIES = {
    "Dashboard": DOWNLOAD_REPORTS,
    "Reports": DOWNLOAD_REPORTS,
    "ReportsApi": DOWNLOAD_REPORTS,
    "Upload": UPLOAD,
    "UploadApi": UPLOAD,
    "Ledger": MAINTAIN_MASTERS,
    "LedgerApi": MAINTAIN_MASTERS,
    "ReportSelection": MAINTAIN_MASTERS,
    "ClassificationMapping": MAINTAIN_MASTERS,
    "ClassificationApi": MAINTAIN_MASTERS,
    "SmdsClassifications": OPERATOR_ONLY,
    "Makers": OPERATOR_ONLY,
    "DealerPermissions": MANAGE_DEALERS,
    "ManufacturerHospitals": SELECT_HOSPITALS,
    "ApiKeys": MANAGE_USERS,
}


def screen_allows(scope, permission_name: str | None) -> bool:
    """Whether ``scope`` may open the screen whose FAB permission name is ``permission_name``."""
    needed = SCREEN_CAPABILITIES.get(permission_name or "")
    if needed is None:
        return True
    if needed == OPERATOR_ONLY:
        return scope.everything
    return scope.can(needed)
