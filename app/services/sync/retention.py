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
the same entries minus the pruned ones.

The deletion goes in batches of at most ``batch_size`` entries (in ``seq`` order), each
committed on its own: a first prune after a long gap neither holds one long transaction
(on SQLite the database's single write lock, which every change-writing transaction waits
for) nor returns every deleted row at once. Each batch decides on the current table, and
the outcome is the same as one statement's: whether an entry goes depends only on the
existence of an older and a newer entry of its thing, and no batch removes a thing's first
or latest entry, so one batch's deletions never change another entry's fate. This function
therefore commits ``session`` (it is a staged job, see app.services.unit_of_work).
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import DateTime, bindparam, text

from app.core.months import utc_now

DEFAULT_BATCH_SIZE = 5000

# The range of entries old enough to go, taken once at the start. Entries appended while the
# prune runs are not older than the cut-off (their changed_at is the time of their commit,
# after the cut-off), so they are never candidates and the range need not grow.
_OLD_RANGE = "SELECT min(seq), max(seq) FROM sync_change WHERE changed_at < :cutoff"

# The upper end of the next batch: the seq of the batch_size-th entry after the previous batch
# (a walk along the primary key, so gaps left by earlier prunes cost nothing).
_BATCH_END = "SELECT seq FROM sync_change WHERE seq > :after ORDER BY seq LIMIT 1 OFFSET :skip"

# One batch: the old entries in (after, upto] that have both an older and a newer entry of the
# same (entity, key), i.e. are neither its first nor its latest. Both probes are ranges of the
# index ix_sync_change_entity_key_seq.
_DELETE_BATCH = """
    DELETE FROM sync_change
    WHERE seq > :after AND seq <= :upto AND changed_at < :cutoff
      AND EXISTS (SELECT 1 FROM sync_change older
                  WHERE older.entity = sync_change.entity AND older.key = sync_change.key
                    AND older.seq < sync_change.seq)
      AND EXISTS (SELECT 1 FROM sync_change newer
                  WHERE newer.entity = sync_change.entity AND newer.key = sync_change.key
                    AND newer.seq > sync_change.seq)
    RETURNING entity
"""


@dataclass
class PruneResult:
    cutoff: dt.datetime
    removed: dict[str, int]  # entity → entries removed

    @property
    def total(self) -> int:
        return sum(self.removed.values())


def prune_changes(session, older_than_days: int, now: dt.datetime | None = None,
                  batch_size: int = DEFAULT_BATCH_SIZE) -> PruneResult:
    """Delete the change-log entries older than ``older_than_days`` days (UTC) that a newer
    entry of the same thing supersedes (keeping each thing's first entry, see above), in
    batches of at most ``batch_size`` entries, committing ``session`` after each."""
    if older_than_days < 0:
        raise ValueError("older_than_days must be 0 or more")
    if batch_size < 1:
        raise ValueError("batch_size must be 1 or more")
    cutoff = (now or utc_now()) - dt.timedelta(days=older_than_days)
    dated = {"cutoff": cutoff}
    removed: Counter[str] = Counter()
    first, last = session.execute(
        text(_OLD_RANGE).bindparams(bindparam("cutoff", type_=DateTime())), dated).one()
    session.commit()
    if first is None:
        return PruneResult(cutoff, {})
    after = first - 1
    while after < last:
        upto = session.scalar(text(_BATCH_END), {"after": after, "skip": batch_size - 1})
        upto = last if upto is None else min(upto, last)
        removed.update(session.execute(
            text(_DELETE_BATCH).bindparams(bindparam("cutoff", type_=DateTime())),
            {**dated, "after": after, "upto": upto}).scalars())
        session.commit()
        after = upto
    return PruneResult(cutoff, dict(sorted(removed.items())))
