"""Reading the changes feed: entries after a cursor, in ``seq`` order, one page at a time.

The cursor is the ``seq`` of the last entry received (0 at first). A page holds up to
``limit`` entries; ``next_cursor`` is its last ``seq``, or the given cursor when there is
nothing new, so a client always has a cursor to store. Because the change log is written
in commit order (see :mod:`app.services.sync.changes`), the entries after a cursor never
change once visible: asking again with the same cursor returns the same entries (a page
that was not full may have grown at its end), less those the retention pruned since
(:mod:`app.services.sync.retention`: only entries a newer one of the same thing supersedes).
"""
from __future__ import annotations

import json

from sqlalchemy import Text, cast, func, select

from app.models import SyncChange

DEFAULT_LIMIT = 500
MAX_LIMIT = 1000

_COLUMNS = (SyncChange.seq, SyncChange.entity, SyncChange.key, SyncChange.payload, SyncChange.changed_at)


def entry(row) -> dict:
    return {
        "seq": row.seq, "entity": row.entity, "key": row.key,
        "op": "delete" if row.payload is None else "upsert", "data": row.payload,
        "changed_at": row.changed_at.isoformat() + "Z",
    }


def page(session, since: int, limit: int = DEFAULT_LIMIT) -> dict:
    rows = session.execute(select(*_COLUMNS).where(SyncChange.seq > since)
                           .order_by(SyncChange.seq).limit(limit + 1)).all()
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = rows[-1].seq if rows else since
    latest = session.scalar(select(func.max(SyncChange.seq))) or 0
    return {"result": [entry(r) for r in rows], "next_cursor": next_cursor, "has_more": has_more,
            "latest": max(latest, next_cursor)}


def page_body(session, since: int, limit: int = DEFAULT_LIMIT) -> str:
    """:func:`page` as the JSON text of the answer, built from the stored payload text as is
    (no decoding and encoding again of a thousand payloads: a page of 1,000 stays fast)."""
    rows = session.execute(select(SyncChange.seq, SyncChange.entity, SyncChange.key,
                                  cast(SyncChange.payload, Text).label("payload"), SyncChange.changed_at)
                           .where(SyncChange.seq > since).order_by(SyncChange.seq).limit(limit + 1)).all()
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = rows[-1].seq if rows else since
    latest = session.scalar(select(func.max(SyncChange.seq))) or 0
    dumps = json.dumps
    entries = ",".join(
        f'{{"seq":{r.seq},"entity":{dumps(r.entity)},"key":{dumps(r.key, ensure_ascii=False)},'
        f'"op":"{"delete" if r.payload in (None, "null") else "upsert"}","data":{r.payload or "null"},'
        f'"changed_at":"{r.changed_at.isoformat()}Z"}}'
        for r in rows)
    return (f'{{"result":[{entries}],"next_cursor":{next_cursor},"has_more":{"true" if has_more else "false"},'
            f'"latest":{max(latest, next_cursor)}}}')
