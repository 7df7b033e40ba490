"""REST API of screen 3: upload files (multipart), read their status, download rejected rows,
discard a file sent by mistake.

Same checks, storage and queue as the screen (:mod:`app.services.uploads.records`), same scope.
"""
from __future__ import annotations

from flask import current_app, g, request
from flask_appbuilder.api import expose, protect
from flask_babel import gettext as _
from werkzeug.exceptions import RequestEntityTooLarge

from app.access.capabilities import UPLOAD
from app.access.scope import current_scope
from app.services.unit_of_work import unit_of_work
from app.services.uploads import records as uploads
from app.services.uploads.checks import UploadRejected, too_large_message
from app.services.uploads.discarding import NotDiscardable, discard_upload
from app.views.api_base import OptiServeApi
from app.views.display import reader_locale
from app.views.hospital_target import target_hospital
from app.views.upload import original_download, rejected_download, scoped_upload


class UploadApi(OptiServeApi):
    resource_name = "uploads"
    allow_browser_login = True  # the screen's session works too; machines use API keys
    class_permission_name = "UploadApi"
    method_permission_name = {
        "post_upload": "write", "list_uploads": "read", "get_upload": "read",
        "get_rejected": "read", "get_file": "read", "post_discard": "write",
    }
    openapi_spec_tag = "Uploads"

    def _in_scope(self, pk):
        """(the upload ``pk`` in the caller's scope, None) or (None, the API's 403/404): as
        :func:`app.views.upload.scoped_upload`, answered in JSON."""
        if not current_scope().can(UPLOAD):
            return None, self.response_403()
        upload = uploads.upload_in_scope(current_scope(), pk)
        return (upload, None) if upload is not None else (None, self.response_404())

    @expose("/", methods=["POST"])
    @protect()
    def post_upload(self):
        """Upload one file or several (multipart form).
        ---
        post:
          summary: Upload ME-system files for one month
          description: >-
            Form fields `month` (YYYY-MM: Japan's current month or one of the 36 complete
            months before it; a future month is refused), `hospital_id` (operators only) and a file in
            `file` with `file_type` (1 ledger, 2 lending, 3 failure), or files named
            `ledger`, `lending`, `failure`.
          parameters:
          - HospitalId  # components.parameters (app/views/openapi.py)
          requestBody:
            required: true
            content:
              multipart/form-data:
                schema: {$ref: '#/components/schemas/UploadForm'}
          responses:
            201:
              description: accepted; the uploads with their status
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/UploadAccepted'}
            400: {description: a file was refused; nothing stored}
            413: {description: a file is larger than the limit}
        """
        hospital = target_hospital(request.args.get("hospital_id") or request.form.get("hospital_id"), UPLOAD)
        try:
            form_files, form = request.files, request.form
        except RequestEntityTooLarge:
            return self.response(413, message=too_large_message(current_app.config.get("MAX_UPLOAD_MB", 20)))
        files = {}
        if "file" in form_files:
            file_type = uploads.parse_file_type(form.get("file_type"))
            if file_type is None:
                return self.response_400(message=_("アップロード種別を選択してください"))
            files[file_type] = (form_files["file"].stream, form_files["file"].filename)
        for file_type, slug in uploads.TYPE_SLUGS.items():
            if slug in form_files:
                files[file_type] = (form_files[slug].stream, form_files[slug].filename)
        try:
            accepted, errors = uploads.accept_files(hospital, form.get("month"), files, g.user.id, current_app.config)
        except UploadRejected as exc:
            return self.response(exc.status, message=exc.message)
        if errors:
            status = 413 if any(e.status == 413 for e in errors) else 400
            return self.response(status, message=" / ".join(e.message for e in errors),
                                 errors=[e.message for e in errors])
        return self.response(201, result=[uploads.status_payload(u, locale=reader_locale()) for u in accepted])

    @expose("/", methods=["GET"])
    @protect()
    def list_uploads(self):
        """Recent uploads of the hospital.
        ---
        get:
          summary: The hospital's recent uploads (newest first) and the six-month history
          parameters:
          - HospitalId  # components.parameters (app/views/openapi.py)
          responses:
            200:
              description: uploads and history
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/UploadList'}
        """
        hospital = target_hospital(request.args.get("hospital_id"), UPLOAD)
        return self.response(
            200,
            result=[uploads.status_payload(u, locale=reader_locale()) for u in uploads.recent_uploads(hospital.id, 50)],
            history=uploads.history(hospital.id),
        )

    @expose("/<int:pk>", methods=["GET"])
    @protect()
    def get_upload(self, pk):
        """One upload's status.
        ---
        get:
          summary: Status, counts and message of one upload
          responses:
            200:
              description: the upload
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/UploadResult'}
            404: {description: no such upload in your scope}
        """
        upload, refusal = self._in_scope(pk)
        if refusal is not None:
            return refusal
        return self.response(200, result=uploads.status_payload(upload, locale=reader_locale()))

    @expose("/<int:pk>/discard", methods=["POST"])
    @protect()
    def post_discard(self, pk):
        """Withdraw an upload sent by mistake, as the screen's 取り消す does.
        ---
        post:
          summary: Discard an upload that needs column mapping or failed (body `{}` as JSON)
          description: >-
            The upload is set aside (status `discarded`) and the month is again what the earlier
            uploads made it; the data of imported uploads are not touched. An imported, queued
            or processing upload cannot be discarded (400). Recorded in the audit log.
          requestBody:
            required: true
            content:
              application/json:
                schema: {type: object}
          responses:
            200:
              description: the upload, now discarded
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/UploadResult'}
            400: {description: "refused (imported, queued or processing), or the body is not JSON"}
            404: {description: no such upload in your scope}
        """
        upload, refusal = self._in_scope(pk)
        if refusal is not None:
            return refusal
        if not request.is_json:
            return self.response_400(message=_("JSON形式で送ってください。"))
        try:
            with unit_of_work():
                discard_upload(upload, actor=g.user)
        except NotDiscardable as exc:
            return self.response_400(message=str(exc))
        return self.response(200, result=uploads.status_payload(upload, locale=reader_locale()))

    @expose("/<int:pk>/rejected", methods=["GET"])
    @protect()
    def get_rejected(self, pk):
        """The rejected rows of one upload (xlsx).
        ---
        get:
          summary: Rejected rows with row number, column and reason
          description: In the caller's language (Japanese; English with `?_l_=en`) for uploads
            imported since the reasons are kept as codes; an older file as it was stored (Japanese).
          responses:
            200:
              description: xlsx file
              content:
                application/vnd.openxmlformats-officedocument.spreadsheetml.sheet:
                  schema: {type: string, format: binary}
            404: {description: none, or not in your scope}
        """
        return rejected_download(scoped_upload(pk))

    @expose("/<int:pk>/file", methods=["GET"])
    @protect()
    def get_file(self, pk):
        """The uploaded file as stored.
        ---
        get:
          summary: Download the stored upload
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
            404: {description: not in your scope}
        """
        return original_download(scoped_upload(pk))
