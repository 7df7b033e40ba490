"""Classifications (screens 6, 7): the mapping to SMDS groups, suggestions, and the report's
selection and grouping."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.views.api_schemas.common import NULLABLE, envelope


class ModelEvidenceHint(Schema):
    hospitals = fields.Integer(required=True, metadata={"description": "other hospitals that map the model here"})
    devices = fields.Integer(required=True, metadata={"description": "this classification's devices of those models"})


class Suggestion(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    score = fields.Float(required=True)
    models = fields.Nested(ModelEvidenceHint, metadata={
        "description": "present when other hospitals map devices of the same models to this class (counts only)"})


class MappingRow(Schema):
    id = fields.Integer(required=True)
    level = fields.Integer(required=True)
    name = fields.String(required=True)
    parent = fields.String(**NULLABLE)
    device_count = fields.Integer(required=True)
    smds_classification_id = fields.Integer(**NULLABLE)
    smds_classification_name = fields.String(**NULLABLE)
    mapping_method = fields.String(**NULLABLE)
    suggestions = fields.List(fields.Nested(Suggestion), required=True)


MappingRows = envelope("MappingRows", MappingRow, many=True)


class MappingPage(Schema):
    rows = fields.List(fields.Dict(), required=True, metadata={"description": "rows like MappingRow"})
    page = fields.Integer(required=True)
    pages = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    matched = fields.Integer(required=True)
    total = fields.Integer(required=True)
    unmapped = fields.Integer(required=True)
    filter = fields.Dict(required=True)


class BulkChange(Schema):
    id = fields.Integer(required=True)
    level = fields.Integer()
    name = fields.String()
    parent = fields.String(allow_none=True)
    device_count = fields.Integer()
    smds_classification_id = fields.Integer(required=True)
    smds_classification_name = fields.String()
    score = fields.Float()


class BulkMappingRequest(Schema):
    filter = fields.Dict(metadata={"description": "the page's filter keys"})
    threshold = fields.Float()
    apply = fields.Boolean()
    changes = fields.List(fields.Nested(BulkChange), metadata={"description": "the preview, with apply: true"})


class BulkMappingResult(Schema):
    applied = fields.Boolean(required=True)
    threshold = fields.Float(required=True)
    count = fields.Integer(required=True)
    changes = fields.List(fields.Nested(BulkChange), required=True)
    message = fields.String()


class MappingRequest(Schema):
    smds_classification_id = fields.Integer(required=True, allow_none=True)
    method = fields.String(validate=validate.OneOf(["manual", "suggestion"]))


class MappingSaved(Schema):
    id = fields.Integer(required=True)
    smds_classification_id = fields.Integer(**NULLABLE)
    mapping_method = fields.String(**NULLABLE)


class ChoosableClass(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    count = fields.Integer(required=True)


class SelectedClass(ChoosableClass):
    rank = fields.Integer(required=True)


class SelectionState(Schema):
    hospital_id = fields.Integer(required=True)
    hospital_name = fields.String(required=True)
    grouping = fields.String(required=True, validate=validate.OneOf(["own", "smds"]))
    rank_count = fields.Integer(required=True)
    levels = fields.List(fields.Integer(), required=True)
    level = fields.Integer(required=True)
    is_auto = fields.Boolean(required=True)
    selected = fields.List(fields.Nested(SelectedClass), required=True)
    classifications = fields.Dict(keys=fields.String(), values=fields.List(fields.Nested(ChoosableClass)),
                                  required=True, metadata={"description": "level → classifications"})


class SelectionRequest(Schema):
    classification_ids = fields.List(fields.Integer(), required=True,
                                     metadata={"description": "order = rank; [] = automatic"})


class SelectionSaved(Schema):
    message = fields.String(required=True)
    classification_ids = fields.List(fields.Integer(), required=True)


class GroupingRequest(Schema):
    grouping = fields.String(required=True, validate=validate.OneOf(["own", "smds"]))


class GroupingSaved(Schema):
    message = fields.String(required=True)
    grouping = fields.String(required=True, validate=validate.OneOf(["own", "smds"]))
