"""Applying pulled change entries to this (the on-prem) database, idempotently.

Each entry carries the whole state of one thing under its natural key, so applying it means
"make the local thing look like this": applying an entry twice, or an older page again after
a failure, changes nothing. Things referring to what this database does not have (a device
whose ledger has not arrived yet, an unknown role) are skipped and counted, never guessed.
Deletions deactivate (users) or are ignored; nothing is deleted here except the rows of a
selection being replaced. Nothing is committed here: the caller commits once per page.
"""
from __future__ import annotations

import datetime as dt
import secrets
from collections import Counter

from flask_appbuilder.security.sqla.models import Role
from sqlalchemy import bindparam, delete, insert, select, update

from app.core.months import utc_now
from app.core.normalize import match_key
from app.models import (
    Classification,
    DealerPermission,
    Equipment,
    ManufacturerSelection,
    Organization,
    ReportSelection,
    User,
)
from app.services.sync.payloads import ORGANIZATION_FIELDS, USER_FIELDS

NO_PASSWORD = "!sync"  # not a password hash: nobody can log in with a password here


def _time(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


class Applier:
    def __init__(self, session):
        self.session = session
        self.counts: Counter = Counter()
        self._orgs: dict[str, Organization | None] = {}
        self._classes: dict[tuple, int | None] = {}
        self._loaded: set[int | None] = set()

    # ------------------------------------------------------------ lookups

    def org(self, code: str | None) -> Organization | None:
        if code is None:
            return None
        if code not in self._orgs:
            self._orgs[code] = self.session.scalar(select(Organization).where(Organization.code == code))
        return self._orgs[code]

    def user(self, username: str | None) -> User | None:
        if not username:
            return None
        return self.session.scalar(select(User).where(User.username == username))

    def classification(self, key: dict | None, create: bool = False) -> int | None:
        """The local id of a classification key (creating a hospital's missing nodes)."""
        if not key or not key.get("path"):
            return None
        hospital_id = None
        if key.get("hospital") is not None:
            hospital = self.org(key["hospital"])
            if hospital is None:
                return None
            hospital_id = hospital.id
        self._load_classes(hospital_id)
        parent_id = None
        for level, name in enumerate(key["path"], start=1):
            cache_key = (hospital_id, parent_id, name)
            if self._classes.get(cache_key) is None:
                if not create or hospital_id is None:
                    return None
                # one INSERT … RETURNING, no unit-of-work flush: a first pull creates thousands
                self._classes[cache_key] = self.session.execute(
                    insert(Classification).returning(Classification.id),
                    [dict(hospital_id=hospital_id, level=level, parent_id=parent_id, name=name,
                          normalized_name=match_key(name)[:200], is_active=True, created_on=utc_now())],
                ).scalar_one()
            parent_id = self._classes[cache_key]
        return parent_id

    def _load_classes(self, hospital_id: int | None) -> None:
        """Every classification of one owner (a hospital, or the SMDS master) in one query."""
        if hospital_id in self._loaded:
            return
        self._loaded.add(hospital_id)
        owner = (Classification.hospital_id.is_(None) if hospital_id is None
                 else Classification.hospital_id == hospital_id)
        for cls in self.session.scalars(select(Classification).where(owner).order_by(Classification.id)):
            self._classes.setdefault((hospital_id, cls.parent_id, cls.name), cls.id)

    # ------------------------------------------------------------ entities

    def organization(self, entry) -> None:
        data = entry["data"]
        if data is None:
            return self.skip(entry)
        org = self.org(data["code"])
        if org is None:
            org = Organization(code=data["code"], kind=data["kind"], name=data["name"])
            self.session.add(org)
            self._orgs[data["code"]] = org
        self._assign(org, {f: data.get(f) for f in ORGANIZATION_FIELDS if f in data})
        self.session.flush()

    def user_entry(self, entry) -> None:
        data = entry["data"]
        user = self.user(data["username"] if data else entry["key"])
        if data is None:
            if user is not None and user.active:
                user.active = False
                self.counts["changed"] += 1
            return None
        org = self.org(data.get("organization"))
        if user is None:
            user = User(username=data["username"], email=data["email"], first_name=data["first_name"],
                        last_name=data.get("last_name") or "", password=NO_PASSWORD + secrets.token_hex(8))
            self.session.add(user)
        self._assign(user, {f: data.get(f) for f in USER_FIELDS if f in data}
                     | {"organization_id": org.id if org else None})
        wanted = set(data.get("roles") or [])
        roles = list(self.session.scalars(select(Role).where(Role.name.in_(wanted)))) if wanted else []
        if len(roles) < len(wanted):
            self.counts["unknown_roles"] += len(wanted) - len(roles)
        if user.role_names != {r.name for r in roles}:
            user.roles = roles
            self.counts["changed"] += 1
        self.session.flush()

    def ledger_settings(self, entries) -> None:
        """A page's devices at once (a full ledger change is thousands of entries)."""
        by_hospital: dict[int, dict[str, dict]] = {}
        for entry in entries:
            data = entry["data"]
            hospital = self.org(data["hospital"]) if data else None
            if hospital is None:
                self.skip(entry)
                continue
            by_hospital.setdefault(hospital.id, {})[data["device_key"]] = data
        updates = []
        for hospital_id, wanted in by_hospital.items():
            keys = list(wanted)
            for start in range(0, len(keys), 900):
                rows = self.session.execute(select(
                    Equipment.id, Equipment.device_key, Equipment.override_counts,
                    Equipment.override_classification_id,
                ).where(Equipment.hospital_id == hospital_id, Equipment.device_key.in_(keys[start:start + 900])))
                for row in rows:
                    data = wanted.pop(row.device_key)
                    target = (data["override_counts"], self.classification(data["override_classification"]))
                    if (row.override_counts, row.override_classification_id) != target:
                        updates.append({"id": row.id, "override_counts": target[0],
                                        "override_classification_id": target[1]})
                    else:
                        self.counts["unchanged"] += 1
            self.counts["skipped"] += len(wanted)  # devices this database does not have (yet)
        if updates:  # one executemany by primary key (Core: no ORM bookkeeping of 1,000 rows)
            table = Equipment.__table__
            self.session.connection().execute(
                update(table).where(table.c.id == bindparam("device_id"))
                .values(override_counts=bindparam("counts"), override_classification_id=bindparam("class_id")),
                [{"device_id": u["id"], "counts": u["override_counts"], "class_id": u["override_classification_id"]}
                 for u in updates])
            self.counts["changed"] += len(updates)

    def classification_entry(self, entry) -> None:
        data = entry["data"]
        if data is None:
            return self.skip(entry)
        cid = self.classification(data["classification"], create=True)
        if cid is None:
            return self.skip(entry)
        cls = self.session.get(Classification, cid)
        smds = self.classification(data.get("smds_classification"))
        if data.get("smds_classification") and smds is None:
            self.counts["unknown_mappings"] += 1
        self._assign(cls, {"code": data.get("code"), "is_active": data.get("is_active", True),
                           "smds_classification_id": smds, "mapping_method": data.get("mapping_method"),
                           "mapped_at": _time(data.get("mapped_at"))})

    def report_selection(self, entry) -> None:
        data = entry["data"]
        hospital = self.org(data["hospital"]) if data else None
        if hospital is None:
            return self.skip(entry)
        ids = [self.classification(key) for key in data["classifications"]]
        if None in ids:
            self.counts["unknown_classifications"] += ids.count(None)
        ids = [i for i in ids if i is not None]
        current = list(self.session.scalars(select(ReportSelection.classification_id)
                                            .where(ReportSelection.hospital_id == hospital.id)
                                            .order_by(ReportSelection.rank)))
        self._assign(hospital, {"report_grouping": data["grouping"]})
        if current == ids:
            return None
        self.session.execute(delete(ReportSelection).where(ReportSelection.hospital_id == hospital.id))
        self.session.flush()
        self.session.add_all([ReportSelection(hospital_id=hospital.id, rank=rank, classification_id=cid)
                              for rank, cid in enumerate(ids, start=1)])
        self.session.flush()
        self.counts["changed"] += 1

    def dealer_permission(self, entry) -> None:
        data = entry["data"]
        hospital = self.org(data["hospital"]) if data else None
        dealer = self.user(data["dealer_user"]) if data else None
        if hospital is None or dealer is None:
            return self.skip(entry)
        perm = self.session.scalar(select(DealerPermission).where(
            DealerPermission.hospital_id == hospital.id, DealerPermission.dealer_user_id == dealer.id))
        if perm is None:
            perm = DealerPermission(hospital_id=hospital.id, dealer_user_id=dealer.id,
                                    level=data["level"], reason=data["reason"])
            self.session.add(perm)
        self._assign(perm, {"level": data["level"], "reason": data["reason"],
                            "granted_at": _time(data.get("granted_at"))})
        self.session.flush()

    def manufacturer_selection(self, entry) -> None:
        data = entry["data"]
        maker = self.org(data["manufacturer"]) if data else None
        if maker is None:
            return self.skip(entry)
        wanted = []
        for item in data["selections"]:
            hospital = self.org(item["hospital"])
            if hospital is None:
                self.counts["unknown_hospitals"] += 1
                continue
            wanted.append((dt.date.fromisoformat(item["month"]), item["rank"], hospital.id))
        current = [tuple(r) for r in self.session.execute(
            select(ManufacturerSelection.month, ManufacturerSelection.rank, ManufacturerSelection.hospital_id)
            .where(ManufacturerSelection.manufacturer_id == maker.id)
            .order_by(ManufacturerSelection.month, ManufacturerSelection.rank))]
        if current == wanted:
            return None
        self.session.execute(delete(ManufacturerSelection).where(ManufacturerSelection.manufacturer_id == maker.id))
        self.session.flush()
        self.session.add_all([ManufacturerSelection(manufacturer_id=maker.id, month=m, rank=r, hospital_id=h)
                              for m, r, h in wanted])
        self.session.flush()
        self.counts["changed"] += 1

    # ------------------------------------------------------------ helpers

    def _assign(self, obj, values: dict) -> None:
        changed = False
        for name, value in values.items():
            if getattr(obj, name) != value:
                setattr(obj, name, value)
                changed = True
        self.counts["changed" if changed else "unchanged"] += 1

    def skip(self, entry) -> None:
        self.counts["skipped"] += 1

    def apply(self, entries) -> Counter:
        """Apply one page, in ``seq`` order (consecutive device entries in one batch)."""
        batch: list = []
        handlers = {
            "organization": self.organization, "user": self.user_entry,
            "classification": self.classification_entry, "report_selection": self.report_selection,
            "dealer_permission": self.dealer_permission, "manufacturer_selection": self.manufacturer_selection,
        }
        for entry in entries:
            if entry["entity"] == "ledger_setting":
                batch.append(entry)
                continue
            if batch:
                self.ledger_settings(batch)
                batch = []
            handler = handlers.get(entry["entity"])
            if handler is None:
                self.counts["unknown_entities"] += 1
                continue
            handler(entry)
        if batch:
            self.ledger_settings(batch)
        return self.counts


def apply_entries(session, entries) -> Counter:
    return Applier(session).apply(entries)
