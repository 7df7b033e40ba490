"""After a hospital's data changed (an ingest, a ledger setting): one run publishes the
months that became ready (DESIGN §5: a month's report is made when its files are in) and
revises the published months whose figures changed (§5 "Events across files"), then sends
the hospital ONE mail naming every month published or revised. One upload used to queue a
job and a mail per ready month: a hospital with a year of uploads and no reports yet got a
dozen mails from one file."""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from app.extensions import db
from app.models import Organization
from app.services.reports import unpublished_ready_months
from app.services.reports.notices import notify_publications
from app.services.reports.service import Publication, mark_status, publish_month, report_months
from app.services.stored_messages import part

log = logging.getLogger(__name__)

REPORT_FAILED_MESSAGE = part("report.failed")  # stored as a code, shown in the reader's language


@dataclass
class DataChangeRun:
    """What one run did: first publications of months that became ready, the re-check of
    the months published before, and the ready months whose report failed."""

    first: dict[dt.date, Publication] = field(default_factory=dict)
    checked: dict[dt.date, Publication] = field(default_factory=dict)
    failed: list[dt.date] = field(default_factory=list)

    def __str__(self) -> str:
        revised = [f"{m:%Y-%m} v{p.version}" for m, p in self.checked.items() if p.outcome == "revised"]
        text = f"checked {len(self.checked)}, revised {len(revised)}" + (f": {', '.join(revised)}" if revised else "")
        if self.first:
            text = f"published {len(self.first)}: {', '.join(f'{m:%Y-%m}' for m in self.first)}; {text}"
        if self.failed:
            text += f"; failed: {', '.join(f'{m:%Y-%m}' for m in self.failed)}"
        return text


def publish_after_data_change(hospital_id: int, notify: bool = True) -> DataChangeRun:
    """Publish every ready month without a report (oldest first; one that fails is marked
    failed and the others go on), recompute the months published before, and mail what was
    published or revised in one message (a failed mail is logged, nothing is unpublished)."""
    run = DataChangeRun()
    earlier = report_months(hospital_id)
    try:
        for month in unpublished_ready_months(hospital_id):
            mark_status(hospital_id, month, "running")
            try:
                run.first[month] = publish_month(hospital_id, month, notify=False)
            except Exception:
                log.exception("report of hospital %s for %s failed", hospital_id, month)
                db.session.rollback()
                mark_status(hospital_id, month, "failed", REPORT_FAILED_MESSAGE)
                run.failed.append(month)
        for month in sorted(earlier):
            run.checked[month] = publish_month(hospital_id, month, notify=False)
    except Exception:
        db.session.rollback()
        if notify:
            _announce(hospital_id, run)  # what was published before the error is still announced
        raise
    if notify:
        _announce(hospital_id, run)
    return run


def _announce(hospital_id: int, run: DataChangeRun) -> None:
    notify_publications(db.session.get(Organization, hospital_id), {**run.checked, **run.first})
