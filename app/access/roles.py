"""Role names and role checks: the only place that compares a user's role names.

Which permissions each role holds is declared data in :mod:`app.access.role_sync` (applied by
``flask optiserve sync-roles``); what a role *means* for access is answered here.
"""
from __future__ import annotations

from app.models import OrganizationKind

ADMIN = "Admin"
OPERATOR = "Operator"
ORG_ADMIN = "OrgAdmin"
HOSPITAL_USER = "HospitalUser"
DEALER_USER = "DealerUser"
MANUFACTURER_USER = "ManufacturerUser"
SYSTEM = "System"

OPERATOR_ROLES = frozenset({ADMIN, OPERATOR})

# Roles a user may hold, by the kind of the user's organization.
ROLES_BY_ORGANIZATION_KIND = {
    "hospital": {ORG_ADMIN, HOSPITAL_USER},
    "dealer": {ORG_ADMIN, DEALER_USER},
    "manufacturer": {ORG_ADMIN, MANUFACTURER_USER},
    "operator": {ADMIN, OPERATOR, SYSTEM},
}
# Roles an OrgAdmin may grant (Admin grants every role).
ORGADMIN_GRANTABLE = {ORG_ADMIN, HOSPITAL_USER, DEALER_USER, MANUFACTURER_USER}


def role_names(user) -> set[str]:
    if user is None:
        return set()
    return {role.name for role in getattr(user, "roles", None) or []}


def has_role(user, name: str) -> bool:
    return name in role_names(user)


def is_admin(user) -> bool:
    return has_role(user, ADMIN)


def is_operator(user) -> bool:
    """Admin or Operator: the operator's staff, who see every organization."""
    return bool(role_names(user) & OPERATOR_ROLES)


def _organization_kind(user) -> str | None:
    organization = getattr(user, "organization", None)
    return organization.kind if organization is not None else None


def is_dealer_user(user) -> bool:
    """A DealerUser of a dealer organization (acts for hospitals that granted it a level)."""
    return _organization_kind(user) == OrganizationKind.dealer.value and has_role(user, DEALER_USER)


def is_system(user) -> bool:
    """A service account of the on-prem systems (role System in the operator organization)."""
    return _organization_kind(user) == OrganizationKind.operator.value and has_role(user, SYSTEM)


def is_manufacturer_user(user) -> bool:
    return (_organization_kind(user) == OrganizationKind.manufacturer.value
            and has_role(user, MANUFACTURER_USER))


def grantable_roles(actor) -> set[str]:
    """Role names ``actor`` may give to a user."""
    if is_admin(actor):
        return set().union(*ROLES_BY_ORGANIZATION_KIND.values())
    return set(ORGADMIN_GRANTABLE)
