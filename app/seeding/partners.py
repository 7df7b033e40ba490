"""Demo dealer permissions, a manufacturer's selection and the maker it is (idempotent: only
what is missing)."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import (
    DealerPermission,
    DealerPermissionHistory,
    Maker,
    ManufacturerSelection,
    Organization,
    User,
)
from app.services.classifications.makers import resolve_makers

DEMO_DEALER = "dealer@towa-medical.example.jp"
# (hospital code, level, reason)
DEMO_DEALER_PERMISSIONS = [
    ("H0001", 3, "保守契約に基づく作業代行（デモデータ）"),
    ("H0002", 1, "月次ファイルのアップロード代行（デモデータ）"),
]
DEMO_MANUFACTURER = "M0001"
DEMO_SELECTION = ["H0001", "H0002", "H0003"]
# The maker of the makers master the demo manufacturer is (Maker.organization_id): its rows
# are 「自社」 on the manufacturer's analysis. One whose models every selected demo hospital
# files (OLV-3100, TEC-5631: app/seeding/demo_activity.py, demo_peers.py), so its rows are
# pooled over 3 hospitals and shown, not hidden by the K rule.
DEMO_MANUFACTURER_MAKER = "日本光電工業株式会社"


def seed_partners() -> int:
    """Returns the number of rows created."""
    created = 0
    by_code = {o.code: o for o in db.session.scalars(select(Organization))}
    dealer = db.session.scalars(select(User).where(User.email == DEMO_DEALER)).one_or_none()
    if dealer is not None:
        for code, level, reason in DEMO_DEALER_PERMISSIONS:
            hospital = by_code.get(code)
            if hospital is None or db.session.scalars(select(DealerPermission).where(
                    DealerPermission.hospital_id == hospital.id,
                    DealerPermission.dealer_user_id == dealer.id)).first() is not None:
                continue
            permission = DealerPermission(hospital_id=hospital.id, dealer_user_id=dealer.id,
                                          level=level, reason=reason)
            db.session.add(permission)
            db.session.flush()
            db.session.add(DealerPermissionHistory(
                permission_id=permission.id, hospital_id=hospital.id, dealer_user_id=dealer.id,
                old_level=None, new_level=level, reason=reason))
            created += 1
    manufacturer = by_code.get(DEMO_MANUFACTURER)
    if manufacturer is not None and db.session.scalars(select(ManufacturerSelection).where(
            ManufacturerSelection.manufacturer_id == manufacturer.id)).first() is None:
        for rank, code in enumerate(DEMO_SELECTION, start=1):
            if code in by_code:
                db.session.add(ManufacturerSelection(manufacturer_id=manufacturer.id, rank=rank,
                                                     hospital_id=by_code[code].id))
                created += 1
    if manufacturer is not None:
        created += _link_demo_maker(manufacturer)
    db.session.flush()
    return created


def _link_demo_maker(manufacturer: Organization) -> int:
    """Link the demo manufacturer's maker to it unless that maker is linked already (to it or,
    by a masters push, to another organization). The maker is the master's (created, as an
    upload would, if the masters were not seeded yet)."""
    maker_id = resolve_makers(db.session, [DEMO_MANUFACTURER_MAKER]).get(DEMO_MANUFACTURER_MAKER)
    maker = db.session.get(Maker, maker_id) if maker_id is not None else None
    if maker is None or maker.organization_id is not None:
        return 0
    maker.organization_id = manufacturer.id
    return 1
