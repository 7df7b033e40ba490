"""The ledger (screen 5): devices, their history, and the change and restore requests."""
from __future__ import annotations

from marshmallow import Schema, fields

from app.views.api_schemas.common import MONTH, NULLABLE


class Device(Schema):
    id = fields.Integer(required=True)
    counts = fields.Boolean(**NULLABLE, metadata={"description": "counts in aggregation (effective)"})
    default_counts = fields.Boolean(**NULLABLE)
    override_counts = fields.Boolean(**NULLABLE)
    department = fields.String(**NULLABLE)
    device_number = fields.String(**NULLABLE)
    product_name = fields.String(**NULLABLE)
    model_number = fields.String(**NULLABLE)
    serial_number = fields.String(**NULLABLE)
    maker_name = fields.String(**NULLABLE)
    delivered_on = fields.String(**NULLABLE, metadata={"format": "date"})
    expires_on = fields.String(**NULLABLE, metadata={"format": "date"})
    classification_id = fields.Integer(**NULLABLE)
    classification = fields.String(**NULLABLE)
    default_classification_id = fields.Integer(**NULLABLE)
    default_classification = fields.String(**NULLABLE)
    override_classification_id = fields.Integer(**NULLABLE)
    overridden = fields.Boolean(required=True)
    has_activity = fields.Boolean(**NULLABLE)
    in_latest_ledger = fields.Boolean(**NULLABLE)
    disposed_on = fields.String(**NULLABLE, metadata={"format": "date"})


class LedgerPage(Schema):
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    pages = fields.Integer(required=True)
    page_size = fields.Integer(required=True)
    rows = fields.List(fields.Nested(Device), required=True)
    latest_ledger_month = fields.String(**NULLABLE, metadata={"description": "YYYY-MM", **MONTH})


class DeviceChange(Schema):
    changed_at = fields.String(required=True, metadata={"format": "date-time"})
    changed_by_id = fields.Integer(**NULLABLE)
    changed_by = fields.String(**NULLABLE, metadata={"description": "the editor's name"})
    field = fields.String(required=True)
    old = fields.String(**NULLABLE)
    new = fields.String(**NULLABLE)
    reason = fields.String(**NULLABLE)


class DeviceDetail(Schema):
    result = fields.Nested(Device, required=True)
    history = fields.List(fields.Nested(DeviceChange), required=True)


class LedgerFilterFields(Schema):
    q = fields.String()
    classification_id = fields.Integer(metadata={"description": "the class and the classes under it"})
    department = fields.String()
    maker = fields.String()
    model = fields.String()
    state = fields.String()


class LedgerRestoreRequest(Schema):
    """The devices: one of ``ids``, ``model_number``, ``filter``, ``all: true``."""

    ids = fields.List(fields.Integer())
    model_number = fields.String()
    filter = fields.Nested(LedgerFilterFields)
    all = fields.Boolean()
    reason = fields.String(required=True)


class LedgerChangeRequest(LedgerRestoreRequest):
    """The devices as for a restore, and what to set on them."""

    counts = fields.Boolean(allow_none=True)
    classification_id = fields.Integer(allow_none=True)


class LedgerChanged(Schema):
    changed = fields.Integer(required=True, metadata={"description": "how many values changed"})
