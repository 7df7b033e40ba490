"""The report jobs: one hospital-month (its status recorded on the report rows), and the
revision check of a hospital's published months after its data changed."""
from __future__ import annotations

import datetime as dt
import logging

from flask import has_app_context

log = logging.getLogger(__name__)

FAILED_MESSAGE = "レポートの作成に失敗しました。管理者にお問い合わせください。"


def parse_month(text: str) -> dt.date:
    """``YYYY-MM`` (app.core.months.parse_month); ValueError for anything else."""
    from app.core.months import parse_month as parse

    month = parse(text)
    if month is None:
        raise ValueError(f"not a month: {text!r}")
    return month


def generate_report_job(hospital_id: int, month: str, force: bool = False) -> str:
    if has_app_context():
        return _run(hospital_id, parse_month(month), force)
    from app import create_app

    with create_app().app_context():
        return _run(hospital_id, parse_month(month), force)


def _run(hospital_id: int, month: dt.date, force: bool = False) -> str:
    from app.extensions import db
    from app.services.reports.service import mark_status, publish_month

    mark_status(hospital_id, month, "running")
    try:
        publication = publish_month(hospital_id, month, force=force)
    except Exception:
        log.exception("report of hospital %s for %s failed", hospital_id, month)
        db.session.rollback()
        mark_status(hospital_id, month, "failed", FAILED_MESSAGE)
        raise
    finally:
        db.session.expire_all()
    db.session.remove()
    return str(publication)


def revise_reports_job(hospital_id: int) -> str:
    """Recompute the hospital's published months; new versions of those that changed."""
    if has_app_context():
        return _revise(hospital_id)
    from app import create_app

    with create_app().app_context():
        return _revise(hospital_id)


def _revise(hospital_id: int) -> str:
    from app.extensions import db
    from app.services.reports import refresh_statistics
    from app.services.reports.service import revise_published_months

    try:
        refresh_statistics()  # it runs right after an ingest's bulk load
        outcomes = revise_published_months(hospital_id)
        _warm_stored_figures(hospital_id)
    finally:
        db.session.rollback()
        db.session.expire_all()
    revised = [f"{m:%Y-%m} v{p.version}" for m, p in outcomes.items() if p.outcome == "revised"]
    db.session.remove()
    return f"checked {len(outcomes)}, revised {len(revised)}" + (f": {', '.join(revised)}" if revised else "")


def _warm_stored_figures(hospital_id: int) -> None:
    """After a data change the dashboard's months (the newest month with data and the 12
    before it) are computed here, once, instead of on the next dashboard view."""
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import Lending
    from app.services.reports.stored import warm

    newest = db.session.scalar(select(func.max(Lending.month)).where(Lending.hospital_id == hospital_id))
    if newest is not None:
        try:
            warm(hospital_id, newest)
        except Exception:
            log.exception("stored figures of hospital %s could not be computed", hospital_id)
            db.session.rollback()
