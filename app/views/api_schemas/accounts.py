"""Users (screen 2) and their API keys."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.views.api_schemas.common import NULLABLE, envelope


class ApiKey(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    key_prefix = fields.String(required=True, metadata={"description": "the first 12 characters"})
    user_id = fields.Integer(required=True)
    user_email = fields.String(required=True)
    state = fields.String(required=True, validate=validate.OneOf(["active", "expired", "revoked"]))
    created_on = fields.String(**NULLABLE, metadata={"format": "date-time"})
    expires_on = fields.String(**NULLABLE, metadata={"format": "date-time"})
    last_used_on = fields.String(**NULLABLE, metadata={"format": "date-time"})
    revoked_on = fields.String(**NULLABLE, metadata={"format": "date-time"})


class ApiKeyCreated(ApiKey):
    key = fields.String(required=True, metadata={"description": "the key itself (sst_…), shown this once"})


class KeyReads(Schema):
    day = fields.String(required=True, metadata={"format": "date"})
    reads = fields.Integer(required=True)


class ApiKeyDetail(ApiKey):
    reads_per_day = fields.List(fields.Nested(KeyReads), required=True)


ApiKeyList = envelope("ApiKeyList", ApiKey, many=True)
ApiKeyResult = envelope("ApiKeyResult", ApiKey)
ApiKeyCreatedResult = envelope("ApiKeyCreatedResult", ApiKeyCreated)
ApiKeyDetailResult = envelope("ApiKeyDetailResult", ApiKeyDetail)


class ApiKeyRequest(Schema):
    user_id = fields.Integer(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=256))
    expires_on = fields.String(metadata={"description": "YYYY-MM-DD (end of that day, JST) or ISO date-time"})


# ---------------------------------------------------------------- users

class DeactivateRequest(Schema):
    reason = fields.Integer(required=True, validate=validate.OneOf([1, 2, 3, 99]))
    note = fields.String(required=True)
