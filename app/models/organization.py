"""Organizations: hospitals, dealers, manufacturers and the operator (SMDS)."""
from __future__ import annotations

import datetime as dt
import enum

from flask_appbuilder import Model
from sqlalchemy import Boolean, DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.validation import split_lines


class OrganizationKind(str, enum.Enum):
    hospital = "hospital"
    dealer = "dealer"
    manufacturer = "manufacturer"
    operator = "operator"



class Organization(Model):
    __tablename__ = "organization"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False, index=True)
    code: Mapped[str] = mapped_column(String(30), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    postal_code: Mapped[str | None] = mapped_column(String(8))
    prefecture: Mapped[str | None] = mapped_column(String(20), index=True)
    city: Mapped[str | None] = mapped_column(String(50))
    address_line1: Mapped[str | None] = mapped_column(String(100))
    address_line2: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(20))
    notification_emails: Mapped[str | None] = mapped_column(Text)
    allowed_email_domains: Mapped[str | None] = mapped_column(Text)
    ip_allowlist: Mapped[str | None] = mapped_column(Text)
    mfa_required: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    report_rank_count: Mapped[int] = mapped_column(Integer, nullable=False, default=5)
    analysis_level: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    manufacturer_selection_count: Mapped[int] = mapped_column(Integer, nullable=False, default=5)
    allows_manufacturer_access: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # How reports and the dashboard group devices: "own" (the hospital's classifications,
    # K007) or "smds" (the SMDS classifications they are mapped to on screen 7).
    report_grouping: Mapped[str] = mapped_column(String(10), nullable=False, default="own")
    created_on: Mapped[dt.datetime] = mapped_column(DateTime, default=dt.datetime.utcnow)
    changed_on: Mapped[dt.datetime] = mapped_column(
        DateTime, default=dt.datetime.utcnow, onupdate=dt.datetime.utcnow
    )

    @property
    def notification_email_list(self) -> list[str]:
        return split_lines(self.notification_emails)

    @property
    def allowed_domain_list(self) -> list[str]:
        return [d.lower().lstrip("@") for d in split_lines(self.allowed_email_domains)]

    @property
    def ip_allowlist_entries(self) -> list[str]:
        return split_lines(self.ip_allowlist)

    @property
    def is_hospital(self) -> bool:
        return self.kind == OrganizationKind.hospital.value

    def __repr__(self) -> str:
        return self.name
