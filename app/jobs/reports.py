"""The report job: one hospital-month, its status recorded on the report rows."""
from __future__ import annotations

import datetime as dt
import logging

from flask import has_app_context

log = logging.getLogger(__name__)

FAILED_MESSAGE = "レポートの作成に失敗しました。管理者にお問い合わせください。"


def parse_month(text: str) -> dt.date:
    """``YYYY-MM`` (app.months.parse_month); ValueError for anything else."""
    from ..months import parse_month as parse

    month = parse(text)
    if month is None:
        raise ValueError(f"not a month: {text!r}")
    return month


def generate_report_job(hospital_id: int, month: str) -> str:
    if has_app_context():
        return _run(hospital_id, parse_month(month))
    from .. import create_app

    with create_app().app_context():
        return _run(hospital_id, parse_month(month))


def _run(hospital_id: int, month: dt.date) -> str:
    from ..extensions import db
    from ..reports.service import generate_reports, mark_status

    mark_status(hospital_id, month, "running")
    try:
        rows = generate_reports(hospital_id, month)
    except Exception:
        log.exception("report of hospital %s for %s failed", hospital_id, month)
        db.session.rollback()
        mark_status(hospital_id, month, "failed", FAILED_MESSAGE)
        raise
    finally:
        db.session.expire_all()
    db.session.remove()
    return f"published {len(rows)}"
