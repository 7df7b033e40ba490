"""Stored figures of a hospital-month (issue 14): computed once when the month's data
changes, read by the dashboard and its charts.

``StoredFigures`` holds one computed hospital-month under the *presentation key* it was made
with (grouping, report level, rank count and the saved selection: see
app/services/reports/stored.py). ``FiguresChange`` records when a hospital's data last
changed (an ingest, a ledger setting, a classification mapping): a stored row whose
computation started before that moment is stale and is recomputed on the next read.
"""
from __future__ import annotations

import datetime as dt

from flask_appbuilder import Model
from sqlalchemy import JSON, Date, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column


class StoredFigures(Model):
    __tablename__ = "stored_figures"
    __table_args__ = (UniqueConstraint("hospital_id", "month", "version_key", name="uq_stored_figures"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), nullable=False,
                                             index=True)
    month: Mapped[dt.date] = mapped_column(Date, nullable=False)
    version_key: Mapped[str] = mapped_column(String(64), nullable=False)
    data: Mapped[dict] = mapped_column(JSON, nullable=False)
    # When the computation started (the data it read is at least this new) and ended.
    computed_from: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    computed_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)


class FiguresChange(Model):
    __tablename__ = "figures_change"

    hospital_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), primary_key=True)
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
