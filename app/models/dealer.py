"""Dealer permissions (ディーラー権限) and manufacturers' hospital selections.

A hospital grants one dealer user a level; the row is the current state, and every grant,
change and revocation (level 9) also writes a :class:`DealerPermissionHistory` entry. Neither
table is ever deleted from: level 9 keeps the row with its reason.
"""
from __future__ import annotations

import datetime as dt
import enum

from flask_appbuilder import Model
from sqlalchemy import (
    Date,
    DateTime,
    ForeignKey,
    Integer,
    SmallInteger,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.organization import Organization
from app.models.user import User


class DealerLevel(enum.IntEnum):
    """The owner's codes (DES 3-5)."""

    download_site = 1  # ダウンロードサイト閲覧
    masters = 2  # マスタ情報の設定
    full = 3  # 全機能利用（作業代行）
    none = 9  # 無し


class DealerPermission(Model):
    __tablename__ = "dealer_permission"
    __table_args__ = (
        UniqueConstraint("hospital_id", "dealer_user_id", name="uq_dealer_permission"),
        {"extend_existing": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), nullable=False, index=True)
    dealer_user_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id"), nullable=False, index=True)
    level: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))
    granted_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=dt.datetime.utcnow)

    hospital: Mapped[Organization] = relationship(Organization)
    dealer_user: Mapped[User] = relationship(User, foreign_keys=[dealer_user_id])
    granted_by: Mapped[User | None] = relationship(User, foreign_keys=[granted_by_id])


class DealerPermissionHistory(Model):
    """One grant or change: who, when, old → new level, why. Append-only."""

    __tablename__ = "dealer_permission_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    permission_id: Mapped[int] = mapped_column(
        ForeignKey("dealer_permission.id"), nullable=False, index=True
    )
    hospital_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), nullable=False, index=True)
    dealer_user_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id"), nullable=False)
    old_level: Mapped[int | None] = mapped_column(SmallInteger)
    new_level: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=dt.datetime.utcnow)

    dealer_user: Mapped[User] = relationship(User, foreign_keys=[dealer_user_id])
    changed_by: Mapped[User | None] = relationship(User, foreign_keys=[changed_by_id])


class ManufacturerSelection(Model):
    """A hospital a manufacturer views, in rank order (1 = first), from ``month`` on.

    One selection (the rows of one ``month``) per manufacturer and month: the figures of a month
    are pooled over the selection with the latest ``month`` not after it. A change is stored for
    the next month, so the hospitals behind a month's figures never change (app/manufacturers.py).
    """

    __tablename__ = "manufacturer_selection"
    __table_args__ = (
        UniqueConstraint("manufacturer_id", "month", "rank", name="uq_manufacturer_selection_month_rank"),
        UniqueConstraint("manufacturer_id", "month", "hospital_id",
                         name="uq_manufacturer_selection_month_hospital"),
        {"extend_existing": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    manufacturer_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id"), nullable=False, index=True
    )
    # First day of the first month this selection applies to; FIRST_SELECTION_MONTH for a
    # manufacturer's first selection, which applies to every earlier month too.
    month: Mapped[dt.date] = mapped_column(Date, nullable=False, default=lambda: FIRST_SELECTION_MONTH)
    rank: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), nullable=False, index=True)

    hospital: Mapped[Organization] = relationship(Organization, foreign_keys=[hospital_id])


# A manufacturer's first selection has no earlier one to be subtracted from: it covers the past.
FIRST_SELECTION_MONTH = dt.date(2000, 1, 1)
