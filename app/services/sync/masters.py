"""Masters push: the on-prem masters upserted by their ids, all or nothing.

:func:`push` applies a payload checked by :mod:`app.services.sync.masters_payload` in one
transaction: organizations (hospitals, dealers, manufacturers), SMDS classifications,
hospitals' classifications with their mapping, makers with their spellings — in that order,
so a row may name one sent before it. Each row is found by its on-prem id (``external_id``);
the first push of a row that OptiServe already has (same organization code, same
classification name under the same parent, same maker name, never pushed before) adopts it.
A field is written only when its value differs, so the same payload twice changes nothing:
no UPDATE, no timestamp, no audit row. With ``full``, a row of a sent list that OptiServe got
from an earlier push and that the payload no longer lists is deactivated (never deleted);
rows made in OptiServe and never pushed are left alone. Any problem → nothing is written
(the service flushes; the caller's :func:`app.services.unit_of_work.unit_of_work` commits).
"""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.core.months import utc_now
from app.core.normalize import maker_key, match_key, normalize_text
from app.extensions import db
from app.models import Classification, Maker, MakerAlias, Organization, OrganizationKind
from app.services.audit import trail as audit
from app.services.classifications.makers import merge_makers
from app.services.sync.masters_payload import (
    ORGANIZATION_FIELDS,
    ORGANIZATION_SECTIONS,
    MastersInvalid,
    Payload,
    parse,
)

ONPREM = "onprem"  # Classification.mapping_method of a mapping sent by the on-prem system
MAX_AUDITED_CHANGES = 200
SECTION_OF_KIND = {kind: section for section, kind in ORGANIZATION_SECTIONS.items()}


class _Run:
    """What one push changed, and the problems found while applying it."""

    def __init__(self, actor):
        self.actor = actor
        self.errors: list[str] = []
        self.counts: dict[str, dict[str, int]] = {}
        self.changes: list[dict] = []

    def count(self, section: str, what: str) -> None:
        counts = self.counts.setdefault(section, {"created": 0, "updated": 0, "unchanged": 0, "deactivated": 0})
        counts[what] += 1

    def fail(self, where: str, message: str) -> None:
        self.errors.append(f"{where}: {message}")

    def assign(self, row, values: dict) -> dict:
        """Set the attributes whose value differs; ``{name: [old, new]}`` of those."""
        diff = {}
        for name, value in values.items():
            old = getattr(row, name)
            if old != value:
                diff[name] = [old, value]
                setattr(row, name, value)
        return diff

    def note(self, section: str, external_id: str, what: str, diff: dict | None = None) -> None:
        self.count(section, what)
        if what != "unchanged":
            change = {"section": section, "id": external_id, "change": what}
            self.changes.append({**change, "fields": diff} if diff else change)


def push(data, actor) -> dict:
    """Check and apply a masters payload (flushed; the caller's unit of work commits);
    returns the counts per list. Raises :class:`MastersInvalid` when the payload or a row is
    refused — the caller's rollback then leaves nothing written."""
    payload = parse(data)
    session = db.session
    run = _Run(actor)
    try:
        with session.no_autoflush:
            for kind, rows in payload.organizations.items():
                _organizations(session, run, kind, rows, payload.full)
            session.flush()
            if payload.smds_classifications is not None:
                _smds_classifications(session, run, payload.smds_classifications, payload.full)
                session.flush()
            if payload.hospital_classifications is not None:
                _hospital_classifications(session, run, payload.hospital_classifications, payload.full)
                session.flush()
            if payload.makers is not None:
                _makers(session, run, payload.makers, payload.full)
                session.flush()
    except IntegrityError:
        raise MastersInvalid([_("他の行と重複する値があるため保存できませんでした。"
                                "送信内容を確認してください。")]) from None
    if run.errors:
        raise MastersInvalid(run.errors)
    if run.changes:
        audit.record("masters.push", None, actor=actor, changes={
            "full": payload.full, "counts": run.counts, "changes": run.changes[:MAX_AUDITED_CHANGES],
            "changes_total": len(run.changes)})
    return {"full": payload.full, "changed": bool(run.changes), "counts": run.counts}


# ---------------------------------------------------------------- organizations

def _organizations(session, run: _Run, kind: str, rows: list[dict], full: bool) -> None:
    section = SECTION_OF_KIND[kind]
    existing = {o.external_id: o for o in session.scalars(
        select(Organization).where(Organization.kind == kind, Organization.external_id.isnot(None)))}
    codes = [r["code"] for r in rows]
    by_code = ({o.code: o for o in session.scalars(select(Organization).where(Organization.code.in_(codes)))}
               if codes else {})
    for item in rows:
        org = existing.get(item["id"])
        holder = by_code.get(item["code"])
        if org is None and holder is not None and holder.kind == kind and holder.external_id is None:
            org = holder  # adopt the organization made in OptiServe before the first push
        if holder is not None and holder is not org:
            run.fail(item["_where"], _("コード %(code)s は別の組織（%(name)s）で使われています。",
                                       code=item["code"], name=holder.name))
            continue
        values = {name: item[name] for name in ORGANIZATION_FIELDS}
        values.update(external_id=item["id"], is_active=True)
        if org is None:
            org = Organization(kind=kind, **values)
            session.add(org)
            run.note(section, item["id"], "created")
            continue
        diff = run.assign(org, values)
        run.note(section, item["id"], "updated" if diff else "unchanged", diff)
    if full:
        sent = {item["id"] for item in rows}
        for external_id, org in existing.items():
            if external_id not in sent and org.is_active:
                org.is_active = False
                run.note(section, external_id, "deactivated")


# ---------------------------------------------------------------- classifications

class _Places:
    """Classifications by place, loaded once and kept current during the push: by
    (hospital, level, parent, name) — the unique constraint — and, for rows never pushed, by
    normalized name (what a first push adopts)."""

    def __init__(self, rows):
        self.by_name: dict[tuple, Classification] = {}
        self.adoptable: dict[tuple, Classification] = {}
        for cls in rows:
            self.by_name.setdefault(self.name_key(cls.hospital_id, cls.level, cls.parent_id, cls.name), cls)
            if cls.external_id is None:
                self.adoptable.setdefault((cls.hospital_id, cls.level, cls.parent_id, cls.normalized_name), cls)

    @staticmethod
    def name_key(hospital_id, level, parent_id, name) -> tuple:
        return hospital_id, level, parent_id, name

    def adopt(self, hospital_id, values: dict) -> Classification | None:
        return self.adoptable.pop((hospital_id, values["level"], values["parent_id"], values["normalized_name"]), None)

    def clash(self, hospital_id, values: dict, cls) -> Classification | None:
        other = self.by_name.get(self.name_key(hospital_id, values["level"], values["parent_id"], values["name"]))
        return other if other is not None and other is not cls else None

    def moved(self, cls, old_key: tuple | None) -> None:
        if old_key is not None and self.by_name.get(old_key) is cls:
            del self.by_name[old_key]
        self.by_name[self.name_key(cls.hospital_id, cls.level, cls.parent_id, cls.name)] = cls


def _by_level(session, rows: list[dict]):
    """Rows by level, the session flushed between levels (new parents get their ids)."""
    level = None
    for item in sorted(rows, key=lambda r: r["level"]):
        if item["level"] != level:
            session.flush()
            level = item["level"]
        yield item


def _smds_classifications(session, run: _Run, rows: list[dict], full: bool) -> None:
    section = "smds_classifications"
    commons = list(session.scalars(select(Classification).where(Classification.hospital_id.is_(None))
                                   .order_by(Classification.id)))
    existing = {c.external_id: c for c in commons if c.external_id is not None}
    places = _Places(commons)
    resolved: dict[str, Classification] = {}
    for item in _by_level(session, rows):
        parent = _parent(run, item, resolved.get(item["parent_id"]) or existing.get(item["parent_id"]))
        if parent is False:
            continue
        name = normalize_text(item["name"])
        values = {"level": item["level"], "parent_id": parent.id if parent else None, "name": item["name"],
                  "normalized_name": match_key(name)[:200], "code": item["code"], "external_id": item["id"],
                  "is_active": True}
        cls = existing.get(item["id"]) or places.adopt(None, values)
        resolved[item["id"]] = _upsert_classification(session, run, section, item, cls, values, None, places)
    if full:
        _deactivate_missing(run, section, existing, {item["id"] for item in rows})


def _hospital_classifications(session, run: _Run, rows: list[dict], full: bool) -> None:
    section = "hospital_classifications"
    hospitals = {o.external_id: o for o in session.scalars(select(Organization).where(
        Organization.kind == OrganizationKind.hospital.value, Organization.external_id.isnot(None)))}
    hospital_ids = {hospitals[r["hospital_id"]].id for r in rows if r["hospital_id"] in hospitals}
    existing = {(c.hospital_id, c.external_id): c for c in session.scalars(select(Classification).where(
        Classification.hospital_id.isnot(None), Classification.external_id.isnot(None)))}
    places = _Places(session.scalars(select(Classification).where(Classification.hospital_id.in_(hospital_ids))
                                     .order_by(Classification.id))) if hospital_ids else _Places([])
    commons = {c.external_id: c for c in session.scalars(select(Classification).where(
        Classification.hospital_id.is_(None), Classification.external_id.isnot(None)))}
    resolved: dict[tuple[int, str], Classification] = {}
    sent = set()
    for item in _by_level(session, rows):
        hospital = hospitals.get(item["hospital_id"])
        if hospital is None:
            run.fail(f"{item['_where']}.hospital_id", _("医療機関 %(id)s がありません。", id=item["hospital_id"]))
            continue
        sent.add((hospital.id, item["id"]))
        parent_key = (hospital.id, item["parent_id"])
        parent = _parent(run, item, resolved.get(parent_key) or existing.get(parent_key))
        if parent is False:
            continue
        name = normalize_text(item["name"])[:200]
        values = {"level": item["level"], "parent_id": parent.id if parent else None, "name": name,
                  "normalized_name": match_key(name)[:200], "external_id": item["id"], "is_active": True}
        if "smds_id" in item:
            target = commons.get(item["smds_id"]) if item["smds_id"] else None
            if item["smds_id"] and (target is None or not target.is_active):
                run.fail(f"{item['_where']}.smds_id", _("有効なSMDS機器分類 %(id)s がありません。", id=item["smds_id"]))
                continue
            values["smds_classification_id"] = target.id if target else None
        cls = existing.get((hospital.id, item["id"])) or places.adopt(hospital.id, values)
        resolved[(hospital.id, item["id"])] = _upsert_classification(session, run, section, item, cls, values,
                                                                     hospital.id, places)
    if full:
        _deactivate_missing(run, section, existing, sent)


def _parent(run: _Run, item: dict, parent):
    """The parent classification of ``item`` (None for level 1; False: refused)."""
    if not item["parent_id"]:
        return None
    if parent is None:
        run.fail(f"{item['_where']}.parent_id", _("親の分類 %(id)s がありません。", id=item["parent_id"]))
        return False
    if parent.level != item["level"] - 1:
        run.fail(f"{item['_where']}.parent_id", _("親の分類 %(id)s の階層が合いません（親は level %(level)s）。",
                                                   id=item["parent_id"], level=parent.level))
        return False
    return parent


def _upsert_classification(session, run: _Run, section: str, item: dict, cls, values: dict, hospital_id,
                           places: _Places):
    if hospital_id is not None and places.clash(hospital_id, values, cls) is not None:
        run.fail(item["_where"], _("同じ親の下に同じ名前の分類「%(name)s」が既にあります。", name=values["name"]))
        return cls
    if cls is None:
        cls = Classification(hospital_id=hospital_id, **values)
        if values.get("smds_classification_id") is not None:
            cls.mapping_method, cls.mapped_by_id, cls.mapped_at = ONPREM, getattr(run.actor, "id", None), utc_now()
        session.add(cls)
        places.moved(cls, None)
        run.note(section, item["id"], "created")
        return cls
    old_key = places.name_key(cls.hospital_id, cls.level, cls.parent_id, cls.name)
    diff = run.assign(cls, values)
    if diff:
        places.moved(cls, old_key)
    if "smds_classification_id" in diff:
        mapped = values["smds_classification_id"] is not None
        cls.mapping_method = ONPREM if mapped else None
        cls.mapped_by_id = getattr(run.actor, "id", None) if mapped else None
        cls.mapped_at = utc_now() if mapped else None
    run.note(section, item["id"], "updated" if diff else "unchanged", diff)
    return cls


def _deactivate_missing(run: _Run, section: str, existing: dict, sent: set) -> None:
    for key, cls in existing.items():
        if key not in sent and cls.is_active:
            cls.is_active = False
            run.note(section, key[1] if isinstance(key, tuple) else key, "deactivated")


# ---------------------------------------------------------------- makers

def _makers(session, run: _Run, rows: list[dict], full: bool) -> None:
    section = "makers"
    makers = list(session.scalars(select(Maker)))
    existing = {m.external_id: m for m in makers if m.external_id is not None}
    by_name = {m.name: m for m in makers}
    owners = {a.normalized_alias: a.maker for a in session.scalars(select(MakerAlias))}
    manufacturers = {o.external_id: o for o in session.scalars(select(Organization).where(
        Organization.kind == OrganizationKind.manufacturer.value, Organization.external_id.isnot(None)))}
    for item in rows:
        maker = existing.get(item["id"])
        holder = by_name.get(item["name"])
        if maker is None and holder is not None and holder.external_id is None:
            maker = holder  # adopt the maker an upload or the seed made
        if holder is not None and holder is not maker:
            run.fail(f"{item['_where']}.name",
                     _("メーカー名「%(name)s」は別のメーカーで使われています。", name=item["name"]))
            continue
        values = {"name": item["name"], "external_id": item["id"], "is_active": True}
        if "manufacturer_id" in item:
            organization = manufacturers.get(item["manufacturer_id"]) if item["manufacturer_id"] else None
            if item["manufacturer_id"] and organization is None:
                run.fail(f"{item['_where']}.manufacturer_id",
                         _("メーカー（組織）%(id)s がありません。", id=item["manufacturer_id"]))
                continue
            values["organization_id"] = organization.id if organization else None
        created = maker is None
        if created:
            maker = Maker(**values)
            session.add(maker)
            diff = {}
        else:
            old_name = maker.name
            diff = run.assign(maker, values)
            if "name" in diff:
                by_name.pop(old_name, None)
        by_name[maker.name] = maker
        added = _aliases(session, run, item, maker, owners)
        if added:
            diff["aliases"] = added
        run.note(section, item["id"], "created" if created else "updated" if diff else "unchanged",
                 None if created else diff)
    if full:
        sent = {item["id"] for item in rows}
        for external_id, maker in existing.items():
            if external_id not in sent and maker.is_active:
                maker.is_active = False
                run.note(section, external_id, "deactivated")


def _aliases(session, run: _Run, item: dict, maker: Maker, owners: dict) -> list[str]:
    """Add the maker's spellings (its name included); a spelling an upload gave a maker of its
    own merges that maker (and its devices) into this one. Spellings are never removed."""
    added = []
    for spelling in [item["name"], *item["aliases"]]:
        key = maker_key(spelling)
        if not key:
            run.fail(f"{item['_where']}.aliases", _("表記「%(alias)s」からメーカーを識別できません。", alias=spelling))
            continue
        owner = owners.get(key)
        if owner is None:
            session.add(MakerAlias(maker=maker, alias=normalize_text(spelling)[:200], normalized_alias=key))
            owners[key] = maker
            added.append(spelling)
        elif owner is not maker:
            if owner.external_id is not None:
                run.fail(f"{item['_where']}.aliases", _("表記「%(alias)s」は別のメーカー（%(name)s）のものです。",
                                                        alias=spelling, name=owner.name))
                continue
            session.flush()  # the merge works on ids
            merge_makers(session, owner.id, maker.id, actor=run.actor)
            for other_key, other in list(owners.items()):
                if other is owner:
                    owners[other_key] = maker
            added.append(spelling)
    return added


__all__ = ["MastersInvalid", "Payload", "push"]
