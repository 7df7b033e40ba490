"""The hospitals a manufacturer's pooled figures of a month are taken over.

A manufacturer's selection is stored per month (:class:`app.models.ManufacturerSelection`);
the figures of a month use the selection in force that month — the one with the latest
``month`` not after it — restricted to hospitals that still allow manufacturer access.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from app.extensions import db
from app.models import ManufacturerSelection, Organization, OrganizationKind


def selection_month(manufacturer_id: int, month: dt.date) -> dt.date | None:
    """The ``month`` of the selection in force in ``month`` (None: nothing selected yet)."""
    return db.session.scalar(
        select(func.max(ManufacturerSelection.month)).where(
            ManufacturerSelection.manufacturer_id == manufacturer_id,
            ManufacturerSelection.month <= month,
        )
    )


def selected_hospital_ids(manufacturer_id: int, month: dt.date) -> list[int]:
    """Hospitals of the selection in force in ``month``, in rank order, that still consent
    and are still active.

    A hospital that withdraws its consent drops out at once, without touching the selection.
    """
    since = selection_month(manufacturer_id, month)
    if since is None:
        return []
    return list(
        db.session.scalars(
            select(ManufacturerSelection.hospital_id)
            .join(Organization, Organization.id == ManufacturerSelection.hospital_id)
            .where(ManufacturerSelection.manufacturer_id == manufacturer_id,
                   ManufacturerSelection.month == since,
                   Organization.kind == OrganizationKind.hospital.value,
                   Organization.allows_manufacturer_access.is_(True),
                   # a hospital that left (deactivated by the masters push) is offered to no
                   # one for selection (manufacturers.candidate_hospitals): nor pooled
                   Organization.is_active.is_(True))
            .order_by(ManufacturerSelection.rank)
        )
    )
