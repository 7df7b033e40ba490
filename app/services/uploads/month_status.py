"""Where a hospital's month stands, file type by file type: the one place that decides it. The
dashboard, the start pages, the upload history, the report runs and the APIs all read it here,
so they cannot disagree.

A type's file is *in force* when its latest upload that succeeded (or a byte-identical repeat
of one that did) exists: re-uploads replace the month's data, but only an ingest that succeeded
wrote anything (an ingest is all or nothing). A later upload that is still waiting, needs its
columns mapped or failed is kept apart as ``newer``: it is shown as such, but a complete month
stays complete — a stray file must not undo what the hospital already delivered. A discarded
upload counts for nothing.

A month is complete when its lending and failure files are in force and a ledger is in force
for it: one of the month, else one that succeeded for an earlier month (a ledger is the
equipment as of its month: DESIGN §5 "Ledgers over time").
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select

from app.core.months import add_months, first_of_month
from app.extensions import db
from app.models import UploadFile, UploadStatus, UploadType

SUCCEEDED = frozenset({UploadStatus.succeeded.value, UploadStatus.succeeded_with_rejections.value})
DUE_DAY = 10  # a month's files are due by the 10th of the next month
KINDS = (int(UploadType.ledger), int(UploadType.lending), int(UploadType.failure))


@dataclass(frozen=True)
class KindState:
    """One file type of a hospital-month."""

    file_type: int
    in_force: UploadFile | None = None  # the latest upload that succeeded (or repeats one that did)
    in_force_status: str | None = None  # a repeat's is its original's
    newer: UploadFile | None = None  # the latest upload after it that has not succeeded
    newer_status: str | None = None

    @property
    def done(self) -> bool:
        return self.in_force is not None

    @property
    def latest(self) -> UploadFile | None:
        """The newest upload that counts (``newer`` first): what the month last heard."""
        return self.newer or self.in_force


@dataclass(frozen=True)
class MonthState:
    hospital_id: int
    month: dt.date
    kinds: dict[int, KindState]
    earlier_ledger: bool  # a ledger of an earlier month succeeded (in force when the month has none)

    @property
    def ledger_in_force(self) -> bool:
        return self.kinds[int(UploadType.ledger)].done or self.earlier_ledger

    @property
    def complete(self) -> bool:
        return (self.ledger_in_force and self.kinds[int(UploadType.lending)].done
                and self.kinds[int(UploadType.failure)].done)

    @property
    def in_force(self) -> dict[int, UploadFile]:
        """The uploads whose data the month holds, by file type."""
        return {t: k.in_force for t, k in self.kinds.items() if k.in_force is not None}

    @property
    def pending_after_in_force(self) -> list[KindState]:
        """The types whose file is in force but a newer upload has not (yet) succeeded."""
        return [k for k in self.kinds.values() if k.done and k.newer is not None]


def effective_status(upload: UploadFile, originals: dict[int, UploadFile]) -> str:
    """A byte-identical repeat stands for the upload it repeats (succeeded, waiting, discarded …)."""
    if upload.status == UploadStatus.duplicate.value and upload.duplicate_of_id is not None:
        original = originals.get(upload.duplicate_of_id)
        if original is not None:
            return original.status
    return upload.status


def kind_state(file_type: int, uploads: Iterable[UploadFile], originals: dict[int, UploadFile]) -> KindState:
    """``uploads``: one type's uploads of a month, oldest first."""
    in_force = in_force_status = newer = newer_status = None
    for upload in uploads:
        status = effective_status(upload, originals)
        if status == UploadStatus.discarded.value:
            continue
        if status in SUCCEEDED:
            in_force, in_force_status, newer, newer_status = upload, status, None, None
        else:
            newer, newer_status = upload, status
    return KindState(file_type, in_force, in_force_status, newer, newer_status)


def month_states(hospital_ids: Iterable[int], months: Iterable[dt.date]) -> dict[tuple[int, dt.date], MonthState]:
    """The state of every (hospital, month) asked for, in three statements whatever the count."""
    hospital_ids, months = sorted(set(hospital_ids)), sorted(set(months))
    if not hospital_ids or not months:
        return {}
    uploads = list(db.session.scalars(select(UploadFile).where(
        UploadFile.hospital_id.in_(hospital_ids), UploadFile.month.in_(months))
        .order_by(UploadFile.uploaded_at, UploadFile.id)))
    originals = _originals(uploads)
    first_ledgers = dict(db.session.execute(
        select(UploadFile.hospital_id, func.min(UploadFile.month)).where(
            UploadFile.hospital_id.in_(hospital_ids), UploadFile.file_type == int(UploadType.ledger),
            UploadFile.status.in_(SUCCEEDED)).group_by(UploadFile.hospital_id)).all())
    grouped: dict[tuple[int, dt.date, int], list[UploadFile]] = {}
    for upload in uploads:
        grouped.setdefault((upload.hospital_id, upload.month, upload.file_type), []).append(upload)
    states = {}
    for hospital_id in hospital_ids:
        first_ledger = first_ledgers.get(hospital_id)
        for month in months:
            kinds = {t: kind_state(t, grouped.get((hospital_id, month, t), ()), originals) for t in KINDS}
            states[hospital_id, month] = MonthState(
                hospital_id, month, kinds, earlier_ledger=first_ledger is not None and first_ledger < month)
    return states


def month_state(hospital_id: int, month: dt.date) -> MonthState:
    return month_states([hospital_id], [month])[hospital_id, month]


def month_complete(hospital_id: int, month: dt.date) -> bool:
    return month_state(hospital_id, month).complete


def _originals(uploads: list[UploadFile]) -> dict[int, UploadFile]:
    """The uploads the repeats among ``uploads`` repeat (of the same month: read with them
    when already loaded, else in one statement)."""
    known = {u.id: u for u in uploads}
    wanted = {u.duplicate_of_id for u in uploads if u.duplicate_of_id is not None} - known.keys()
    if wanted:
        known.update({u.id: u for u in db.session.scalars(select(UploadFile).where(UploadFile.id.in_(wanted)))})
    return known


def due_date(month: dt.date) -> dt.date:
    """The day ``month``'s files are due: the :data:`DUE_DAY` of the next month."""
    return add_months(first_of_month(month), 1).replace(day=DUE_DAY)
