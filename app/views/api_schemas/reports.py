"""Reports (screen 4) and a month's dashboard figures."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.views.api_schemas.common import NULLABLE, envelope, month_field


class ReportFile(Schema):
    id = fields.Integer(required=True)
    hospital_id = fields.Integer(required=True)
    month = month_field(required=True)
    file_type = fields.Integer(required=True)
    version = fields.Integer(required=True)
    name = fields.String(required=True)
    file_name = fields.String(required=True)
    size = fields.Integer(**NULLABLE)
    sha256 = fields.String(**NULLABLE)
    source = fields.String(required=True)
    published_at = fields.String(**NULLABLE, metadata={"format": "date-time"})
    download_url = fields.String(required=True)


class ReportFileWithVersions(ReportFile):
    older_versions = fields.List(fields.Nested(ReportFile),
                                 metadata={"description": "absent with all_versions=1"})


ReportList = envelope("ReportList", ReportFileWithVersions, many=True)


# ---------------------------------------------------------------- dashboard figures

def _number(description: str = "", **kwargs):
    return fields.Float(allow_none=True, required=True, metadata={"description": description} if description else {},
                        **kwargs)


class FigureChange(Schema):
    text = fields.String(required=True, metadata={"description": "as the card shows it, — when unknown"})
    tone = fields.String(required=True, validate=validate.OneOf(["good", "bad", "neutral", "flat", "none"]))
    arrow = fields.String(required=True, validate=validate.OneOf(["▲", "▼", "→", ""]))


class FigureCard(Schema):
    section = fields.String(required=True, validate=validate.OneOf(["lending", "failure"]))
    key = fields.String(required=True)
    label = fields.String(required=True)
    unit = fields.String(required=True, metadata={"description": "%, 台, 回 or 時間 (the stored unit)"})
    unit_label = fields.String(required=True)
    value = _number("the raw value (a ratio as a fraction)")
    text = fields.String(required=True, metadata={"description": "the value as the card shows it"})
    meaning = fields.String(required=True, validate=validate.OneOf(["good", "bad", "neutral"]))
    previous = fields.Nested(FigureChange, required=True, metadata={"description": "vs. the previous month"})
    last_year = fields.Nested(FigureChange, required=True, metadata={"description": "vs. the month a year before"})


class FigureRow(Schema):
    key = fields.String(required=True)
    label = fields.String(required=True)
    unit = fields.String(required=True)
    value = _number()
    previous = _number()
    last_year = _number()
    mean_12 = _number("mean of the 12 months before")
    diff_previous = _number()
    diff_last_year = _number()
    diff_mean_12 = _number()
    trend = fields.List(fields.Float(allow_none=True), required=True,
                        metadata={"description": "one value per month of `months`"})


class LifeRow(Schema):
    bucket = fields.String(required=True, metadata={"description": "expired, 0–9 (years), 10+ or unknown"})
    label = fields.String(required=True)
    devices = fields.Integer(required=True)
    lending_hours = fields.Float(required=True)


class FigureScope(Schema):
    key = fields.String(required=True, metadata={"description": "all, or a classification group"})
    name = fields.String(required=True)
    lending = fields.List(fields.Nested(FigureRow), required=True, metadata={"description": "① lending"})
    failure = fields.List(fields.Nested(FigureRow), required=True, metadata={"description": "② failures"})
    life = fields.List(fields.Nested(LifeRow), required=True, metadata={"description": "③ remaining life"})
    models_near_end = fields.List(fields.Dict(), required=True, metadata={"description": "④ models to renew"})
    top_models = fields.List(fields.Dict(), required=True,
                             metadata={"description": "⑤ models by hours per lending"})


class DashboardFigures(Schema):
    hospital_id = fields.Integer(required=True)
    hospital_code = fields.String(required=True)
    hospital_name = fields.String(required=True)
    month = month_field(required=True)
    has_data = fields.Boolean(required=True)
    months = fields.List(month_field(), required=True, metadata={"description": "the 13 months of the trends"})
    cards = fields.List(fields.Nested(FigureCard), required=True)
    scopes = fields.List(fields.Nested(FigureScope), required=True)
    ranking = fields.List(fields.Dict(), required=True, metadata={"description": "⑥ utilization ranking"})


DashboardFiguresResult = envelope("DashboardFiguresResult", DashboardFigures)
