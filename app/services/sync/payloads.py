"""The state of each kind of synced thing, as written into the change log.

Every builder takes local ids and answers ``{id: (key, organization_id, payload)}`` for the
rows that still exist; a missing id means the thing is gone (a deletion entry). Payloads
refer to other things by natural keys only — organization ``code``, user ``username``,
classification ``{"hospital": code or None, "path": [level-1 name, …]}``, device
``device_key`` — so another database (the on-prem instance) can apply them.

Users are sent without any secret: no password hash, TOTP secret, recovery codes, login
counters or session generation.
"""
from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select

from app.models import (
    Classification,
    DealerPermission,
    Equipment,
    ManufacturerSelection,
    Organization,
    ReportSelection,
    User,
)

ORGANIZATION_FIELDS = (
    "kind", "code", "name", "postal_code", "prefecture", "city", "address_line1", "address_line2",
    "phone", "notification_emails", "allowed_email_domains", "ip_allowlist", "mfa_required",
    "report_rank_count", "analysis_level", "manufacturer_selection_count",
    "allows_manufacturer_access", "report_grouping",
)
USER_FIELDS = ("username", "email", "first_name", "last_name", "active", "phone", "mobile", "status",
               "inactive_reason", "inactive_note")


def _chunks(ids, size=900):
    ids = sorted(ids)
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def _codes(session, org_ids) -> dict[int, str]:
    org_ids = {i for i in org_ids if i is not None}
    found: dict[int, str] = {}
    for chunk in _chunks(org_ids):
        found.update(session.execute(select(Organization.id, Organization.code)
                                     .where(Organization.id.in_(chunk))).all())
    return found


class ClassificationPaths:
    """Natural keys of classifications, loading each row (and its parents) once."""

    def __init__(self, session):
        self.session = session
        self.rows: dict[int, tuple[int | None, int | None, str]] = {}  # id → (parent, hospital, name)
        self.codes: dict[int, str] = {}

    def load(self, ids) -> None:
        wanted = {i for i in ids if i is not None and i not in self.rows}
        if not wanted:
            return
        hospitals: set[int] = set()
        while wanted:
            for chunk in _chunks(wanted):
                for cid, parent, hospital, name in self.session.execute(
                        select(Classification.id, Classification.parent_id, Classification.hospital_id,
                               Classification.name).where(Classification.id.in_(chunk))):
                    self.rows[cid] = (parent, hospital, name)
                    hospitals.add(hospital)
            missing = {i for i in wanted if i not in self.rows}
            for cid in missing:  # gone: never asked for again
                self.rows[cid] = (None, None, "")
            wanted = {self.rows[i][0] for i in wanted} - set(self.rows) - {None}
        self.codes.update(_codes(self.session, hospitals - set(self.codes)))

    def key(self, cid: int | None) -> dict | None:
        if cid is None:
            return None
        self.load([cid])
        path, hospital, current = [], None, cid
        while current is not None:
            parent, hospital, name = self.rows[current]
            path.append(name)
            current = parent
        return {"hospital": self.codes.get(hospital), "path": path[::-1]}


def key_text(class_key: dict) -> str:
    return "/".join([class_key["hospital"] or "*", *class_key["path"]])


def organizations(session, ids) -> dict:
    out = {}
    for chunk in _chunks(ids):
        for org in session.scalars(select(Organization).where(Organization.id.in_(chunk))):
            out[org.id] = (org.code, org.id, {f: getattr(org, f) for f in ORGANIZATION_FIELDS})
    return out


def users(session, ids) -> dict:
    out = {}
    for chunk in _chunks(ids):
        rows = list(session.scalars(select(User).where(User.id.in_(chunk))))
        codes = _codes(session, {u.organization_id for u in rows})
        for user in rows:
            payload = {f: getattr(user, f) for f in USER_FIELDS}
            payload["organization"] = codes.get(user.organization_id)
            payload["roles"] = sorted(user.role_names)
            out[user.id] = (user.username, user.organization_id, payload)
    return out


def ledger_settings(session, ids, paths: ClassificationPaths | None = None) -> dict:
    paths = paths or ClassificationPaths(session)
    out = {}
    for chunk in _chunks(ids, 5000):
        rows = session.execute(select(
            Equipment.id, Equipment.hospital_id, Equipment.device_key, Equipment.device_number,
            Equipment.override_counts, Equipment.override_classification_id,
        ).where(Equipment.id.in_(chunk))).all()
        codes = _codes(session, {r.hospital_id for r in rows})
        paths.load({r.override_classification_id for r in rows})
        for r in rows:
            code = codes.get(r.hospital_id)
            out[r.id] = (f"{code}/{r.device_key}", r.hospital_id, {
                "hospital": code, "device_key": r.device_key, "device_number": r.device_number,
                "override_counts": r.override_counts,
                "override_classification": paths.key(r.override_classification_id),
            })
    return out


def classifications(session, ids, paths: ClassificationPaths | None = None) -> dict:
    paths = paths or ClassificationPaths(session)
    out = {}
    for chunk in _chunks(ids):
        rows = list(session.scalars(select(Classification).where(Classification.id.in_(chunk))))
        paths.load({c.id for c in rows} | {c.smds_classification_id for c in rows})
        for cls in rows:
            key = paths.key(cls.id)
            out[cls.id] = (key_text(key), cls.hospital_id, {
                "classification": key, "level": cls.level, "code": cls.code, "is_active": cls.is_active,
                "smds_classification": paths.key(cls.smds_classification_id),
                "mapping_method": cls.mapping_method,
                "mapped_at": cls.mapped_at.isoformat() if cls.mapped_at else None,
            })
    return out


def report_selections(session, hospital_ids, paths: ClassificationPaths | None = None) -> dict:
    paths = paths or ClassificationPaths(session)
    out = {}
    for chunk in _chunks(hospital_ids):
        orgs = session.execute(select(Organization.id, Organization.code, Organization.report_grouping)
                               .where(Organization.id.in_(chunk))).all()
        ranked = defaultdict(list)
        for row in session.execute(select(ReportSelection.hospital_id, ReportSelection.classification_id)
                                   .where(ReportSelection.hospital_id.in_(chunk))
                                   .order_by(ReportSelection.hospital_id, ReportSelection.rank)):
            ranked[row.hospital_id].append(row.classification_id)
        paths.load({cid for ids in ranked.values() for cid in ids})
        for org_id, code, grouping in orgs:
            out[org_id] = (code, org_id, {"hospital": code, "grouping": grouping,
                                          "classifications": [paths.key(c) for c in ranked[org_id]]})
    return out


def dealer_permissions(session, ids) -> dict:
    out = {}
    for chunk in _chunks(ids):
        rows = list(session.scalars(select(DealerPermission).where(DealerPermission.id.in_(chunk))))
        codes = _codes(session, {p.hospital_id for p in rows})
        names = dict(session.execute(select(User.id, User.username)
                                     .where(User.id.in_({p.dealer_user_id for p in rows}))).all())
        for perm in rows:
            code, dealer = codes.get(perm.hospital_id), names.get(perm.dealer_user_id)
            out[perm.id] = (f"{code}/{dealer}", perm.hospital_id, {
                "hospital": code, "dealer_user": dealer, "level": perm.level, "reason": perm.reason,
                "granted_at": perm.granted_at.isoformat() if perm.granted_at else None,
            })
    return out


def manufacturer_selections(session, manufacturer_ids) -> dict:
    out = {}
    for chunk in _chunks(manufacturer_ids):
        codes = _codes(session, chunk)
        rows = session.execute(select(ManufacturerSelection.manufacturer_id, ManufacturerSelection.month,
                                      ManufacturerSelection.rank, ManufacturerSelection.hospital_id)
                               .where(ManufacturerSelection.manufacturer_id.in_(chunk))
                               .order_by(ManufacturerSelection.manufacturer_id, ManufacturerSelection.month,
                                         ManufacturerSelection.rank)).all()
        hospitals = _codes(session, {r.hospital_id for r in rows})
        listed = defaultdict(list)
        for r in rows:
            listed[r.manufacturer_id].append({"month": r.month.isoformat(), "rank": r.rank,
                                              "hospital": hospitals.get(r.hospital_id)})
        for org_id, code in codes.items():
            out[org_id] = (code, org_id, {"manufacturer": code, "selections": listed[org_id]})
    return out


BUILDERS = {
    "organization": organizations,
    "user": users,
    "ledger_setting": ledger_settings,
    "classification": classifications,
    "report_selection": report_selections,
    "dealer_permission": dealer_permissions,
    "manufacturer_selection": manufacturer_selections,
}
# Applied in this order within one transaction's entries (what others refer to comes first).
ENTITIES = tuple(BUILDERS)
