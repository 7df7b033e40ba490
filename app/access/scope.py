"""The one answer to "which organizations' rows may this user see, and do what with them".

Every view, API, download and job asks :func:`current_scope` (or :func:`scope_of` for a
given user) instead of deciding access itself. FAB views use it through
:class:`app.views.base.ScopedModelView`, which applies :meth:`Scope.clause` both as a
``base_filter`` and on every fetch by primary key (actions, downloads, related fields).

Branches by the user's organization:
- operator (Admin, Operator roles): every organization;
- System (service accounts of the on-prem systems, operator organization): every
  organization, with only the ``SYSTEM_SYNC`` capability (the System APIs);
- hospital / own organization: its own organization;
- dealer (DealerUser of a dealer organization): the hospital chosen in the session
  (:data:`app.access.dealer_choice.SESSION_KEY`; the only one when it holds one permission),
  with the capabilities of the granted level (:func:`app.access.capabilities.level_capabilities`).
  The permission is read from the database on every request, so a lowered or revoked level
  counts at once. With no hospital chosen, or its own organization chosen on the switcher
  (:data:`app.access.dealer_choice.OWN_ORGANIZATION`), its own organization and no hospital
  capability. Acting for a hospital, the hospital's security policy applies too
  (:func:`app.access.request_policy.check_acting_hospital`);
- manufacturer: its own organization only in row scope. The hospitals of this month's selection
  (that still allow manufacturer access) are in :attr:`Scope.aggregate_hospital_ids`; the
  figures of another month use that month's selection (:mod:`app.access.aggregate`). Neither is
  ever a row scope, so no list, show, API or download of a hospital's raw rows reaches them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import g, has_request_context
from sqlalchemy import false, true
from sqlalchemy.sql import ColumnElement

from app.access import roles
from app.access.aggregate import selected_hospital_ids
from app.access.capabilities import (
    ADMIN_CAPABILITIES,
    HOSPITAL_CAPABILITIES,
    MANAGE_DEALERS,
    OPERATOR_CAPABILITIES,
    ORG_ADMIN_CAPABILITIES,
    SELECT_HOSPITALS,
    SYSTEM_CAPABILITIES,
    level_capabilities,
    screen_allows,
)
from app.access.dealer_choice import chosen_permission
from app.core.months import current_month
from app.models import OrganizationKind


@dataclass(frozen=True)
class Scope:
    everything: bool = False
    organization_ids: frozenset[int] = field(default_factory=frozenset)
    capabilities: frozenset[str] = field(default_factory=frozenset)
    # Hospitals whose pooled figures a manufacturer may see; never used by clause()/allows().
    aggregate_hospital_ids: frozenset[int] = field(default_factory=frozenset)
    # The dealer's chosen hospital and level (None for everyone else), for the navbar switcher.
    dealer_hospital_id: int | None = None
    dealer_level: int | None = None

    def allows(self, organization_id: int | None) -> bool:
        return self.everything or organization_id in self.organization_ids

    def can(self, capability: str) -> bool:
        return capability in self.capabilities

    def can_open(self, permission_name: str | None) -> bool:
        """Whether a screen (by FAB permission name) answers this scope rather than 403."""
        return screen_allows(self, permission_name)

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
    if roles.is_operator(user):
        capabilities = ADMIN_CAPABILITIES if roles.is_admin(user) else OPERATOR_CAPABILITIES
        return Scope(everything=True, capabilities=frozenset(capabilities))
    organization = user.organization
    if organization is None:
        return NOTHING
    if roles.is_system(user):
        # Operator-wide, but only the System APIs' capability: no screen capability at all.
        return Scope(everything=True, capabilities=SYSTEM_CAPABILITIES)
    own = frozenset({organization.id})
    capabilities: set[str] = set()
    if roles.has_role(user, roles.ORG_ADMIN):
        capabilities |= ORG_ADMIN_CAPABILITIES
    if organization.kind == OrganizationKind.hospital.value:
        if roles.has_role(user, roles.HOSPITAL_USER):
            capabilities |= HOSPITAL_CAPABILITIES
        elif roles.has_role(user, roles.ORG_ADMIN):
            # The hospital's administrator registers dealers too (DES 3-5, screen 8).
            capabilities.add(MANAGE_DEALERS)
    if roles.is_dealer_user(user):
        return _dealer_scope(user, own, capabilities)
    if roles.is_manufacturer_user(user):
        return Scope(
            organization_ids=own, capabilities=frozenset(capabilities | {SELECT_HOSPITALS}),
            aggregate_hospital_ids=frozenset(selected_hospital_ids(organization.id, current_month())),
        )
    return Scope(organization_ids=own, capabilities=frozenset(capabilities))


def _dealer_scope(user, own: frozenset[int], capabilities: set[str]) -> Scope:
    permission = chosen_permission(user)
    if permission is None:
        return Scope(organization_ids=own, capabilities=frozenset(capabilities))
    # Acting for the hospital: its rows only, and none of the dealer's own-organization powers.
    return Scope(
        organization_ids=frozenset({permission.hospital_id}),
        capabilities=level_capabilities(permission.level),
        dealer_hospital_id=permission.hospital_id,
        dealer_level=permission.level,
    )


def roles_in_effect(user, user_roles: list) -> list:
    """The roles whose FAB permissions ``user`` holds in this request.

    A dealer acting for a hospital has that hospital as its row scope; a role it holds for its
    own organization (OrgAdmin of the dealer) would otherwise open the user, audit-log and
    organization screens on the *hospital's* rows (reset a hospital user's second factor,
    invite a hospital administrator). While acting, only the DealerUser role counts; its
    level's capabilities decide the rest."""
    if not has_request_context():
        return user_roles
    request_user = getattr(g, "user", None)
    if request_user is None or getattr(request_user, "id", None) != getattr(user, "id", None):
        return user_roles
    if current_scope().dealer_hospital_id is None:
        return user_roles
    return [role for role in user_roles if role.name == roles.DEALER_USER]


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
