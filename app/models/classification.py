"""Classifications (機器分類) and makers (メーカー).

A classification is either common — the SMDS master, ``hospital_id`` NULL — or a
hospital's own, mapped to one common classification (``smds_classification_id``, NULL
until mapped).
"""
from __future__ import annotations

import datetime as dt

from flask_appbuilder import Model
from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship


class Classification(Model):
    __tablename__ = "classification"
    __table_args__ = (
        UniqueConstraint("hospital_id", "level", "parent_id", "name", name="uq_classification_name"),
        UniqueConstraint("hospital_id", "external_id", name="uq_classification_external_id"),
        {"extend_existing": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hospital_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"), index=True)
    level: Mapped[int] = mapped_column(SmallInteger, nullable=False, default=1)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("classification.id"), index=True)
    code: Mapped[str | None] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    normalized_name: Mapped[str] = mapped_column(String(200), nullable=False, index=True)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    # The on-prem master's id (masters push); NULL for classifications never pushed.
    external_id: Mapped[str | None] = mapped_column(String(64))
    smds_classification_id: Mapped[int | None] = mapped_column(
        ForeignKey("classification.id"), index=True
    )
    # automatic | suggestion | manual
    mapping_method: Mapped[str | None] = mapped_column(String(20))
    mapped_by_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))
    mapped_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    created_on: Mapped[dt.datetime] = mapped_column(DateTime, default=dt.datetime.utcnow)

    parent: Mapped[Classification | None] = relationship(
        "Classification", remote_side=[id], foreign_keys=[parent_id]
    )
    smds_classification: Mapped[Classification | None] = relationship(
        "Classification", remote_side=[id], foreign_keys=[smds_classification_id]
    )

    @property
    def is_common(self) -> bool:
        return self.hospital_id is None

    def __repr__(self) -> str:
        return self.name


class Maker(Model):
    __tablename__ = "maker"
    __table_args__ = (UniqueConstraint("external_id", name="uq_maker_external_id"), {"extend_existing": True})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False, unique=True)
    # The on-prem master's id (masters push); NULL for makers never pushed.
    external_id: Mapped[str | None] = mapped_column(String(64))
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True, server_default=true())
    # A manufacturer organization that is this maker (its makers are highlighted for it).
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"))
    created_on: Mapped[dt.datetime] = mapped_column(DateTime, default=dt.datetime.utcnow)

    def __repr__(self) -> str:
        return self.name


class MakerAlias(Model):
    """One spelling of a maker, keyed by its normalized form."""

    __tablename__ = "maker_alias"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    maker_id: Mapped[int] = mapped_column(ForeignKey("maker.id"), nullable=False, index=True)
    alias: Mapped[str] = mapped_column(String(200), nullable=False)
    normalized_alias: Mapped[str] = mapped_column(String(200), nullable=False, unique=True)
    maker: Mapped[Maker] = relationship(Maker, backref="aliases")


class ReportSelection(Model):
    """レポート出力対象の機器分類: rank 1..N; no rows means "automatic" (most devices)."""

    __tablename__ = "report_selection"
    __table_args__ = (
        UniqueConstraint("hospital_id", "rank", name="uq_report_selection_rank"),
        UniqueConstraint("hospital_id", "classification_id", name="uq_report_selection_class"),
        {"extend_existing": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), nullable=False, index=True)
    rank: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    classification_id: Mapped[int] = mapped_column(ForeignKey("classification.id"), nullable=False)
    classification: Mapped[Classification] = relationship(Classification)
