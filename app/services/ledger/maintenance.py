"""Ledger maintenance (screen 5, K006): which devices count in aggregation, classification
overrides, their history, and restoring defaults. What the screen lists (pages, one device,
its history, the filter's choices) is :mod:`app.services.ledger.listing`; the filter and the
targets it shares with it are here.

Every change is set-based: one INSERT … SELECT writes the history rows (one per device whose
value changes: who, when, reason, old → new) and one UPDATE changes the devices, whatever the
target (one device, a selection, every device of a model, every device matching a filter).
An override equal to the default is stored as "no override" (DESIGN §9, decision 8);
restoring defaults removes overrides and never deletes history.

Decision (issue 10, ledgers over time): the months a device counts in are decided by the
ledgers that list it (``ledger_listing``, app/device_months.py), not by a flag. So the
default "counts in aggregation" is true for every device, also for one that the latest
ledger no longer lists — turning it false would remove the device from the past months
whose ledgers listed it. The screen shows every device the hospital ever uploaded, marks
those the latest ledger does not list (最新の台帳になし: they count only in months whose
ledger listed them), and the hospital's override is the only way to stop a listed device
from counting.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import (
    Boolean,
    Integer,
    String,
    case,
    cast,
    false,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.orm import aliased

from app.core import search
from app.core.months import utc_now
from app.extensions import db
from app.models import Classification, Equipment, EquipmentChange
from app.models.search_indexes import equipment_search_text

MAX_SEARCH = 100
MAX_REASON = 500
COUNTS, CLASSIFICATION = "counts", "classification"
STATES = ("included", "excluded", "overridden", "not_overridden")

effective_counts = func.coalesce(Equipment.override_counts, Equipment.default_counts)
effective_class_id = func.coalesce(Equipment.override_classification_id, Equipment.classification_id)


class LedgerError(ValueError):
    """A refused change; the message is shown to the user."""


@dataclass
class LedgerFilter:
    q: str = ""
    classification_id: int | None = None
    department: str | None = None
    maker: str | None = None
    model: str | None = None
    state: str | None = None

    @classmethod
    def from_mapping(cls, data) -> LedgerFilter:
        def text(name):
            value = (data.get(name) or "").strip()
            return value[:MAX_SEARCH] or None

        try:
            classification_id = int(data.get("classification_id") or 0) or None
        except (TypeError, ValueError):
            classification_id = None
        state = data.get("state") if data.get("state") in STATES else None
        return cls(q=text("q") or "", classification_id=classification_id, department=text("department"),
                   maker=text("maker"), model=text("model"), state=state)

    def as_params(self) -> dict:
        return {k: v for k, v in {
            "q": self.q, "classification_id": self.classification_id, "department": self.department,
            "maker": self.maker, "model": self.model, "state": self.state,
        }.items() if v}


@dataclass
class Target:
    """Which devices a change applies to; always within one hospital."""

    ids: list[int] | None = None
    model_number: str | None = None
    filter: LedgerFilter | None = None
    everything: bool = False


def filter_clauses(hospital_id: int, flt: LedgerFilter | None) -> list:
    clauses = [Equipment.hospital_id == hospital_id]
    if flt is None:
        return clauses
    if flt.q:
        # width and case ignored on both sides (app.core.search): one folded text per device.
        # The classifications the text names are read first (a handful of ids), so that on
        # PostgreSQL "text or classification" is two index look-ups OR-ed (the trigram index,
        # ix_equipment_effective_class) — an IN (subquery) there forced a fold of every device.
        text_matches = search.contains(equipment_search_text(Equipment.__table__), flt.q)
        # Only this hospital's classifications (and shared ones) can be a device's: the id
        # list stays short however many hospitals name a class alike.
        class_ids = list(db.session.scalars(select(Classification.id).where(
            own_or_master(hospital_id), search.contains(Classification.name, flt.q))))
        clauses.append(or_(text_matches, effective_class_id.in_(class_ids)) if class_ids else text_matches)
    if flt.classification_id:
        # a class and the classes under it, as screen 6 counts a class's devices
        clauses.append(effective_class_id.in_(with_descendants(hospital_id, flt.classification_id)))
    if flt.department:
        clauses.append(Equipment.department_use == flt.department)
    if flt.maker:
        clauses.append(Equipment.maker_name == flt.maker)
    if flt.model:
        clauses.append(search.contains(Equipment.model_number, flt.model))
    overridden = or_(Equipment.override_counts.is_not(None), Equipment.override_classification_id.is_not(None))
    if flt.state == "included":
        clauses.append(effective_counts == true())
    elif flt.state == "excluded":
        clauses.append(effective_counts == false())
    elif flt.state == "overridden":
        clauses.append(overridden)
    elif flt.state == "not_overridden":
        clauses.append(~overridden)
    return clauses


def target_clauses(hospital_id: int, target: Target) -> list:
    if target.ids is not None:
        ids = sorted({int(i) for i in target.ids})
        if not ids:
            raise LedgerError(_("機器を選択してください。"))
        return [Equipment.hospital_id == hospital_id, Equipment.id.in_(ids)]
    if target.model_number is not None:
        if not target.model_number.strip():
            raise LedgerError(_("モデル番号を指定してください。"))
        return [Equipment.hospital_id == hospital_id, Equipment.model_number == target.model_number.strip()]
    if target.filter is not None or target.everything:
        return filter_clauses(hospital_id, target.filter)
    raise LedgerError(_("変更の対象を指定してください。"))


# ---------------------------------------------------------------- what a device may be set to


OPTIONS_PAGE = 50


def own_or_master(hospital_id: int | None):
    """The hospital's own classifications and the common master's (None: the master's)."""
    return or_(Classification.hospital_id.is_(None), Classification.hospital_id == hospital_id)


def _choosable(hospital_id: int):
    """The classifications a device of the hospital may be set to: active, its own or the master's."""
    return Classification.is_active.is_(True), own_or_master(hospital_id)


# the hospital's own first, then the master; each by level and name (id: pages never overlap)
CHOICE_ORDER = (Classification.hospital_id.is_(None), Classification.level, Classification.name, Classification.id)


def with_descendants(hospital_id: int | None, classification_id: int, session=None) -> list[int]:
    """The class (the hospital's own or the master's; ``hospital_id`` None: the master's only)
    and every class under it, in one statement."""
    tree = select(Classification.id).where(Classification.id == classification_id, own_or_master(hospital_id)) \
        .cte("tree", recursive=True)
    child = aliased(Classification)
    tree = tree.union(select(child.id).where(  # UNION, not ALL: a cycle in the data cannot loop
        child.parent_id == tree.c.id, or_(child.hospital_id.is_(None), child.hospital_id == hospital_id)))
    return list((session or db.session).scalars(select(tree.c.id)))


# an option's name with its parents' ("輸液ポンプ › 輸液ポンプ"): a hospital often names a class
# like its parent, and the two must be told apart
_parent, _grandparent = aliased(Classification, name="parent_class"), aliased(Classification, name="grandparent_class")
_OPTION_COLUMNS = (Classification.id, Classification.name, Classification.hospital_id,
                   _parent.name.label("parent_name"), _grandparent.name.label("grandparent_name"))


def _options_statement(hospital_id: int):
    return (select(*_OPTION_COLUMNS)
            .outerjoin(_parent, _parent.id == Classification.parent_id)
            .outerjoin(_grandparent, _grandparent.id == _parent.parent_id)
            .where(*_choosable(hospital_id)))


def _option(row) -> tuple[int, str, bool]:
    path = " › ".join(name for name in (row.grandparent_name, row.parent_name, row.name) if name)
    return row.id, path, row.hospital_id is not None


def classification_options(hospital_id: int, text: str = "", page: int = 1,
                           size: int = OPTIONS_PAGE) -> tuple[list[tuple[int, str, bool]], bool]:
    """One page of (id, name with its parents', the hospital's own) of the classifications a
    device of the hospital may be set to (:func:`_choosable`) whose name contains ``text``
    (width and case ignored), and whether more follow: the ledger screens' type-ahead, which
    replaced ~1,000 options sent with every page."""
    page = max(1, min(int(page or 1), 10_000))
    statement = _options_statement(hospital_id)
    if (text or "").strip():
        statement = statement.where(search.contains(Classification.name, text.strip()[:MAX_SEARCH]))
    rows = db.session.execute(statement.order_by(*CHOICE_ORDER).limit(size + 1).offset((page - 1) * size)).all()
    return [_option(row) for row in rows[:size]], len(rows) > size


def classification_option(hospital_id: int, classification_id) -> tuple[int, str, bool] | None:
    """(id, name with its parents', the hospital's own) of a classification a device of the
    hospital may be set to, or None (unknown, inactive or another hospital's)."""
    try:
        classification_id = int(classification_id)
    except (TypeError, ValueError):
        return None
    row = db.session.execute(_options_statement(hospital_id).where(Classification.id == classification_id)).first()
    return None if row is None else _option(row)


# ---------------------------------------------------------------- changing


def _reason(reason: str | None, required: bool = True, default: str = "") -> str:
    text = (reason or "").strip()
    if not text:
        if required:
            raise LedgerError(_("変更理由を入力してください。"))
        text = default
    if len(text) > MAX_REASON:
        raise LedgerError(_("変更理由は500文字以内で入力してください。"))
    return text


def _counts_text(expr):
    return case((expr == true(), literal("true")), else_=literal("false"))


def _record(hospital_id, where, fieldname, old_expr, new_expr, reason, user_id, now) -> int:
    """INSERT … SELECT one history row per device matching ``where``."""
    rows = select(
        Equipment.id, Equipment.hospital_id, literal(user_id, type_=Integer) if user_id else null(),
        literal(now), literal(fieldname), cast(old_expr, String), cast(new_expr, String), literal(reason),
    ).where(*where)
    result = db.session.execute(insert(EquipmentChange).from_select(
        ["equipment_id", "hospital_id", "changed_by_id", "changed_at", "field", "old_value",
         "new_value", "reason"], rows,
    ))
    return result.rowcount or 0


def _class_name(expr):
    return select(Classification.name).where(Classification.id == expr).scalar_subquery()


def set_counts(hospital_id, target: Target, value: bool, reason, user_id, now) -> int:
    value = bool(value)
    where = target_clauses(hospital_id, target) + [effective_counts != value]
    changed = _record(hospital_id, where, COUNTS, _counts_text(effective_counts),
                      literal("true" if value else "false"), reason, user_id, now)
    db.session.execute(
        update(Equipment).where(*where)
        .values(override_counts=case((Equipment.default_counts == value, null()), else_=literal(value, Boolean)),
                updated_on=now)
        .execution_options(synchronize_session=False)
    )
    return changed


def set_classification(hospital_id, target: Target, classification_id: int, reason, user_id, now) -> int:
    if classification_option(hospital_id, classification_id) is None:
        raise LedgerError(_("機器分類を一覧から選択してください。"))
    where = target_clauses(hospital_id, target) + [
        or_(effective_class_id.is_(None), effective_class_id != classification_id)
    ]
    new_name = db.session.get(Classification, classification_id).name
    changed = _record(hospital_id, where, CLASSIFICATION, _class_name(effective_class_id),
                      literal(new_name), reason, user_id, now)
    db.session.execute(
        update(Equipment).where(*where)
        .values(override_classification_id=case(
            (Equipment.classification_id == classification_id, null()), else_=literal(classification_id)),
            updated_on=now)
        .execution_options(synchronize_session=False)
    )
    return changed


def change(hospital_id: int, target: Target, *, counts: bool | None = None,
           classification_id: int | None = None, reason: str | None = None, user_id: int | None = None) -> int:
    """Apply a change to the target's devices; returns how many device values changed."""
    if counts is None and classification_id is None:
        raise LedgerError(_("変更する内容（集計対象・機器分類）を選択してください。"))
    reason = _reason(reason)
    now = utc_now()
    changed = 0
    if counts is not None:
        changed += set_counts(hospital_id, target, counts, reason, user_id, now)
    if classification_id is not None:
        changed += set_classification(hospital_id, target, int(classification_id), reason, user_id, now)
    return changed


def restore_defaults(hospital_id: int, target: Target, reason: str | None = None,
                     user_id: int | None = None) -> int:
    """Remove the overrides of the target's devices; history is kept (and added to)."""
    reason = _reason(reason, required=False, default=_("デフォルトに戻す"))
    now = utc_now()
    base = target_clauses(hospital_id, target)
    counts_where = base + [Equipment.override_counts.is_not(None)]
    changed = _record(hospital_id, counts_where, COUNTS, _counts_text(effective_counts),
                      _counts_text(Equipment.default_counts), reason, user_id, now)
    class_where = base + [Equipment.override_classification_id.is_not(None)]
    changed += _record(hospital_id, class_where, CLASSIFICATION, _class_name(effective_class_id),
                       _class_name(Equipment.classification_id), reason, user_id, now)
    db.session.execute(
        update(Equipment)
        .where(*base, or_(Equipment.override_counts.is_not(None), Equipment.override_classification_id.is_not(None)))
        .values(override_counts=None, override_classification_id=None, updated_on=now)
        .execution_options(synchronize_session=False)
    )
    return changed


def counts_label(value: str | None) -> str:
    return {"true": _("集計対象"), "false": _("集計対象外")}.get(value or "", value or "")

