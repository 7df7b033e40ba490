"""The equipment ledger (機器台帳), lendings (貸出) and failures (故障)."""
from __future__ import annotations

import datetime as dt

from flask_appbuilder import Model
from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.normalize import DEVICE_KEY_MAX, MODEL_KEY_MAX, device_key, model_key
from app.models.classification import Classification, Maker


def _device_key_default(context) -> str:
    return device_key(context.get_current_parameters()["device_number"])


def _model_key_default(context) -> str | None:
    return model_key(context.get_current_parameters().get("model_number"))


class Equipment(Model):
    """One device of a hospital's ledger.

    ``default_counts`` is the flag before the hospital's changes: always true (which months a
    device counts in is decided by the ledgers that list it, :class:`LedgerListing`);
    ``override_counts`` and ``override_classification_id`` are the hospital's changes (NULL =
    no override). The effective values are ``coalesce(override, default)``.
    """

    __tablename__ = "equipment"
    __table_args__ = (
        UniqueConstraint("hospital_id", "device_key", name="uq_equipment_device_key"),
        # The ledger list's order (one page is an index range) and its filter dropdowns.
        Index("ix_equipment_list_order", "hospital_id", "department_use", "device_number", "id"),
        Index("ix_equipment_hospital_maker", "hospital_id", "maker_name"),
        # Other hospitals' devices of a model (screen 7's model evidence, classifications/evidence.py).
        Index("ix_equipment_model_key", "model_key", "hospital_id"),
        {"extend_existing": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), nullable=False, index=True)
    device_number: Mapped[str] = mapped_column(String(50), nullable=False)
    # app.core.normalize.device_key(device_number): what uploads match on (width and case folded).
    device_key: Mapped[str] = mapped_column(String(DEVICE_KEY_MAX), nullable=False, default=_device_key_default)
    classification_id: Mapped[int | None] = mapped_column(ForeignKey("classification.id"), index=True)
    product_name: Mapped[str | None] = mapped_column(String(200))
    # Not indexed: models are compared on model_key (ix_equipment_model_key); an index on the
    # raw number served no query and cost every ledger upload its upkeep.
    model_number: Mapped[str | None] = mapped_column(String(200))
    # app.core.normalize.model_key(model_number): what models are compared on across hospitals.
    model_key: Mapped[str | None] = mapped_column(String(MODEL_KEY_MAX), default=_model_key_default)
    maker_id: Mapped[int | None] = mapped_column(ForeignKey("maker.id"), index=True)
    maker_name: Mapped[str | None] = mapped_column(String(200))
    serial_number: Mapped[str | None] = mapped_column(String(100))
    department_manage: Mapped[str | None] = mapped_column(String(100))
    department_use: Mapped[str | None] = mapped_column(String(100))
    department_purchase: Mapped[str | None] = mapped_column(String(100))
    purchased_on: Mapped[dt.date | None] = mapped_column(Date)
    delivered_on: Mapped[dt.date | None] = mapped_column(Date)
    asset_number: Mapped[str | None] = mapped_column(String(100))
    jmdn_code: Mapped[str | None] = mapped_column(String(20))
    expires_on: Mapped[dt.date | None] = mapped_column(Date)
    disposed_on: Mapped[dt.date | None] = mapped_column(Date)
    default_counts: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    override_counts: Mapped[bool | None] = mapped_column(Boolean)
    override_classification_id: Mapped[int | None] = mapped_column(ForeignKey("classification.id"))
    upload_id: Mapped[int | None] = mapped_column(ForeignKey("upload_file.id"))
    updated_on: Mapped[dt.datetime] = mapped_column(
        DateTime, default=dt.datetime.utcnow, onupdate=dt.datetime.utcnow
    )

    classification: Mapped[Classification | None] = relationship(
        Classification, foreign_keys=[classification_id]
    )
    override_classification: Mapped[Classification | None] = relationship(
        Classification, foreign_keys=[override_classification_id]
    )
    maker: Mapped[Maker | None] = relationship(Maker)

    @property
    def counts_in_aggregation(self) -> bool:
        return self.default_counts if self.override_counts is None else self.override_counts

    @property
    def effective_classification_id(self) -> int | None:
        return self.override_classification_id or self.classification_id


# The ledger list's classification filter and the devices of the classifications a search
# names (app/services/ledger/maintenance.filter_clauses) compare the effective class: indexed,
# so that a search's "text or classification" is two index look-ups OR-ed, not a scan.
Index("ix_equipment_effective_class", Equipment.hospital_id,
      func.coalesce(Equipment.override_classification_id, Equipment.classification_id))


class LedgerListing(Model):
    """What one ledger listed: the hospital's devices as of the ledger's month.

    The ledger in force for month M is the hospital's latest ledger month ≤ M; a device
    counts in M only when that ledger lists it (app/device_months.py). A re-upload of a
    month's ledger replaces that month's rows; other months' rows are never touched.

    No foreign keys, on purpose: rows are only written from the ids of the hospital's own
    ``equipment`` rows in the same transaction (devices are never deleted), and PostgreSQL's
    per-row foreign-key checks would cost ~0.4 s of every 15,000-device ledger upload.
    """

    __tablename__ = "ledger_listing"

    hospital_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    equipment_id: Mapped[int] = mapped_column(Integer, primary_key=True)


class EquipmentChange(Model):
    """History of ledger overrides: who, when, why, old → new. Never deleted."""

    __tablename__ = "equipment_change"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    equipment_id: Mapped[int] = mapped_column(ForeignKey("equipment.id"), nullable=False, index=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), nullable=False, index=True)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=dt.datetime.utcnow)
    field: Mapped[str] = mapped_column(String(40), nullable=False)
    old_value: Mapped[str | None] = mapped_column(String(200))
    new_value: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text, nullable=False)


class Lending(Model):
    """One lending of one device, identified by (hospital, device, lent at to the minute).

    Files of any window upsert into this one row (app/ingest/write.py, docs/figures.md):
    ``month`` is the upload month of the file that first listed it; ``upload_id`` the last
    upload that listed it; ``end_upload_id`` the upload that gave ``returned_at``.
    ``open_until`` is the end of the last month whose file listed it with a blank return:
    while ``returned_at`` is unknown the lending counts up to there and no further
    (返却日不明 after that).
    """

    __tablename__ = "lending"
    __table_args__ = (
        # The event key (hospital, device, start); device first so it also serves
        # per-device lookups.
        UniqueConstraint("equipment_id", "lent_at", "hospital_id", name="uq_lending_event"),
        Index("ix_lending_hospital_month", "hospital_id", "month"),
        Index("ix_lending_hospital_lent", "hospital_id", "lent_at"),
        {"extend_existing": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), nullable=False)
    equipment_id: Mapped[int] = mapped_column(ForeignKey("equipment.id"), nullable=False)
    month: Mapped[dt.date] = mapped_column(Date, nullable=False)
    lent_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    returned_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    open_until: Mapped[dt.datetime | None] = mapped_column(DateTime)
    department: Mapped[str | None] = mapped_column(String(100))
    # Upload ids without foreign keys: bookkeeping of the reconciliation, written for every
    # event (a key check per row doubled the ingest's database cost; migration 0010_h10).
    upload_id: Mapped[int | None] = mapped_column(Integer)
    end_upload_id: Mapped[int | None] = mapped_column(Integer)


class Failure(Model):
    """One failure of one device, identified by (hospital, device, failed at to the minute);
    the columns mean what they mean on :class:`Lending` (``open_until``: 修理日不明 after it)."""

    __tablename__ = "failure"
    __table_args__ = (
        # The event key (hospital, device, start); device first so it also serves
        # per-device lookups.
        UniqueConstraint("equipment_id", "failed_at", "hospital_id", name="uq_failure_event"),
        Index("ix_failure_hospital_month", "hospital_id", "month"),
        Index("ix_failure_hospital_failed", "hospital_id", "failed_at"),
        {"extend_existing": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), nullable=False)
    equipment_id: Mapped[int] = mapped_column(ForeignKey("equipment.id"), nullable=False)
    month: Mapped[dt.date] = mapped_column(Date, nullable=False)
    failed_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    repaired_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    open_until: Mapped[dt.datetime | None] = mapped_column(DateTime)
    description: Mapped[str | None] = mapped_column(Text)
    upload_id: Mapped[int | None] = mapped_column(Integer)  # no foreign keys: see Lending
    end_upload_id: Mapped[int | None] = mapped_column(Integer)
