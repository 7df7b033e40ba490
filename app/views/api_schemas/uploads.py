"""Uploads (screen 3): the form, an upload's status, the months and their files."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.views.api_schemas.common import NULLABLE, envelope, month_field


class UploadStatus(Schema):
    id = fields.Integer(required=True)
    month = month_field(required=True)
    file_type = fields.Integer(required=True, validate=validate.OneOf([1, 2, 3]),
                               metadata={"description": "1 ledger, 2 lending, 3 failure"})
    file_type_label = fields.String(required=True)
    original_name = fields.String(required=True)
    uploaded_at = fields.String(required=True, metadata={"description": "JST, YYYY-MM-DD HH:MM:SS"})
    status = fields.String(required=True)
    status_label = fields.String(required=True)
    message = fields.String(required=True, metadata={"description": "in the request's language (_l_=en)"})
    message_codes = fields.List(fields.String(), required=True, metadata={
        "description": "the message's stable codes, sentence by sentence (e.g. ingest.imported, "
                       "ingest.rows_rejected); empty for an upload stored before codes existed"})
    rows_total = fields.Integer(**NULLABLE)
    rows_imported = fields.Integer(**NULLABLE)
    rows_rejected = fields.Integer(**NULLABLE)
    duplicate_of = fields.Integer(**NULLABLE)
    done = fields.Boolean(required=True)
    discardable = fields.Boolean(required=True, metadata={
        "description": "needs column mapping or failed: POST /api/v1/uploads/{id}/discard withdraws it"})


class UploadMonth(Schema):
    month = month_field(required=True)
    date = fields.String(required=True, metadata={"description": "latest upload (JST) or empty"})
    marks = fields.Dict(keys=fields.String(), values=fields.String(), required=True,
                        metadata={"description": "file type → ○ (done) or -"})
    status = fields.String(required=True, metadata={
        "description": "decided by the files in force (the latest upload of each type that succeeded)"})
    newer = fields.String(required=True, metadata={
        "description": "newer uploads that have not succeeded (waiting, needs mapping, failed) beside "
                       "files in force, e.g. 新しいファイル: 貸出履歴（列の対応付けが必要）; empty if none"})


class UploadList(Schema):
    result = fields.List(fields.Nested(UploadStatus), required=True)
    history = fields.List(fields.Nested(UploadMonth), required=True)


UploadAccepted = envelope("UploadAccepted", UploadStatus, many=True)
UploadResult = envelope("UploadResult", UploadStatus)


class UploadForm(Schema):
    month = month_field(required=True)
    file_type = fields.Integer(validate=validate.OneOf([1, 2, 3]))
    file = fields.Raw(metadata={"type": "string", "format": "binary"})
    hospital_id = fields.Integer(metadata={"description": "operators and dealers: the hospital"})
