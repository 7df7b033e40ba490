"""Bulk writes of one file's valid rows, inside the caller's transaction.

SQLite gets one ``executemany`` per statement; PostgreSQL gets ``COPY`` (straight into
lending / failure, into a temporary staging table for the ledger upsert). Nothing here
commits: the pipeline commits the rows together with the upload's outcome, so a failure
anywhere leaves the previous data as it was.

Replacing:
- ledger: devices are upserted by (hospital, device number); only the columns the file
  has are updated, so a file without a classification column keeps the devices'
  classifications. A ledger of an older month than the one a device's values came from
  (``upload_id``) adds devices but does not overwrite newer values. What the ledger lists
  is written to ``ledger_listing`` for its month (replacing that month's listing, nothing
  else): that, not a flag, decides the months a device counts in (app/device_months.py), so
  devices missing from the new ledger are kept, with their history, and keep counting in
  the months whose ledger listed them. ``default_counts`` stays true; overrides are never
  touched.
- lending / failure: reconciled, never "delete the month and insert" (DESIGN.md §5 "Events
  across files", docs/figures.md). One event is one row, keyed by (hospital, device, start
  to the minute); the file's rows are staged (COPY / executemany into a temporary table)
  and merged with one ``INSERT … ON CONFLICT DO UPDATE``, then one ``DELETE`` removes the
  events starting in the file's month that the file no longer lists (the file for M is
  authoritative for them) — run only when the hospital has more events starting in M than
  the file lists there (an index count; a month's first upload has none to remove). On a
  conflict: a blank end never replaces a known one; between two known ends the later upload
  wins (``end_upload_id``); a blank end extends ``open_until`` to the end of the file's
  month (an open event counts up to there, and no further); a blank text keeps the old one.
"""
from __future__ import annotations

import datetime as dt
import io
import itertools

from sqlalchemy import Date, DateTime, bindparam
from sqlalchemy import text as sql

from app.core.months import first_of_month, month_bounds, utc_now
from app.core.normalize import model_key

LEDGER_COLUMNS = (
    "hospital_id", "device_number", "device_key", "classification_id", "product_name", "model_number",
    "model_key", "maker_id", "maker_name", "serial_number", "department_manage", "department_use",
    "department_purchase", "purchased_on", "delivered_on", "asset_number", "jmdn_code",
    "expires_on", "disposed_on", "default_counts", "upload_id", "updated_on",
)
# Field of the file → columns it sets (maker and classification resolve to ids too).
FIELD_COLUMNS = {
    "maker_name": ("maker_name", "maker_id"),
    "model_number": ("model_number", "model_key"),
    "classification": ("classification_id",),
    "classification_1": ("classification_id",),
    "classification_2": ("classification_id",),
    "classification_3": ("classification_id",),
}
# device_number: the device is matched on its key; the newest ledger's spelling is shown.
ALWAYS_UPDATED = ("device_number", "default_counts", "upload_id", "updated_on")
# kind → (start, end, text) columns; the start is part of the event's key.
EVENT_FIELDS = {
    "lending": ("lent_at", "returned_at", "department"),
    "failure": ("failed_at", "repaired_at", "description"),
}
COPY_CHUNK = 20_000


def _dialect(session) -> str:
    return session.get_bind().dialect.name


def load_devices(session, hospital_id: int) -> dict[str, int]:
    """Device key (app.core.normalize.device_key) → equipment id."""
    rows = session.execute(
        sql("SELECT device_key, id FROM equipment WHERE hospital_id = :h"), {"h": hospital_id}
    )
    return dict(rows.all())


def updated_columns(mapped_fields) -> list[str]:
    columns: dict[str, None] = {}
    for name in mapped_fields:
        if name == "device_number":
            continue
        for column in FIELD_COLUMNS.get(name, (name,)):
            if column in LEDGER_COLUMNS:
                columns[column] = None
    return [*columns, *ALWAYS_UPDATED]


# ---------------------------------------------------------------- value encoding


def _sqlite_value(value):
    if isinstance(value, dt.datetime):
        return value.isoformat(" ", "microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_value(value) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dt.datetime):
        return value.isoformat(" ")
    return str(value)


def _copy(session, table: str, columns, rows) -> None:
    """COPY ``rows`` (tuples) into ``table`` in chunks, on the session's own connection."""
    cursor = session.connection().connection.dbapi_connection.cursor()
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"

    def send(buffer: io.StringIO) -> None:
        if hasattr(cursor, "copy_expert"):  # psycopg2
            buffer.seek(0)
            cursor.copy_expert(statement, buffer)
        else:  # psycopg 3
            with cursor.copy(statement) as copy:
                copy.write(buffer.getvalue())

    try:
        buffer = io.StringIO()
        count = 0
        for row in rows:
            buffer.write("\t".join([_copy_value(v) for v in row]))
            buffer.write("\n")
            count += 1
            if count >= COPY_CHUNK:
                send(buffer)
                buffer, count = io.StringIO(), 0
        if count:
            send(buffer)
    finally:
        cursor.close()


def _event_copy_lines(records):
    """COPY text lines of (equipment id, start, end, text) rows, built directly (the generic
    per-value :func:`_copy_value` is the hot loop of a 100,000-row lending file)."""
    escapes, null = _COPY_ESCAPES, "\\N"
    for equipment_id, start, end, note in records:
        end_text = null if end is None else end.isoformat(" ")
        note_text = null if note is None else note.translate(escapes)
        yield f"{equipment_id}\t{start.isoformat(' ')}\t{end_text}\t{note_text}\n"


def _copy_lines(session, table: str, columns, lines) -> None:
    """COPY already formatted text ``lines`` (each ending in a newline) into ``table``."""
    cursor = session.connection().connection.dbapi_connection.cursor()
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    try:
        while True:
            chunk = list(itertools.islice(lines, COPY_CHUNK))
            if not chunk:
                break
            text = "".join(chunk)
            if hasattr(cursor, "copy_expert"):  # psycopg2
                cursor.copy_expert(statement, io.StringIO(text))
            else:  # psycopg 3
                with cursor.copy(statement) as copy:
                    copy.write(text)
    finally:
        cursor.close()


# Positions in a LEDGER_COLUMNS row of the values SQLite needs as text (dates, the update
# time); every other value is a str, an int, a bool or None, which sqlite3 binds as it is.
_LEDGER_DATE_POSITIONS = tuple(LEDGER_COLUMNS.index(c) for c in (
    "purchased_on", "delivered_on", "expires_on", "disposed_on"))
_LEDGER_UPDATED_ON = LEDGER_COLUMNS.index("updated_on")


def _sqlite_ledger_rows(rows: list[tuple]) -> list[tuple]:
    """Ledger rows in SQLAlchemy's SQLite storage format, converting only the columns that
    need it (the generic per-value :func:`_sqlite_value` is most of a 15,000-row ledger's
    write)."""
    out = []
    for row in rows:
        row = list(row)
        for index in _LEDGER_DATE_POSITIONS:
            value = row[index]
            if value is not None:
                row[index] = _sqlite_value(value)
        row[_LEDGER_UPDATED_ON] = _sqlite_value(row[_LEDGER_UPDATED_ON])
        out.append(tuple(row))
    return out


def _executemany(session, statement: str, rows) -> None:
    session.connection().exec_driver_sql(statement, [tuple(_sqlite_value(v) for v in row) for row in rows])


# ---------------------------------------------------------------- ledger


def write_ledger(session, hospital_id: int, upload_id: int, records: list[dict], mapped_fields,
                 month: dt.date) -> int:
    """Upsert the ledger's devices and record its listing for ``month``; returns how many
    devices the ledger in force before (for this month) listed and this one does not."""
    month = first_of_month(month)
    now = utc_now()
    update = updated_columns(mapped_fields)
    rows = [
        (hospital_id, r["device_number"], r["device_key"], r.get("classification_id"), r.get("product_name"),
         r.get("model_number"), model_key(r.get("model_number")), r.get("maker_id"), r.get("maker_name"),
         r.get("serial_number"),
         r.get("department_manage"), r.get("department_use"), r.get("department_purchase"),
         r.get("purchased_on"), r.get("delivered_on"), r.get("asset_number"), r.get("jmdn_code"),
         r.get("expires_on"), r.get("disposed_on"), True, upload_id, now)
        for r in records
    ]
    assignments = ", ".join(f"{c} = excluded.{c}" for c in update)
    columns = ", ".join(LEDGER_COLUMNS)
    postgresql = _dialect(session) == "postgresql"
    # month is a date object formatted here, never user text.
    month_literal = f"DATE '{month.isoformat()}'" if postgresql else f"'{month.isoformat()}'"
    not_newer = (f"WHERE equipment.upload_id IS NULL OR (SELECT u.month FROM upload_file u "
                 f"WHERE u.id = equipment.upload_id) <= {month_literal}")
    if postgresql:
        session.execute(sql(
            f"CREATE TEMP TABLE IF NOT EXISTS equipment_stage ON COMMIT DROP AS "
            f"SELECT {columns} FROM equipment WITH NO DATA"
        ))
        session.execute(sql("TRUNCATE equipment_stage"))
        _copy(session, "equipment_stage", LEDGER_COLUMNS, rows)
        session.execute(sql(
            f"INSERT INTO equipment ({columns}) SELECT {columns} FROM equipment_stage "
            f"ON CONFLICT (hospital_id, device_key) DO UPDATE SET {assignments} {not_newer}"
        ))
    else:
        marks = ", ".join("?" * len(LEDGER_COLUMNS))
        session.connection().exec_driver_sql((
            f"INSERT INTO equipment ({columns}) VALUES ({marks}) "
            f"ON CONFLICT (hospital_id, device_key) DO UPDATE SET {assignments} {not_newer}"
        ), _sqlite_ledger_rows(rows))
    # A row marked as not in the ledger (the ledger export's 最新の台帳にあり ×) updates its
    # device but leaves it out of the month's listing.
    return write_listing(session, hospital_id, month,
                         {r["device_key"] for r in records if r.get("listed", True)})


def write_listing(session, hospital_id: int, month: dt.date, device_keys: set[str]) -> int:
    """Replace the hospital's listing of ``month`` by the devices ``device_keys``; returns
    how many devices the listing in force for ``month`` before had and this one has not."""
    ids = load_devices(session, hospital_id)
    listed = {ids[key] for key in device_keys}
    params = {"h": hospital_id, "m": month}
    month_param = bindparam("m", type_=Date())
    old = session.execute(sql(
        "SELECT equipment_id FROM ledger_listing WHERE hospital_id = :h AND month = "
        "(SELECT max(month) FROM ledger_listing WHERE hospital_id = :h AND month <= :m)"
    ).bindparams(month_param), params).scalars()
    dropped = sum(1 for equipment_id in old if equipment_id not in listed)
    session.execute(sql("DELETE FROM ledger_listing WHERE hospital_id = :h AND month = :m")
                    .bindparams(month_param), params)
    rows = ((hospital_id, month, equipment_id) for equipment_id in sorted(listed))
    if _dialect(session) == "postgresql":
        _copy(session, "ledger_listing", ("hospital_id", "month", "equipment_id"), rows)
    else:
        _executemany(session, "INSERT INTO ledger_listing (hospital_id, month, equipment_id) VALUES (?, ?, ?)", rows)
    return dropped


# ---------------------------------------------------------------- lending / failure


def _stage_events(session, kind: str, records: list[tuple]) -> str:
    """The file's (equipment id, start, end, text) rows in a temporary table; its name."""
    start, end, note = EVENT_FIELDS[kind]
    stage = f"{kind}_stage"
    columns = ("equipment_id", start, end, note)
    if _dialect(session) == "postgresql":
        session.execute(sql(
            f"CREATE TEMP TABLE IF NOT EXISTS {stage} (equipment_id integer, {start} timestamp, "
            f"{end} timestamp, {note} text) ON COMMIT DROP"))
        session.execute(sql(f"TRUNCATE {stage}"))
        _copy_lines(session, stage, columns, _event_copy_lines(records))
    else:
        connection = session.connection()
        connection.exec_driver_sql(
            f"CREATE TEMP TABLE IF NOT EXISTS {stage} (equipment_id INTEGER, {start} DATETIME, "
            f"{end} DATETIME, {note} TEXT)")
        connection.exec_driver_sql(f"DELETE FROM {stage}")
        # SQLAlchemy's SQLite storage format, built directly (this loop is the hot one).
        rows = [(equipment_id, s.isoformat(" ", "microseconds"),
                 None if e is None else e.isoformat(" ", "microseconds"), note_value)
                for equipment_id, s, e, note_value in records]
        connection.exec_driver_sql(f"INSERT INTO {stage} VALUES (?, ?, ?, ?)", rows)
    return stage


def _stale_events_possible(session, kind: str, hospital_id: int, month_start: dt.datetime,
                           month_end: dt.datetime, records: list[tuple]) -> bool:
    """Whether the hospital has more events starting in the month than the file lists there
    (after the upsert every listed event is stored, once: the difference is what a corrected
    file dropped). Counting on the (hospital, start) index is much cheaper than the
    DELETE's scan of the rows, and a month's first upload has nothing to remove."""
    start = EVENT_FIELDS[kind][0]
    listed = sum(1 for record in records if month_start <= record[1] < month_end)
    stored = session.execute(sql(
        f"SELECT count(*) FROM {kind} WHERE hospital_id = :h AND {start} >= :ms AND {start} < :me"
    ).bindparams(bindparam("ms", type_=DateTime()), bindparam("me", type_=DateTime())),
        {"h": hospital_id, "ms": month_start, "me": month_end}).scalar()
    return stored != listed


def replace_events(session, kind: str, hospital_id: int, month: dt.date, upload_id: int,
                   records: list[tuple]) -> int:
    """Reconcile the hospital's ``kind`` events with one file of ``month``: ``records`` are
    (equipment id, start, end, text) with starts unique per device (the checker rejects
    the file's duplicates). Returns how many events starting in ``month`` were removed
    because the file no longer lists them."""
    if upload_id is None:
        raise ValueError("replace_events needs the upload id: it marks the events the file lists")
    start, end, note = EVENT_FIELDS[kind]
    stage = _stage_events(session, kind, records)
    month_start, month_end = month_bounds(month)
    newer_end = (f"excluded.{end} IS NOT NULL AND ({kind}.{end} IS NULL OR {kind}.end_upload_id IS NULL "
                 f"OR excluded.end_upload_id >= {kind}.end_upload_id)")
    # In the order of the event key (device, start): the key's index is then written page by
    # page instead of at random (a file lists its events by time; a third less work on SQLite).
    session.execute(sql(
        f"INSERT INTO {kind} (hospital_id, equipment_id, month, {start}, {end}, {note}, upload_id, "
        f"open_until, end_upload_id) "
        f"SELECT :h, equipment_id, :m, {start}, {end}, {note}, :u, "
        f"CASE WHEN {end} IS NULL THEN :me END, CASE WHEN {end} IS NOT NULL THEN :u END "
        f"FROM {stage} WHERE 1 = 1 ORDER BY equipment_id, {start} "
        f"ON CONFLICT (hospital_id, equipment_id, {start}) DO UPDATE SET "
        f"{end} = CASE WHEN {newer_end} THEN excluded.{end} ELSE {kind}.{end} END, "
        f"end_upload_id = CASE WHEN {newer_end} THEN excluded.end_upload_id ELSE {kind}.end_upload_id END, "
        f"open_until = CASE WHEN excluded.open_until IS NOT NULL AND ({kind}.open_until IS NULL "
        f"OR excluded.open_until > {kind}.open_until) THEN excluded.open_until ELSE {kind}.open_until END, "
        f"{note} = COALESCE(excluded.{note}, {kind}.{note}), "
        f"upload_id = excluded.upload_id"
    ).bindparams(bindparam("m", type_=Date()), bindparam("me", type_=DateTime())),
        {"h": hospital_id, "m": month, "u": upload_id, "me": month_end})
    if _dialect(session) != "postgresql":
        session.connection().exec_driver_sql(f"DELETE FROM {stage}")
    if not _stale_events_possible(session, kind, hospital_id, month_start, month_end, records):
        return 0
    # Every event the file lists now carries this upload's id: the others that start in the
    # file's month are the ones a corrected file dropped.
    return session.execute(sql(
        f"DELETE FROM {kind} WHERE hospital_id = :h AND {start} >= :ms AND {start} < :me "
        f"AND (upload_id IS NULL OR upload_id <> :u)"
    ).bindparams(bindparam("ms", type_=DateTime()), bindparam("me", type_=DateTime())),
        {"h": hospital_id, "u": upload_id, "ms": month_start, "me": month_end}).rowcount or 0
