"""Machine access: per-key daily read counts, Idempotency-Key results, and the on-prem report
notices already mailed. API keys themselves are FAB's ``ab_api_key`` (ApiKey)."""
from __future__ import annotations

import datetime as dt

from flask_appbuilder import Model
from sqlalchemy import JSON, Date, DateTime, ForeignKey, Integer, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column


class ApiKeyDailyUse(Model):
    """Reads made with one key on one JST day (writes are audited one row each instead)."""

    __tablename__ = "api_key_daily_use"
    __table_args__ = (UniqueConstraint("api_key_id", "day", name="uq_api_key_daily_use"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("ab_api_key.id", ondelete="CASCADE"), nullable=False)
    day: Mapped[dt.date] = mapped_column(Date, nullable=False)
    reads: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class IdempotencyRecord(Model):
    """The first answer to a System write made with an ``Idempotency-Key`` header."""

    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotency_user_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id", ondelete="CASCADE"), nullable=False)
    key: Mapped[str] = mapped_column(String(200), nullable=False)
    request_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    status: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    response: Mapped[dict] = mapped_column(JSON, nullable=False)
    created_on: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    expires_on: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, index=True)


class ReportNotice(Model):
    """A hospital-month-type whose on-prem publication was mailed: mailed once, not per file."""

    __tablename__ = "report_notice"
    __table_args__ = (UniqueConstraint("hospital_id", "month", "file_type", name="uq_report_notice"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), nullable=False)
    month: Mapped[dt.date] = mapped_column(Date, nullable=False)
    file_type: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    sent_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
