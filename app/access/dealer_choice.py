"""The hospital a dealer user acts for: its permissions and the choice kept in the session.

Read from the database on every call: a lowered or revoked level counts on the next request.
"""
from __future__ import annotations

from flask import current_app, g, has_request_context, redirect, request, session, url_for
from sqlalchemy import select

from app.access.roles import is_dealer_user
from app.extensions import db
from app.models import DealerLevel, DealerPermission, Organization, OrganizationKind

SESSION_KEY = "optiserve_dealer_hospital_id"
# Stored under SESSION_KEY when the dealer works for its own organization (no hospital): a
# hospital id is never 0. Chosen on the switcher, or to leave a hospital whose security
# policy refuses this request (app.access.request_policy.check_acting_hospital).
OWN_ORGANIZATION = 0


def active_permissions(user_id: int) -> list[DealerPermission]:
    """The dealer user's permissions that give access (level 1–3) to an active hospital, by
    hospital code."""
    return list(
        db.session.scalars(
            select(DealerPermission)
            .join(Organization, Organization.id == DealerPermission.hospital_id)
            .where(
                DealerPermission.dealer_user_id == user_id,
                DealerPermission.level != int(DealerLevel.none),
                Organization.kind == OrganizationKind.hospital.value,
                # a hospital the masters push deactivated has left: its own users are refused
                # (request_policy.check_organization_active), so is whoever acted for it
                Organization.is_active.is_(True),
            )
            .order_by(Organization.code)
        )
    )


def chosen_permission(user) -> DealerPermission | None:
    """The permission of the hospital chosen in the session; the only one if there is one.
    None when the dealer chose to work for its own organization."""
    chosen = session.get(SESSION_KEY) if has_request_context() else None
    if chosen == OWN_ORGANIZATION:
        return None
    permissions = active_permissions(user.id)
    for permission in permissions:
        if permission.hospital_id == chosen:
            return permission
    if len(permissions) == 1:
        return permissions[0]
    return None


def choose_own_organization() -> None:
    """Work for the dealer's own organization: no hospital's rows, its own roles."""
    session[SESSION_KEY] = OWN_ORGANIZATION


def works_for_own_organization() -> bool:
    return has_request_context() and session.get(SESSION_KEY) == OWN_ORGANIZATION


def choose_hospital(user, hospital_id: int) -> DealerPermission | None:
    """Put ``hospital_id`` in the session if the user holds a permission for it."""
    for permission in active_permissions(user.id):
        if permission.hospital_id == hospital_id:
            session[SESSION_KEY] = hospital_id
            return permission
    return None


# Endpoints a dealer reaches before choosing a hospital: logging in and out, the choice itself,
# its own account page, static files, the language switch, the health check and the session
# timer every page asks (redirected, its answer read as "session ended" on the choice page).
GATE_FREE_PREFIXES = ("static", "appbuilder.static", "DealerHospitalView.", "HealthView.",
                      "LocaleView.", "UtilView.", "UserMaintenanceView.userinfo",
                      "ProfileView.", "SessionTimerView.")


def hospital_gate():
    """Before each request: send a dealer with several hospitals and none chosen to the choice
    (after login, or when the chosen one was revoked); with one hospital it is chosen for it."""
    user = getattr(g, "user", None)
    if user is None or not getattr(user, "is_authenticated", False) or not is_dealer_user(user):
        return None
    endpoint = request.endpoint or ""
    auth_view = getattr(current_app.appbuilder.sm, "auth_view", None)
    free = GATE_FREE_PREFIXES + ((auth_view.endpoint + ".",) if auth_view is not None else ())
    if endpoint.startswith(free) or request.method != "GET" or request.path.startswith("/api/"):
        return None
    if works_for_own_organization():
        return None
    permission = chosen_permission(user)
    if permission is not None:
        if session.get(SESSION_KEY) != permission.hospital_id:
            session[SESSION_KEY] = permission.hospital_id
        return None
    return redirect(url_for("DealerHospitalView.hospitals"))
