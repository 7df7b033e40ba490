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
    DateTime,
    ForeignKey,
    Integer,
    SmallInteger,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .organization import Organization
from .user import User


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
    """A hospital a manufacturer views, in rank order (1 = first)."""

    __tablename__ = "manufacturer_selection"
    __table_args__ = (
        UniqueConstraint("manufacturer_id", "rank", name="uq_manufacturer_selection_rank"),
        UniqueConstraint("manufacturer_id", "hospital_id", name="uq_manufacturer_selection_hospital"),
        {"extend_existing": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    manufacturer_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id"), nullable=False, index=True
    )
    rank: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), nullable=False, index=True)

    hospital: Mapped[Organization] = relationship(Organization, foreign_keys=[hospital_id])
