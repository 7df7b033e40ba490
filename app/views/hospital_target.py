"""Which hospital a per-hospital screen or API works on, decided by the scope.

A hospital user works on its own hospital; an operator chooses one (``hospital_id``), the
first hospital by code when none is given. An id outside the scope is a 404, as if it
did not exist.
"""
from __future__ import annotations

from flask import abort
from flask_wtf import FlaskForm

from app.access.scope import current_scope
from app.extensions import db
from app.models import Classification, Organization, OrganizationKind


class CsrfForm(FlaskForm):
    """A form with only the CSRF token, for the screens' small POST buttons."""


def hospitals_in_scope() -> list[Organization]:
    scope = current_scope()
    return (
        db.session.query(Organization)
        .filter(Organization.kind == OrganizationKind.hospital.value,
                scope.clause(Organization.id))
        .order_by(Organization.code)
        .all()
    )


def target_hospital(hospital_id, capability: str) -> Organization:
    scope = current_scope()
    if not scope.can(capability):
        abort(403)
    if hospital_id in (None, "") and not scope.everything and len(scope.organization_ids) == 1:
        # the scope's one organization (already loaded: no query), checked below as any id
        (hospital_id,) = scope.organization_ids
    if hospital_id in (None, ""):
        hospitals = hospitals_in_scope()
        if not hospitals:
            abort(404)
        if not scope.everything and len(hospitals) != 1:
            abort(404)
        return hospitals[0]
    try:
        hospital_id = int(hospital_id)
    except (TypeError, ValueError):
        abort(404)
    if not scope.allows(hospital_id):
        abort(404)
    hospital = db.session.get(Organization, hospital_id)
    if hospital is None or hospital.kind != OrganizationKind.hospital.value:
        abort(404)
    return hospital


def hospital_classification(pk, capability: str) -> Classification:
    """A hospital's own classification by id, in scope (else 404)."""
    scope = current_scope()
    if not scope.can(capability):
        abort(403)
    cls = db.session.get(Classification, pk)
    if cls is None or cls.hospital_id is None or not scope.allows(cls.hospital_id):
        abort(404)
    return cls
