"""Users: Flask-AppBuilder's user extended with organization, contact and status."""
from __future__ import annotations

import datetime as dt
import enum

from flask_appbuilder import Model
from flask_appbuilder.security.sqla.models import User as FabUser
from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from app.core import encryption
from app.models.organization import Organization


class UserStatus(enum.IntEnum):
    """The owner's codes: 0 仮登録, 1 稼働中, 9 利用停止."""

    temporary = 0
    active = 1
    inactive = 9


class InactiveReason(enum.IntEnum):
    organization_left = 1  # 組織退会
    person_changed = 2  # 担当者変更
    processing_error = 3  # 処理ミス
    other = 99  # その他


class EncryptedString(TypeDecorator):
    """A string stored Fernet-encrypted (app.core.encryption), clear in Python.

    Never compared in queries: each encryption of the same value differs."""

    impl = String(255)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else encryption.encrypt(value)

    def process_result_value(self, value, dialect):
        return None if value is None else encryption.decrypt(value)


class OptiServeUser(FabUser):
    """FAB's ``ab_user`` with OptiServe's columns (the class name must differ from FAB's
    ``User``, which FAB's own relationships name by string).

    Log-in id is the e-mail, stored lower-cased in both ``email`` and ``username``.

    The display name is kept whole in ``first_name`` (``last_name`` stays empty): Japanese
    names are entered as one ``氏名`` field, as in the owner's screens.
    """

    __tablename__ = "ab_user"

    organization_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("organization.id"), index=True
    )
    organization: Mapped[Organization | None] = relationship(Organization)
    phone: Mapped[str | None] = mapped_column(String(20))
    mobile: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[int] = mapped_column(SmallInteger, nullable=False, default=UserStatus.active)
    inactive_reason: Mapped[int | None] = mapped_column(SmallInteger)
    inactive_note: Mapped[str | None] = mapped_column(String(255))
    # Second factor (RFC 6238). The secret is needed in clear to compute codes, so it is
    # encrypted (not hashed) at rest; the last accepted time step makes every code
    # single-use (see app.services.accounts.totp).
    totp_secret: Mapped[str | None] = mapped_column(EncryptedString())
    totp_enrolled_on: Mapped[dt.datetime | None] = mapped_column(DateTime)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    # Consecutive failures are FAB's ``fail_login_count``; a lock lasts until this time (UTC).
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # Every session stores the generation current at its login and ends when it differs:
    # raising it ends all of the user's sessions (app.services.accounts.sessions.end_all_sessions).
    session_generation: Mapped[int] = mapped_column(
        Integer, nullable=False, default=0, server_default="0")

    def get_full_name(self) -> str:
        return self.first_name

    @property
    def name(self) -> str:
        return self.first_name

    @property
    def role_names(self) -> set[str]:
        return {role.name for role in self.roles}

    def __repr__(self) -> str:
        return self.first_name


User = OptiServeUser


class Invitation(Model):
    """A one-time link for a temporary user's first login. Only the token's hash is stored."""

    __tablename__ = "invitation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, ForeignKey("ab_user.id"), nullable=False, index=True)
    user: Mapped[User] = relationship(User, foreign_keys=[user_id])
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    purpose: Mapped[str] = mapped_column(String(20), nullable=False, default="invitation")
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    created_by_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("ab_user.id"))
    created_on: Mapped[dt.datetime] = mapped_column(DateTime, default=dt.datetime.utcnow)


class RecoveryCode(Model):
    """A one-time second-factor code given at TOTP enrollment; only its SHA-256 is stored."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, ForeignKey("ab_user.id"), nullable=False, index=True)
    code_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    created_on: Mapped[dt.datetime] = mapped_column(DateTime, default=dt.datetime.utcnow)
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
