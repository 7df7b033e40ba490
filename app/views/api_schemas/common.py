"""What every schema module shares: months, nullable fields, the ``{"result": …}`` envelope and
the one error shape :class:`Error`."""
from __future__ import annotations

from marshmallow import Schema, fields

MONTH = {"pattern": r"^\d{4}-\d{2}$"}
NULLABLE = {"allow_none": True, "required": True}


def month_field(**kwargs):
    return fields.String(metadata={"description": "YYYY-MM", **MONTH}, **kwargs)


def envelope(name: str, schema: type[Schema], *, many: bool = False) -> type[Schema]:
    """The answer ``{"result": …}`` around one ``schema`` object (a list of them with ``many``),
    as component ``name``."""
    result = fields.List(fields.Nested(schema), required=True) if many else fields.Nested(schema, required=True)
    return type(name, (Schema,), {"result": result, "__module__": __name__})


class Error(Schema):
    """Every 4xx/5xx answer of the APIs."""

    message = fields.String(required=True, metadata={"description": "what went wrong, for a person"})
    errors = fields.Raw(metadata={"description": "per-item or per-field details, when there are several"})
