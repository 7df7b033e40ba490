"""Writing the change log: one mechanism, SQLAlchemy session events, for every write path.

What is tracked (the things the on-prem systems pull, see :mod:`app.services.sync.payloads`):
organizations, users (no secrets), devices' ledger settings (``override_counts``,
``override_classification_id``), hospitals' classifications (their SMDS mapping), report
selections (per hospital, with its grouping), dealer permissions and manufacturers'
selections (per manufacturer).

How:
- ``after_flush`` notes the tracked rows the unit of work inserted, deleted, or updated in a
  watched attribute (a login that only bumps ``login_count`` is not a change);
- ``do_orm_execute`` notes the rows an ORM bulk ``update()``/``delete()`` will touch (a
  ``SELECT`` with the statement's own ``WHERE``, run first in the same transaction), and the
  ids an ORM ``insert()`` returns;
- ``before_commit`` (outermost transaction only) flushes, reads the final state of every noted
  thing and inserts one ``sync_change`` row per thing, in that same transaction — so a change
  and its log entry commit or roll back together; the end of the outermost transaction forgets the notes.
Writes through plain SQL text (the ingest's COPY of ledger rows) are not seen; none of them
writes a tracked column (ingest never sets overrides), and new code must not either.

Ordering (the cursor must never skip a change committed out of order):
``seq`` is allocated by the database when the rows are inserted. On PostgreSQL two
transactions could take seq 10 and 11 and commit 11 first; a reader at that moment would
hand out 11 and move past 10 for good. So the insert first takes a transaction-level
advisory lock (``pg_advisory_xact_lock``), held until COMMIT: change-writing transactions
allocate their seqs one after another and each commits before the next one allocates, so
commit order = seq order and any committed seq implies every lower seq is committed (or rolled
back, leaving a permanent gap). PostgreSQL makes a commit visible before it releases the
transaction's locks, so a reader that sees 11 also sees 10. We chose this over filtering by
``pg_current_snapshot()`` xmin because an xid does not bound the seq a running transaction
will take (an older xid may allocate a later seq), and the lock is held only for the few
milliseconds between ``before_commit`` and COMMIT, payloads being read before it is taken.
It is always the last lock a transaction takes (the audit chain's advisory lock is taken in
the transaction's body, never after this one), so the two cannot deadlock.
On SQLite a write transaction holds the database's single write lock from its first write
to COMMIT, which serializes the same way by itself.
"""
from __future__ import annotations

import contextlib

from sqlalchemy import event, insert, inspect, select, text
from sqlalchemy.orm import Session

from app.core.months import utc_now
from app.models import (
    Classification,
    DealerPermission,
    Equipment,
    ManufacturerSelection,
    Organization,
    ReportSelection,
    SyncChange,
    User,
)
from app.services.sync import payloads

ADVISORY_LOCK = 0x5F5E_C0DE  # the one lock id serializing change-log writers (PostgreSQL)
NOTES = "sync_changes"
SUPPRESS = "sync_changes_suppressed"

# class → (entity, watched attributes or None for any column, how to get the thing's id)
WATCHED = {
    Organization: ("organization", set(payloads.ORGANIZATION_FIELDS), lambda o: o.id),
    User: ("user", set(payloads.USER_FIELDS) | {"organization_id", "roles"}, lambda u: u.id),
    Equipment: ("ledger_setting", {"override_counts", "override_classification_id"}, lambda e: e.id),
    Classification: ("classification", {"name", "parent_id", "level", "code", "is_active",
                                        "smds_classification_id", "mapping_method"}, lambda c: c.id),
    ReportSelection: ("report_selection", None, lambda r: r.hospital_id),
    DealerPermission: ("dealer_permission", {"level", "reason", "hospital_id", "dealer_user_id"}, lambda p: p.id),
    ManufacturerSelection: ("manufacturer_selection", None, lambda m: m.manufacturer_id),
}
# Bulk statements: the column whose values name the touched things.
BULK_KEY = {
    Organization: Organization.id, User: User.id, Equipment: Equipment.id, Classification: Classification.id,
    ReportSelection: ReportSelection.hospital_id, DealerPermission: DealerPermission.id,
    ManufacturerSelection: ManufacturerSelection.manufacturer_id,
}


@contextlib.contextmanager
def suppressed(session):
    """No change log for what is written inside: the sync client applying OptiServe's own
    changes to the on-prem database would otherwise log them again (an echo, and half the
    cost of a pull). Whatever else the same transaction changes is not logged either."""
    session.info[SUPPRESS] = True
    try:
        yield
    finally:
        session.info.pop(SUPPRESS, None)


def _notes(session) -> dict[str, dict[int, str | None]]:
    """entity → {local id: key to use if the thing is gone at commit (None: unknown)}."""
    return session.info.setdefault(NOTES, {})


def note(session, entity: str, ident: int | None, gone_key: str | None = None) -> None:
    if ident is None or session.info.get(SUPPRESS):
        return
    known = _notes(session).setdefault(entity, {})
    if gone_key is not None or ident not in known:
        known[ident] = gone_key


def _changed(obj, watched) -> bool:
    if watched is None:
        return True
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in watched if name in state.attrs)


def _gone_key(obj) -> str | None:
    if isinstance(obj, Organization):
        return obj.code
    if isinstance(obj, User):
        return obj.username
    return None


def _after_flush(session, _context) -> None:
    if session.info.get(SUPPRESS):
        return
    for obj in session.new:
        spec = WATCHED.get(type(obj))
        if spec:
            _note_object(session, obj, spec)
    for obj in session.dirty:
        spec = WATCHED.get(type(obj))
        if spec and _changed(obj, spec[1]):
            _note_object(session, obj, spec)
    for obj in session.deleted:
        spec = WATCHED.get(type(obj))
        if spec:
            note(session, spec[0], spec[2](obj), _gone_key(obj) or f"#{spec[2](obj)}")


def _note_object(session, obj, spec) -> None:
    entity, _watched, ident = spec
    if isinstance(obj, Classification) and obj.hospital_id is None:
        return  # the SMDS master: pushed from on-prem, not pulled
    note(session, entity, ident(obj))
    if isinstance(obj, Organization) and _changed(obj, {"report_grouping"}):
        note(session, "report_selection", obj.id)


def _bulk_entity(orm_state):
    mapper = orm_state.bind_mapper
    return mapper.class_ if mapper is not None and mapper.class_ in WATCHED else None


def _do_orm_execute(orm_state) -> None:
    if not (orm_state.is_update or orm_state.is_delete or orm_state.is_insert):
        return
    cls = _bulk_entity(orm_state)
    if cls is None or orm_state.session.info.get(SUPPRESS):
        return
    entity = WATCHED[cls][0]
    statement = orm_state.statement
    session = orm_state.session
    if orm_state.is_insert:
        if not getattr(statement, "_returning", ()):  # no ids to note: a tracked bulk insert must return them
            return None
        result = orm_state.invoke_statement().freeze()
        for row in result().all():
            if cls is Classification or cls is Equipment:
                note(session, entity, row[0])
        return result()
    if orm_state.is_update and isinstance(orm_state.parameters, list):  # ORM bulk UPDATE by primary key
        pk = inspect(cls).primary_key[0]
        ids = [params[pk.key] for params in orm_state.parameters if pk.key in params]
        if cls is Equipment and not set().union(*orm_state.parameters) & WATCHED[Equipment][1]:
            return None
        if BULK_KEY[cls].key == pk.key:
            for ident in ids:
                note(session, entity, ident)
            return None
        for start in range(0, len(ids), 900):
            for (ident,) in session.execute(select(BULK_KEY[cls]).where(pk.in_(ids[start:start + 900]))):
                note(session, entity, ident)
        return None
    if cls is Equipment and orm_state.is_update:
        columns = {getattr(c, "key", str(c)) for c in getattr(statement, "_values", None) or {}}
        if columns and not columns & WATCHED[Equipment][1]:
            return None  # e.g. a maker merge: no ledger setting changes
    query = select(BULK_KEY[cls]).distinct()
    if statement.whereclause is not None:
        query = query.where(statement.whereclause)
    for (ident,) in session.execute(query):
        note(session, entity, ident)
    return None


def _before_commit(session) -> None:
    if session.in_nested_transaction():
        return  # written once, by the outermost commit
    session.flush()  # what is still pending is part of this commit: note it first
    if not session.info.get(NOTES):
        return
    notes = session.info.pop(NOTES, {})
    write_changes(session, notes)


def write_changes(session, notes: dict[str, dict[int, str | None]]) -> int:
    """Insert one change row per noted thing (its state now); returns how many."""
    now = utc_now()
    paths = payloads.ClassificationPaths(session)
    rows = []
    for entity in payloads.ENTITIES:
        noted = notes.get(entity)
        if not noted:
            continue
        builder = payloads.BUILDERS[entity]
        found = (builder(session, noted, paths) if entity in ("ledger_setting", "classification", "report_selection")
                 else builder(session, noted))
        for ident in sorted(noted):
            if ident in found:
                key, org_id, payload = found[ident]
            else:
                key, org_id, payload = noted[ident] or f"#{ident}", None, None
            rows.append({"entity": entity, "key": key[:400], "organization_id": org_id,
                         "payload": payload, "changed_at": now})
    if not rows:
        return 0
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": ADVISORY_LOCK})
    connection.execute(insert(SyncChange.__table__), rows)
    return len(rows)


def _after_transaction_end(session, transaction) -> None:
    if transaction.parent is None and not transaction.nested:  # committed (written) or rolled back
        session.info.pop(NOTES, None)


def install() -> None:
    """Listen on every ORM session (idempotent)."""
    for name, handler in (("after_flush", _after_flush), ("do_orm_execute", _do_orm_execute),
                          ("before_commit", _before_commit), ("after_transaction_end", _after_transaction_end)):
        if not event.contains(Session, name, handler):
            event.listen(Session, name, handler)
