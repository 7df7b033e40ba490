"""System APIs (/api/v1/system/...): what the on-prem systems pull and publish.

Role System (service accounts, API keys only) and Admin hold the ``SystemApi`` permissions;
the scope must cover every hospital (:data:`app.access.capabilities.SYSTEM_SYNC` or an operator), and every
write takes an ``Idempotency-Key`` header (:mod:`app.services.sync.idempotency`).
"""
from __future__ import annotations

import functools

from flask import current_app, g, jsonify, request
from flask_appbuilder.api import expose, protect
from flask_babel import gettext as _

from app.access.scope import current_scope
from app.extensions import db
from app.infra.locks import hospital_reports_lock
from app.services.sync import feed, idempotency
from app.services.sync import onprem as system_sync
from app.services.uploads.records import upload_in_scope
from app.views.api_base import OptiServeApi
from app.views.upload import original_download

IDEMPOTENCY_HEADER = "Idempotency-Key"
# A report publish waits this long at most for the hospital's report run (a request must not
# hang for a run's minutes); then 503 with Retry-After, which frees the Idempotency-Key.
PUBLISH_LOCK_WAIT_SECONDS = 10
# Held for the request only; should its process die, the lock frees itself after this (a request
# never outlives gunicorn's 120 s timeout).
PUBLISH_LOCK_HOLD_SECONDS = 300
PUBLISH_RETRY_AFTER_SECONDS = 60


def _operator_wide(view):
    @functools.wraps(view)
    def wrapper(self, *args, **kwargs):
        if not current_scope().everything:
            return self.response_403()
        try:
            return view(self, *args, **kwargs)
        except system_sync.SyncError as exc:
            db.session.rollback()
            extra = {"errors": exc.errors} if exc.errors else {}
            return self.response(exc.status, message=exc.message, **extra)
    return wrapper


def _request_hash() -> str:
    files = {name: (storage.filename or "", storage.read()) for name, storage in request.files.items()}
    for storage in request.files.values():
        storage.stream.seek(0)
    fields = {key: request.form.getlist(key) for key in request.form}
    body = b"" if request.files or request.form else request.get_data(cache=True)
    return idempotency.request_hash(request.method, request.full_path, fields, files, body)


def idempotent(view):
    """Answer a repeat of the same request from the stored first answer (see app.services.sync.idempotency)."""
    @functools.wraps(view)
    def wrapper(self, *args, **kwargs):
        key = (request.headers.get(IDEMPOTENCY_HEADER) or "").strip()
        if not key or len(key) > idempotency.MAX_KEY_LENGTH:
            return self.response_400(message=_("Idempotency-Key ヘッダー（200文字以内）を指定してください。"))
        user_id = g.user.id
        try:
            stored = idempotency.reserve(user_id, key, _request_hash(),
                                         current_app.config.get("IDEMPOTENCY_HOURS", 48))
        except idempotency.IdempotencyConflict as exc:
            message = (_("同じ Idempotency-Key の要求を処理中です。") if exc.in_progress
                       else _("この Idempotency-Key は別の内容の要求に使われています。"))
            return self.response(409, message=message)
        if stored is not None:
            response = jsonify(stored.response)
            response.status_code = stored.status
            response.headers["Idempotent-Replayed"] = "true"
            return response
        try:
            response = view(self, *args, **kwargs)
        except BaseException:
            idempotency.complete(user_id, key, 500, {})
            raise
        idempotency.complete(user_id, key, response.status_code, response.get_json(silent=True) or {})
        return response
    return wrapper


class SystemUploadApi(OptiServeApi):
    route_base = "/api/v1/system/uploads"
    class_permission_name = "SystemApi"
    method_permission_name = {"list_unfetched": "read", "get_file": "read", "acknowledge": "write"}
    openapi_spec_tag = "System"

    @expose("/", methods=["GET"])
    @protect()
    @_operator_wide
    def list_unfetched(self):
        """Uploads not yet fetched, every hospital.
        ---
        get:
          summary: Uploads not yet fetched (ascending id after `cursor`)
          parameters:
          - {in: query, name: cursor, schema: {type: integer, minimum: 0}}
          - {in: query, name: page_size, schema: {type: integer, minimum: 1, maximum: 500}}
          responses:
            200:
              description: "`result` (uploads) and `next_cursor` (always present)"
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/SystemUploadPage'}
            400: {description: malformed cursor or page size}
        """
        cursor = system_sync.parse_cursor(request.args.get("cursor"))
        rows, next_cursor = system_sync.unfetched_uploads(
            cursor, system_sync.parse_page_size(request.args.get("page_size")))
        return self.response(200, result=[system_sync.upload_payload(u) for u in rows],
                             next_cursor=next_cursor)

    @expose("/<int:pk>/file", methods=["GET"])
    @protect()
    @_operator_wide
    def get_file(self, pk):
        """The stored file of one upload.
        ---
        get:
          summary: Download an upload as stored
          responses:
            200:
              description: the file as uploaded (CSV, XLSX or XLS)
              content:
                text/csv:
                  schema: {type: string, format: binary}
                application/vnd.openxmlformats-officedocument.spreadsheetml.sheet:
                  schema: {type: string, format: binary}
                application/vnd.ms-excel:
                  schema: {type: string, format: binary}
                application/octet-stream:
                  schema: {type: string, format: binary}
            404: {description: no such upload}
        """
        upload = upload_in_scope(current_scope(), pk)
        if upload is None:
            return self.response_404()
        return original_download(upload)

    @expose("/<int:pk>/ack", methods=["POST"])
    @protect()
    @_operator_wide
    @idempotent
    def acknowledge(self, pk):
        """Mark one upload fetched.
        ---
        post:
          summary: Acknowledge an upload (it leaves the unfetched list)
          parameters:
          - {in: header, name: Idempotency-Key, required: true, schema: {type: string, minLength: 1, maxLength: 200}}
          responses:
            200:
              description: the upload with `fetched_at`
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/SystemUploadResult'}
            400: {description: no Idempotency-Key}
            404: {description: no such upload}
            409: {description: the Idempotency-Key was used for another request}
        """
        upload = upload_in_scope(current_scope(), pk)
        if upload is None:
            return self.response_404()
        system_sync.acknowledge(upload, g.user)
        return self.response(200, result=system_sync.upload_payload(upload))


class SystemReportApi(OptiServeApi):
    route_base = "/api/v1/system/reports"
    class_permission_name = "SystemApi"
    method_permission_name = {"publish": "write"}
    openapi_spec_tag = "System"

    @expose("/", methods=["POST"])
    @protect()
    @_operator_wide
    @idempotent
    def publish(self):
        """Publish a report file produced on-prem.
        ---
        post:
          summary: Publish an on-prem report (PDF, PPTX or XLSX) for a hospital and month
          description: >-
            Multipart form: `organization_code`, `month` (YYYY-MM), `file_type` (1 analysis,
            2 failure list, 3 no-activity list) and the file in `file`. It replaces the file of
            that type on screen 4; the hospital's notification list is mailed on the first
            publication of a month and type only.
          parameters:
          - {in: header, name: Idempotency-Key, required: true, schema: {type: string, minLength: 1, maxLength: 200}}
          requestBody:
            required: true
            content:
              multipart/form-data:
                schema: {$ref: '#/components/schemas/ReportPublishForm'}
          responses:
            201:
              description: the published report; `notified` says whether mail was sent
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/PublishedReportResult'}
            400: {description: missing or malformed field or file}
            404: {description: no hospital with that code}
            409: {description: the Idempotency-Key was used for another request}
            503:
              description: >-
                a report run of the hospital is in progress: send the same request again after
                Retry-After seconds
        """
        upload = request.files.get("file")
        if upload is None:
            return self.response_400(message=_("レポートファイルを file で送ってください。"))
        form = request.form
        hospital = system_sync.hospital_by_code(form.get("organization_code"))
        wait = min(current_app.config["REPORT_LOCK_WAIT_SECONDS"], PUBLISH_LOCK_WAIT_SECONDS)
        # the hospital's report runs replace the month's newest files too: take turns with them
        with hospital_reports_lock(hospital.id, PUBLISH_LOCK_HOLD_SECONDS, wait) as acquired:
            if not acquired:
                response = self.response(503, message=_(
                    "この医療機関のレポートを作成中です。しばらくしてから同じ要求を送り直してください。"))
                response.headers["Retry-After"] = str(PUBLISH_RETRY_AFTER_SECONDS)
                return response
            row, notified = system_sync.publish_report(
                g.user, hospital.code, form.get("month"), form.get("file_type"),
                upload.filename, upload.read())
        if notified:
            system_sync.notify_first_publication(hospital, row.month)
        return self.response(201, result=system_sync.report_payload(row, hospital, notified))


class SystemChangesApi(OptiServeApi):
    route_base = "/api/v1/system/changes"
    class_permission_name = "SystemApi"
    method_permission_name = {"changes": "read"}
    openapi_spec_tag = "System"

    @expose("/", methods=["GET"])
    @protect()
    @_operator_wide
    def changes(self):
        """What changed since a cursor: accounts, ledger settings, selections, mappings, permissions.
        ---
        get:
          summary: Changes after `since` (ascending `seq`), for the daily pull
          description: >-
            Each entry has `seq`, `entity` (organization, user, ledger_setting, classification,
            report_selection, dealer_permission, manufacturer_selection), `key`, `op` (upsert or
            delete) and `data` (the thing's state at that change, by natural keys; users carry
            no secrets). Store `next_cursor` (always present, also when nothing changed) and ask
            again while `has_more` is true. The same `since` always returns the same entries.
          parameters:
          - {in: query, name: since, schema: {type: integer, minimum: 0}}
          - {in: query, name: limit, schema: {type: integer, minimum: 1, maximum: 1000}}
          responses:
            200:
              description: "`result` (entries), `next_cursor`, `has_more`, `latest`"
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/ChangesPage'}
            400: {description: malformed cursor or limit}
        """
        since = system_sync.parse_cursor(request.args.get("since"), "since")
        limit = request.args.get("limit")
        if limit in (None, ""):
            limit = feed.DEFAULT_LIMIT
        else:
            limit = system_sync.parse_cursor(limit, "limit")
            if not 1 <= limit <= feed.MAX_LIMIT:
                return self.response_400(message=_("limit には1から%(max)sまでの整数を指定してください。",
                                                   max=feed.MAX_LIMIT))
        return current_app.response_class(feed.page_body(db.session, since, limit), status=200,
                                          mimetype="application/json")
