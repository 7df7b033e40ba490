"""Retention of the change log: compaction of entries that later ones made redundant.

The changes feed (:mod:`app.services.sync.feed`) would otherwise keep every entry for ever;
a daily ledger change of a 15,000-device hospital adds 15,000 a day. An entry carries the
whole state of one thing (entity + natural key), so once a newer entry of the same thing
exists, a client applying the feed ends in the same state without the older one.

:func:`prune_changes` deletes the entries older than the retention that are neither the
**latest** nor the **first** entry of their thing:
- the latest is kept (also a deletion's tombstone): a pull from any cursor, 0 included,
  still ends with every thing's final state, and a client whose cursor lies before a deletion
  still learns of it. A deleted thing thus costs at most two entries for good;
- the first is kept because entries refer to other things by natural key (a user to its
  organization, a device setting to its hospital and classification), and a client skips an
  entry whose referent it does not have yet: the referent's first entry, which came before
  every entry referring to it, must still come first.
Cursor semantics hold: ``seq`` values are never reused (AUTOINCREMENT on SQLite, a sequence
on PostgreSQL), so a cursor keeps meaning the same place and asking again with it returns
the same entries minus the pruned ones. Nothing is committed here.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import DateTime, bindparam, text

from app.core.months import utc_now

# The entries to delete: older than the cut-off, and neither the first nor the latest of their
# (entity, key). One pass over the log with window functions (SQLite ≥ 3.25, PostgreSQL).
_PRUNABLE = """
    SELECT seq FROM (
        SELECT seq, changed_at,
               min(seq) OVER (PARTITION BY entity, key) AS first_seq,
               max(seq) OVER (PARTITION BY entity, key) AS last_seq
        FROM sync_change
    ) ranked
    WHERE changed_at < :cutoff AND seq <> first_seq AND seq <> last_seq
"""


@dataclass
class PruneResult:
    cutoff: dt.datetime
    removed: dict[str, int]  # entity → entries removed

    @property
    def total(self) -> int:
        return sum(self.removed.values())


def prune_changes(session, older_than_days: int, now: dt.datetime | None = None) -> PruneResult:
    """Delete the change-log entries older than ``older_than_days`` days (UTC) that a newer
    entry of the same thing supersedes (keeping each thing's first entry, see above)."""
    if older_than_days < 0:
        raise ValueError("older_than_days must be 0 or more")
    cutoff = (now or utc_now()) - dt.timedelta(days=older_than_days)
    removed = Counter(session.execute(text(
        f"DELETE FROM sync_change WHERE seq IN (SELECT seq FROM ({_PRUNABLE}) prunable) RETURNING entity"
    ).bindparams(bindparam("cutoff", type_=DateTime())), {"cutoff": cutoff}).scalars())
    return PruneResult(cutoff, dict(sorted(removed.items())))
