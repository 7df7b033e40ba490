"""The hospital a dealer user acts for: its permissions and the choice kept in the session.

Read from the database on every call: a lowered or revoked level counts on the next request.
"""
from __future__ import annotations

from flask import has_request_context, session
from sqlalchemy import select

from ..extensions import db
from ..models import DealerLevel, DealerPermission, Organization, OrganizationKind

SESSION_KEY = "optiserve_dealer_hospital_id"


def active_permissions(user_id: int) -> list[DealerPermission]:
    """The dealer user's permissions that give access (level 1–3), by hospital code."""
    return list(
        db.session.scalars(
            select(DealerPermission)
            .join(Organization, Organization.id == DealerPermission.hospital_id)
            .where(
                DealerPermission.dealer_user_id == user_id,
                DealerPermission.level != int(DealerLevel.none),
                Organization.kind == OrganizationKind.hospital.value,
            )
            .order_by(Organization.code)
        )
    )


def chosen_permission(user) -> DealerPermission | None:
    """The permission of the hospital chosen in the session; the only one if there is one."""
    permissions = active_permissions(user.id)
    chosen = session.get(SESSION_KEY) if has_request_context() else None
    for permission in permissions:
        if permission.hospital_id == chosen:
            return permission
    if len(permissions) == 1:
        return permissions[0]
    return None


def choose_hospital(user, hospital_id: int) -> DealerPermission | None:
    """Put ``hospital_id`` in the session if the user holds a permission for it."""
    for permission in active_permissions(user.id):
        if permission.hospital_id == hospital_id:
            session[SESSION_KEY] = hospital_id
            return permission
    return None
