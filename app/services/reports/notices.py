"""The report mails to a hospital's notification list: one month published or revised, or
every month one run published or revised, in one mail (a data change can make a dozen
months ready or change a dozen published ones; the hospital gets one mail, not a dozen).
A mail failure is logged and never unpublishes anything."""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.infra.mail import public_url, send_mail
from app.infra.mail import render as render_mail
from app.services.reports.revisions import describe
from app.services.reports.workbook import month_label

if TYPE_CHECKING:
    from app.models import Organization
    from app.services.reports.service import Publication

log = logging.getLogger(__name__)

NO_FIGURE_CHANGED = "数値の変更はありません（再作成）。"


def month_link(month: dt.date) -> str:
    return public_url(f"/reports/?month={month:%Y-%m}")


def _send(hospital: Organization, subject: str, body: str) -> None:
    try:
        send_mail(hospital.notification_email_list, subject, body)
    except Exception:
        log.exception("report notification for hospital %s failed", hospital.id)


def notify_published(hospital: Organization, month: dt.date, version: int = 1,
                     changes: list[dict] | None = None) -> None:
    """E-mail the hospital's notification list; a mail failure never unpublishes. A new
    version of a published month is announced as 改訂 with what changed."""
    if version > 1:
        lines = describe(changes or []) or [NO_FIGURE_CHANGED]
        subject, body = render_mail("report_revised", hospital=hospital, month_label=month_label(month),
                                    version=version, lines=lines, link=month_link(month))
    else:
        subject, body = render_mail("report_published", hospital=hospital, month_label=month_label(month),
                                    link=month_link(month))
    _send(hospital, subject, body)


@dataclass
class MonthNotice:
    """One month of a combined mail: first published, or revised to ``version``."""

    month: dt.date
    label: str
    link: str
    version: int = 1
    lines: tuple[str, ...] = ()


def notify_publications(hospital: Organization, publications: dict[dt.date, Publication]) -> int:
    """One mail for everything one run published or revised (``publish_month``'s outcomes by
    month; ``unchanged`` ones are left out). A single month gets its usual mail. Returns the
    number of months announced (0: nothing mailed)."""
    announced = {month: p for month, p in sorted(publications.items()) if p.outcome in ("published", "revised")}
    if not announced:
        return 0
    if len(announced) == 1:
        (month, publication), = announced.items()
        revised = publication.outcome == "revised"
        notify_published(hospital, month, publication.version if revised else 1,
                         publication.changes if revised else None)
        return 1
    published, revised = [], []
    for month, publication in announced.items():
        if publication.outcome == "revised":
            revised.append(MonthNotice(month, month_label(month), month_link(month), publication.version,
                                       tuple(describe(publication.changes or []) or [NO_FIGURE_CHANGED])))
        else:
            published.append(MonthNotice(month, month_label(month), month_link(month)))
    subject, body = render_mail("report_months", hospital=hospital, published=published, revised=revised)
    _send(hospital, subject, body)
    return len(announced)
