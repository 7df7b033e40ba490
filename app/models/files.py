"""Uploaded ME-system files and report files. The two file-type code sets stay separate."""
from __future__ import annotations

import datetime as dt
import enum

from flask_appbuilder import Model
from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.organization import Organization


class UploadType(enum.IntEnum):
    ledger = 1  # 医療機器台帳
    lending = 2  # 貸出履歴
    failure = 3  # 故障履歴


class UploadStatus(str, enum.Enum):
    queued = "queued"
    processing = "processing"
    succeeded = "succeeded"
    succeeded_with_rejections = "succeeded_with_rejections"
    needs_mapping = "needs_mapping"
    failed = "failed"
    duplicate = "duplicate"
    # Withdrawn by the hospital before it was imported (needs mapping or failed): it counts for
    # nothing, its file stays for the record (app/services/uploads/discarding.py).
    discarded = "discarded"


class ReportType(enum.IntEnum):
    analysis = 1  # 分析レポート
    failure_list = 2  # 故障リスト
    no_activity_list = 3  # 未実績リスト


class UploadFile(Model):
    __tablename__ = "upload_file"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), nullable=False, index=True)
    month: Mapped[dt.date] = mapped_column(Date, nullable=False)  # first day of the target month
    file_type: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    original_name: Mapped[str] = mapped_column(String(255), nullable=False)
    storage_key: Mapped[str | None] = mapped_column(String(500))
    size: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    detected_format: Mapped[str | None] = mapped_column(String(10))
    detected_encoding: Mapped[str | None] = mapped_column(String(20))
    column_mapping: Mapped[dict | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(30), nullable=False, default=UploadStatus.queued.value)
    message: Mapped[str | None] = mapped_column(Text)  # Japanese; see app/services/stored_messages.py
    message_parts: Mapped[list | None] = mapped_column(JSON)  # [{code, params}]: shown in the reader's language
    rows_total: Mapped[int | None] = mapped_column(Integer)
    rows_imported: Mapped[int | None] = mapped_column(Integer)
    rows_rejected: Mapped[int | None] = mapped_column(Integer)
    rejected_key: Mapped[str | None] = mapped_column(String(500))
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("upload_file.id"))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))
    uploaded_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=dt.datetime.utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    fetched_at: Mapped[dt.datetime | None] = mapped_column(DateTime)  # by the on-prem system
    fetched_by_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))

    hospital: Mapped[Organization] = relationship(Organization)


class ColumnProfile(Model):
    """A hospital's saved header → canonical field mapping for one upload type."""

    __tablename__ = "column_profile"
    __table_args__ = (
        UniqueConstraint("hospital_id", "file_type", name="uq_column_profile"),
        {"extend_existing": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), nullable=False)
    file_type: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    mapping: Mapped[dict] = mapped_column(JSON, nullable=False)
    updated_on: Mapped[dt.datetime] = mapped_column(DateTime, default=dt.datetime.utcnow)


class ReportFile(Model):
    __tablename__ = "report_file"
    __table_args__ = (
        UniqueConstraint("hospital_id", "month", "file_type", "version", name="uq_report_file_version"),
        {"extend_existing": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), nullable=False, index=True)
    month: Mapped[dt.date] = mapped_column(Date, nullable=False)
    file_type: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    # A revised month gets new rows (version + 1); older versions stay downloadable.
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    source: Mapped[str] = mapped_column(String(20), nullable=False, default="generated")  # generated | onprem
    file_name: Mapped[str | None] = mapped_column(String(255))
    content_type: Mapped[str | None] = mapped_column(String(100))
    storage_key: Mapped[str | None] = mapped_column(String(500))
    size: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="queued")
    message: Mapped[str | None] = mapped_column(Text)  # Japanese; see app/services/stored_messages.py
    message_parts: Mapped[list | None] = mapped_column(JSON)  # [{code, params}]: shown in the reader's language
    source_uploads: Mapped[list | None] = mapped_column(JSON)  # [{id, sha256}]
    generated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class ReportVersion(Model):
    """One published version of a hospital-month's reports: the headline figures it was
    made from (to detect a later change of the month's data) and what changed from the
    version before."""

    __tablename__ = "report_version"
    __table_args__ = (
        UniqueConstraint("hospital_id", "month", "version", name="uq_report_version"),
        {"extend_existing": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), nullable=False, index=True)
    month: Mapped[dt.date] = mapped_column(Date, nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    snapshot: Mapped[dict | None] = mapped_column(JSON)
    changes: Mapped[list | None] = mapped_column(JSON)  # [{scope, figure, old, new, …}] vs version − 1
    published_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)


class Download(Model):
    """Every download of a report file: who and when."""

    __tablename__ = "download"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_file_id: Mapped[int] = mapped_column(ForeignKey("report_file.id"), nullable=False, index=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), nullable=False, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))
    downloaded_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=dt.datetime.utcnow)
