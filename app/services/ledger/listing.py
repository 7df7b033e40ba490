"""What screen 5 (機器台帳のメンテナンス) and its API show: a page of the hospital's devices for a
filter (:class:`~app.services.ledger.maintenance.LedgerFilter`), every row for the export, one
device with its history and who changed it, and the filter's choices. Read-only; the changes
are :mod:`app.services.ledger.maintenance`."""
from __future__ import annotations

import datetime as dt
import functools

from sqlalchemy import bindparam, func, literal, select, union_all
from sqlalchemy.orm import aliased

from app.core.months import jst_today
from app.extensions import db
from app.models import Classification, Equipment, EquipmentChange, LedgerListing
from app.services.ingest.activity import active_devices
from app.services.ledger.device_months import latest_ledger_month
from app.services.ledger.maintenance import (
    LedgerFilter,
    effective_class_id,
    effective_counts,
    filter_clauses,
)

PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
# Beyond any hospital's ledger (10 million pages): a larger number is past the end anyway.
MAX_PAGE_NUMBER = 10_000_000
# what device_row reads of a device (besides the two properties, see _rows)
LISTED_COLUMNS = (Equipment.id, Equipment.override_counts, Equipment.default_counts, Equipment.department_use,
                  Equipment.device_number, Equipment.product_name, Equipment.model_number,
                  Equipment.serial_number, Equipment.maker_name, Equipment.delivered_on, Equipment.expires_on,
                  Equipment.classification_id, Equipment.override_classification_id, Equipment.disposed_on)
# a device's classification by default and in effect (built once: an alias is not free)
default_class = aliased(Classification, name="default_class")
effective_class = aliased(Classification, name="effective_class")
# the list's order (ix_equipment_list_order)
ORDER = (Equipment.department_use, Equipment.device_number, Equipment.id)


def _rows(hospital_id: int, ids: list[int], as_of: dt.date) -> tuple[list[dict], dt.date | None]:
    """The list's rows of ``ids`` (in the list's order), with both class names, whether the
    latest ledger lists each device and the activity marker (as of ``as_of``, today in Japan):
    index probes for one page's devices, never a subquery per device of the hospital. Also the
    hospital's latest ledger month (None: no ledger, or no rows)."""
    if not ids:
        return [], None
    # Plain rows of the columns a row shows: loading 100 ORM objects was the page's largest cost
    # in Python. The two Equipment properties device_row reads come from the database under the
    # same names. The latest ledger month is an uncorrelated subquery: computed once.
    latest = select(func.max(LedgerListing.month)).where(LedgerListing.hospital_id == hospital_id).scalar_subquery()
    in_latest = select(LedgerListing.equipment_id).where(
        LedgerListing.hospital_id == hospital_id, LedgerListing.month == latest,
        LedgerListing.equipment_id == Equipment.id).exists()
    found = db.session.execute(
        select(*LISTED_COLUMNS, effective_counts.label("counts_in_aggregation"),
               effective_class_id.label("effective_classification_id"),
               default_class.name.label("default_class_name"), effective_class.name.label("effective_class_name"),
               in_latest.label("in_latest_ledger"),
               latest.label("latest_ledger_month"))
        .outerjoin(default_class, default_class.id == Equipment.classification_id)
        .outerjoin(effective_class, effective_class.id == effective_class_id)
        .where(Equipment.hospital_id == hospital_id, Equipment.id.in_(ids))).all()
    by_id = {row.id: row for row in found}
    latest = found[0].latest_ledger_month if found else None
    # Its own look-up by the page's ids: as a column, PostgreSQL hashes every lending instead.
    active = active_devices(db.session, list(by_id), as_of)
    # no ledger yet: whether a ledger lists a device is unknown (None), not "no"
    return [device_row(row, row.default_class_name, row.effective_class_name, row.id in active,
                       row.in_latest_ledger if latest else None)
            for row in (by_id[i] for i in ids if i in by_id)], latest


def _count(clauses: list) -> int:
    return db.session.scalar(select(func.count()).select_from(Equipment).where(*clauses)) or 0


def _page_ids(clauses: list, number: int, size: int) -> list[int]:
    return list(db.session.scalars(select(Equipment.id).where(*clauses).order_by(*ORDER)
                                   .limit(size).offset((number - 1) * size)))


def _page_ids_and_count(clauses: list, number: int, size: int) -> tuple[list[int], int | None]:
    """The page's ids and the count of every match from one scan (a window count), so a
    text search folds each device's text once rather than once for the count and again for
    the page. The count is None for a page past the last one (no row carries it)."""
    # The matches first, as their own (materialized) step: with the ORDER BY … LIMIT on the
    # same level PostgreSQL walks ix_equipment_list_order and folds every device's text, as
    # it does not cost the window count's reading of every match; alone, the matches come
    # from the trigram index (app/models/search_indexes.py).
    matches = (select(Equipment.id, Equipment.department_use, Equipment.device_number).where(*clauses)
               .cte("matches").prefix_with("MATERIALIZED", dialect="postgresql"))
    found = db.session.execute(
        select(matches.c.id, func.count().over())
        .order_by(matches.c.department_use, matches.c.device_number, matches.c.id)
        .limit(size).offset((number - 1) * size)).all()
    if not found:
        return [], (0 if number == 1 else None)
    return [row[0] for row in found], found[0][1]


def page(hospital_id: int, flt: LedgerFilter, number: int = 1, size: int = PAGE_SIZE) -> dict:
    """One page of the list: its ids in order and the count of every match, then only those
    rows' details. Unsearched, a count and an index scan of ix_equipment_list_order (cheaper
    than a window over every device); searched, one scan for both. A page past the end
    shows the last page."""
    size = max(1, min(int(size or PAGE_SIZE), MAX_PAGE_SIZE))
    clauses = filter_clauses(hospital_id, flt)
    # Any page past the end shows the last one; capped first, so that a typed ?page=<20 digits>
    # never becomes an OFFSET the database cannot hold.
    number = max(1, min(int(number or 1), MAX_PAGE_NUMBER))
    ids, total = _page_ids_and_count(clauses, number, size) if (flt.q or flt.model) else ([], None)
    if total is None:
        total = _count(clauses)
        number = min(number, max(1, -(-total // size)))
        ids = _page_ids(clauses, number, size)
    pages = max(1, -(-total // size))
    rows, latest = _rows(hospital_id, ids, jst_today())
    if not rows:  # the rows carry the latest ledger month; an empty page asks for it
        latest = latest_ledger_month(db.session, hospital_id)
    return {"total": total, "page": number, "pages": pages, "page_size": size,
            "rows": rows, "latest_ledger_month": latest}


def all_rows(hospital_id: int, flt: LedgerFilter, chunk: int = 1000) -> list[dict]:
    """Every row the list shows for ``flt`` (all pages), in the list's order: the CSV export."""
    ids = list(db.session.scalars(select(Equipment.id).where(*filter_clauses(hospital_id, flt)).order_by(*ORDER)))
    rows, today = [], jst_today()
    for start in range(0, len(ids), chunk):
        rows.extend(_rows(hospital_id, ids[start:start + chunk], today)[0])
    return rows


def device_row(e, default_class_name=None, effective_class_name=None, active=None,
               in_latest_ledger=None) -> dict:
    """One device as the list and the API show it; ``e`` is an Equipment or a row of
    LISTED_COLUMNS with the two properties (:func:`_rows`)."""
    return {
        "id": e.id,
        "counts": e.counts_in_aggregation,
        "default_counts": e.default_counts,
        "override_counts": e.override_counts,
        "department": e.department_use,
        "device_number": e.device_number,
        "product_name": e.product_name,
        "model_number": e.model_number,
        "serial_number": e.serial_number,
        "maker_name": e.maker_name,
        "delivered_on": e.delivered_on.isoformat() if e.delivered_on else None,
        "expires_on": e.expires_on.isoformat() if e.expires_on else None,
        "classification_id": e.effective_classification_id,
        "classification": effective_class_name,
        "default_classification_id": e.classification_id,
        "default_classification": default_class_name,
        "override_classification_id": e.override_classification_id,
        "overridden": e.override_counts is not None or e.override_classification_id is not None,
        "has_activity": None if active is None else bool(active),
        "in_latest_ledger": None if in_latest_ledger is None else bool(in_latest_ledger),
        "disposed_on": e.disposed_on.isoformat() if e.disposed_on else None,
    }


def device(hospital_id: int, equipment_id) -> Equipment | None:
    try:
        equipment_id = int(equipment_id)
    except (TypeError, ValueError):
        return None
    return db.session.scalar(
        select(Equipment).where(Equipment.id == equipment_id, Equipment.hospital_id == hospital_id))


def history(hospital_id: int, equipment_id: int) -> list[EquipmentChange]:
    return list(db.session.scalars(
        select(EquipmentChange)
        .where(EquipmentChange.hospital_id == hospital_id, EquipmentChange.equipment_id == equipment_id)
        .order_by(EquipmentChange.changed_at.desc(), EquipmentChange.id.desc())
    ))


def editor_names(changes) -> dict[int, str]:
    """Names of the users who made ``changes`` (the history shows who, not a user id)."""
    from app.models import User

    ids = {c.changed_by_id for c in changes if c.changed_by_id is not None}
    if not ids:
        return {}
    return {user_id: name or "" for user_id, name in
            db.session.execute(select(User.id, User.first_name).where(User.id.in_(sorted(ids))))}


def filter_choices(hospital_id: int) -> dict:
    """Values for the filter dropdowns: the hospital's departments and makers (the
    classifications are a type-ahead: maintenance.classification_options)."""
    choices = {"departments": [], "makers": []}
    for kind, value in db.session.execute(_filter_choices_statement(), {"hospital_id": hospital_id}):
        if value:
            choices[kind].append(value)
    return choices


def _distinct_values(column, name: str):
    # A skip scan (one index probe per value, ix_equipment_list_order /
    # ix_equipment_hospital_maker) rather than DISTINCT, which read every device of the
    # hospital on each page (~6 ms each for 15,000 devices): a recursive CTE takes the next
    # value after the last one until there is none. Same values, same (collation) order.
    scoped = Equipment.hospital_id == bindparam("hospital_id")
    values = select(func.min(column).label("value")).where(scoped).cte(name, recursive=True)
    following = select(func.min(column)).where(scoped, column > values.c.value).scalar_subquery()
    return values.union_all(select(following).where(values.c.value.is_not(None)))


@functools.cache
def _filter_choices_statement():
    """Both skip scans in one statement, with the hospital as a parameter; built once (building
    it was not free)."""
    departments = _distinct_values(Equipment.department_use, "departments")
    makers = _distinct_values(Equipment.maker_name, "makers")
    both = union_all(select(literal("departments").label("kind"), departments.c.value),
                     select(literal("makers").label("kind"), makers.c.value)).subquery()
    return select(both.c.kind, both.c.value).where(both.c.value.is_not(None)).order_by(both.c.kind, both.c.value)
