"""The one answer to "which organizations' rows may this user see, and do what with them".

Every view, API, download and job asks :func:`current_scope` (or :func:`scope_of` for a
given user) instead of deciding access itself. FAB views use it through
:class:`app.views.base.ScopedModelView`, which applies :meth:`Scope.clause` both as a
``base_filter`` and on every fetch by primary key (actions, downloads, related fields).

Branches by the user's organization:
- operator (Admin, Operator roles): every organization;
- hospital / own organization: its own organization;
- dealer: the hospital chosen in the session, with the capabilities of the granted level
  (built in the dealer-permission issue; until then a dealer sees only its own organization);
- manufacturer: its own organization only; the selected hospitals are reached through
  aggregated views, never through row scope (manufacturer issue).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import g, has_request_context
from sqlalchemy import false, true
from sqlalchemy.sql import ColumnElement

from .models import OrganizationKind

OPERATOR_ROLES = frozenset({"Admin", "Operator"})

# Capabilities a scope can carry; screens and APIs check these beside FAB permissions.
MANAGE_USERS = "manage_users"
MANAGE_ORGANIZATIONS = "manage_organizations"
EDIT_OWN_ORGANIZATION = "edit_own_organization"
UPLOAD = "upload"
DOWNLOAD_REPORTS = "download_reports"
MAINTAIN_MASTERS = "maintain_masters"
MANAGE_DEALERS = "manage_dealers"

HOSPITAL_CAPABILITIES = frozenset(
    {UPLOAD, DOWNLOAD_REPORTS, MAINTAIN_MASTERS, MANAGE_DEALERS}
)


@dataclass(frozen=True)
class Scope:
    everything: bool = False
    organization_ids: frozenset[int] = field(default_factory=frozenset)
    capabilities: frozenset[str] = field(default_factory=frozenset)

    def allows(self, organization_id: int | None) -> bool:
        return self.everything or organization_id in self.organization_ids

    def can(self, capability: str) -> bool:
        return capability in self.capabilities

    def clause(self, column) -> ColumnElement:
        """A WHERE clause restricting ``column`` (an organization id column) to this scope."""
        if self.everything:
            return true()
        if not self.organization_ids:
            return false()
        return column.in_(sorted(self.organization_ids))


NOTHING = Scope()


def scope_of(user) -> Scope:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return NOTHING
    roles = {role.name for role in user.roles}
    if roles & OPERATOR_ROLES:
        capabilities = {MANAGE_ORGANIZATIONS, DOWNLOAD_REPORTS, MAINTAIN_MASTERS, UPLOAD}
        if "Admin" in roles:
            capabilities |= {MANAGE_USERS, MANAGE_DEALERS}
        return Scope(everything=True, capabilities=frozenset(capabilities))
    organization = user.organization
    if organization is None:
        return NOTHING
    own = frozenset({organization.id})
    capabilities: set[str] = set()
    if "OrgAdmin" in roles:
        capabilities |= {MANAGE_USERS, EDIT_OWN_ORGANIZATION}
    if organization.kind == OrganizationKind.hospital.value and "HospitalUser" in roles:
        capabilities |= HOSPITAL_CAPABILITIES
    # Dealer and manufacturer branches: their own organization only, until the dealer and
    # manufacturer issue adds the chosen hospital and the selected hospitals.
    return Scope(organization_ids=own, capabilities=frozenset(capabilities))


def forget_scope() -> None:
    """Run before each request: a scope is never carried from one request to another."""
    g.pop("optiserve_scope", None)


def current_scope() -> Scope:
    """The scope of the request's user, computed once per request; nothing outside a request."""
    if not has_request_context():
        return NOTHING
    if "optiserve_scope" not in g:
        g.optiserve_scope = scope_of(getattr(g, "user", None))
    return g.optiserve_scope
