"""The OpenAPI contract's schemas: what every REST API of OptiServe takes and answers.

Registered as components of ``/api/v1/_openapi`` (``COMPONENTS``, through
:class:`app.views.openapi.OptiServeOpenApi`) and referenced from the views' docstrings as
``$ref: '#/components/schemas/<Name>'``. ``tests/test_api_contract.py`` sends generated
requests to every operation and checks each answer against these schemas, so a schema that
drifts from what a view returns fails the suite.

Every error answer of every API has the one shape :class:`Error` (``{"message": …}``, in the
user's language, plus ``errors`` where several things were refused at once).
"""
from __future__ import annotations

from marshmallow import Schema, fields, validate

MONTH = {"pattern": r"^\d{4}-\d{2}$"}
NULLABLE = {"allow_none": True, "required": True}


def _month(**kwargs):
    return fields.String(metadata={"description": "YYYY-MM", **MONTH}, **kwargs)


def _envelope(name: str, schema: type[Schema], *, many: bool = False) -> type[Schema]:
    """The answer ``{"result": …}`` around one ``schema`` object (a list of them with ``many``),
    as component ``name``."""
    result = fields.List(fields.Nested(schema), required=True) if many else fields.Nested(schema, required=True)
    return type(name, (Schema,), {"result": result, "__module__": __name__})


class Error(Schema):
    """Every 4xx/5xx answer of the APIs."""

    message = fields.String(required=True, metadata={"description": "what went wrong, for a person"})
    errors = fields.Raw(metadata={"description": "per-item or per-field details, when there are several"})


# ---------------------------------------------------------------- API keys

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


ApiKeyList = _envelope("ApiKeyList", ApiKey, many=True)
ApiKeyResult = _envelope("ApiKeyResult", ApiKey)
ApiKeyCreatedResult = _envelope("ApiKeyCreatedResult", ApiKeyCreated)
ApiKeyDetailResult = _envelope("ApiKeyDetailResult", ApiKeyDetail)


class ApiKeyRequest(Schema):
    user_id = fields.Integer(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=256))
    expires_on = fields.String(metadata={"description": "YYYY-MM-DD (end of that day, JST) or ISO date-time"})


# ---------------------------------------------------------------- uploads (screen 3)

class UploadStatus(Schema):
    id = fields.Integer(required=True)
    month = _month(required=True)
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


class UploadMonth(Schema):
    month = _month(required=True)
    date = fields.String(required=True, metadata={"description": "latest upload (JST) or empty"})
    marks = fields.Dict(keys=fields.String(), values=fields.String(), required=True,
                        metadata={"description": "file type → ○ (done) or -"})
    status = fields.String(required=True)


class UploadList(Schema):
    result = fields.List(fields.Nested(UploadStatus), required=True)
    history = fields.List(fields.Nested(UploadMonth), required=True)


UploadAccepted = _envelope("UploadAccepted", UploadStatus, many=True)
UploadResult = _envelope("UploadResult", UploadStatus)


class UploadForm(Schema):
    month = _month(required=True)
    file_type = fields.Integer(validate=validate.OneOf([1, 2, 3]))
    file = fields.Raw(metadata={"type": "string", "format": "binary"})
    hospital_id = fields.Integer(metadata={"description": "operators and dealers: the hospital"})


# ---------------------------------------------------------------- ledger (screen 5)

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
    classification_id = fields.Integer()
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


# ---------------------------------------------------------------- classifications (screens 6, 7)

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


MappingRows = _envelope("MappingRows", MappingRow, many=True)


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


# ---------------------------------------------------------------- reports (screen 4)

class ReportFile(Schema):
    id = fields.Integer(required=True)
    hospital_id = fields.Integer(required=True)
    month = _month(required=True)
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


ReportList = _envelope("ReportList", ReportFileWithVersions, many=True)


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
    month = _month(required=True)
    has_data = fields.Boolean(required=True)
    months = fields.List(_month(), required=True, metadata={"description": "the 13 months of the trends"})
    cards = fields.List(fields.Nested(FigureCard), required=True)
    scopes = fields.List(fields.Nested(FigureScope), required=True)
    ranking = fields.List(fields.Dict(), required=True, metadata={"description": "⑥ utilization ranking"})


DashboardFiguresResult = _envelope("DashboardFiguresResult", DashboardFigures)


# ---------------------------------------------------------------- System (on-prem)

class SystemUpload(Schema):
    id = fields.Integer(required=True)
    hospital_id = fields.Integer(required=True)
    hospital_code = fields.String(required=True)
    month = _month(required=True)
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


SystemUploadResult = _envelope("SystemUploadResult", SystemUpload)


class PublishedReport(Schema):
    id = fields.Integer(required=True)
    hospital_code = fields.String(required=True)
    month = _month(required=True)
    file_type = fields.Integer(required=True, validate=validate.OneOf([1, 2, 3]))
    file_name = fields.String(required=True)
    content_type = fields.String(**NULLABLE)
    size = fields.Integer(**NULLABLE)
    sha256 = fields.String(**NULLABLE)
    source = fields.String(required=True)
    notified = fields.Boolean(required=True, metadata={"description": "this publication mailed the hospital"})


PublishedReportResult = _envelope("PublishedReportResult", PublishedReport)


class ReportPublishForm(Schema):
    organization_code = fields.String(required=True)
    month = _month(required=True)
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


MastersPushedResult = _envelope("MastersPushedResult", MastersPushed)


class LedgerPush(Schema):
    organization_code = fields.String(required=True)
    month = _month(required=True)
    rows = fields.List(fields.Dict(), required=True,
                       metadata={"description": "rows keyed by the canonical ledger fields"})


class LedgerPushForm(Schema):
    organization_code = fields.String(required=True)
    month = _month(required=True)
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class PushedLedger(UploadStatus):
    hospital_code = fields.String(required=True)


PushedLedgerResult = _envelope("PushedLedgerResult", PushedLedger)


# ---------------------------------------------------------------- users (screen 2)

class DeactivateRequest(Schema):
    reason = fields.Integer(required=True, validate=validate.OneOf([1, 2, 3, 99]))
    note = fields.String(required=True)


COMPONENTS = tuple(
    value for value in list(globals().values())
    if isinstance(value, type) and issubclass(value, Schema) and value is not Schema
    and value.__module__ == __name__
)
