"""The System APIs (on-prem): uploaded files, published reports, the changes feed, and the
masters and ledger pushes."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.views.api_schemas.common import NULLABLE, envelope, month_field
from app.views.api_schemas.uploads import UploadStatus


class SystemUpload(Schema):
    id = fields.Integer(required=True)
    hospital_id = fields.Integer(required=True)
    hospital_code = fields.String(required=True)
    month = month_field(required=True)
    file_type = fields.Integer(required=True, validate=validate.OneOf([1, 2, 3]))
    file_kind = fields.String(**NULLABLE)
    original_name = fields.String(required=True)
    size = fields.Integer(**NULLABLE)
    sha256 = fields.String(required=True)
    status = fields.String(required=True)
    uploaded_at = fields.String(required=True, metadata={"format": "date-time"})
    fetched_at = fields.String(**NULLABLE, metadata={"format": "date-time"})


class SystemUploadPage(Schema):
    result = fields.List(fields.Nested(SystemUpload), required=True)
    next_cursor = fields.Integer(required=True, metadata={"description": "send it as `cursor` next time"})


SystemUploadResult = envelope("SystemUploadResult", SystemUpload)


class PublishedReport(Schema):
    id = fields.Integer(required=True)
    hospital_code = fields.String(required=True)
    month = month_field(required=True)
    file_type = fields.Integer(required=True, validate=validate.OneOf([1, 2, 3]))
    file_name = fields.String(required=True)
    content_type = fields.String(**NULLABLE)
    size = fields.Integer(**NULLABLE)
    sha256 = fields.String(**NULLABLE)
    source = fields.String(required=True)
    notified = fields.Boolean(required=True, metadata={"description": "this publication mailed the hospital"})


PublishedReportResult = envelope("PublishedReportResult", PublishedReport)


class ReportPublishForm(Schema):
    organization_code = fields.String(required=True)
    month = month_field(required=True)
    file_type = fields.Integer(required=True, validate=validate.OneOf([1, 2, 3]))
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class ChangeEntry(Schema):
    seq = fields.Integer(required=True, metadata={"description": "ascending; the cursor"})
    entity = fields.String(required=True, validate=validate.OneOf(
        ["organization", "user", "ledger_setting", "classification", "report_selection",
         "dealer_permission", "manufacturer_selection"]))
    key = fields.String(required=True, metadata={"description": "the thing's natural key"})
    op = fields.String(required=True, validate=validate.OneOf(["upsert", "delete"]))
    data = fields.Dict(**NULLABLE, metadata={"description": "the state after the change; null on delete"})
    changed_at = fields.String(required=True, metadata={"format": "date-time"})


class ChangesPage(Schema):
    result = fields.List(fields.Nested(ChangeEntry), required=True)
    next_cursor = fields.Integer(required=True, metadata={"description": "send it as `since` next time"})
    has_more = fields.Boolean(required=True)
    latest = fields.Integer(required=True, metadata={"description": "the newest seq"})


class MastersPush(Schema):
    full = fields.Boolean(metadata={"description": "deactivate earlier pushed rows a sent list no longer has"})
    hospitals = fields.List(fields.Dict())
    dealers = fields.List(fields.Dict())
    manufacturers = fields.List(fields.Dict())
    smds_classifications = fields.List(fields.Dict())
    hospital_classifications = fields.List(fields.Dict())
    makers = fields.List(fields.Dict())


class MasterCounts(Schema):
    created = fields.Integer(required=True)
    updated = fields.Integer(required=True)
    unchanged = fields.Integer(required=True)
    deactivated = fields.Integer(required=True)


class MastersPushed(Schema):
    full = fields.Boolean(required=True)
    changed = fields.Boolean(required=True)
    counts = fields.Dict(keys=fields.String(), values=fields.Nested(MasterCounts), required=True,
                         metadata={"description": "list name → counts"})


MastersPushedResult = envelope("MastersPushedResult", MastersPushed)


class LedgerPush(Schema):
    organization_code = fields.String(required=True)
    month = month_field(required=True)
    rows = fields.List(fields.Dict(), required=True,
                       metadata={"description": "rows keyed by the canonical ledger fields"})


class LedgerPushForm(Schema):
    organization_code = fields.String(required=True)
    month = month_field(required=True)
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class PushedLedger(UploadStatus):
    hospital_code = fields.String(required=True)


PushedLedgerResult = envelope("PushedLedgerResult", PushedLedger)
