"""System APIs that push into OptiServe: masters (/api/v1/system/masters/) and a hospital's
cleaned ledger (/api/v1/system/ledger/). Role System (API keys) and Admin; operator-wide
scope; every write takes an ``Idempotency-Key`` (see :mod:`app.views.system_api`)."""
from __future__ import annotations

from flask import current_app, g, request
from flask_appbuilder.api import expose, protect
from flask_babel import gettext as _

from app.services.sync import ledger_push, masters
from app.services.unit_of_work import unit_of_work
from app.services.uploads.records import status_payload
from app.views.api_base import OptiServeApi
from app.views.display import reader_locale
from app.views.system_api import _operator_wide, idempotent


class SystemMastersApi(OptiServeApi):
    route_base = "/api/v1/system/masters"
    class_permission_name = "SystemApi"
    method_permission_name = {"push_masters": "write"}
    openapi_spec_tag = "System"

    @expose("/", methods=["POST"])
    @protect()
    @_operator_wide
    @idempotent
    def push_masters(self):
        """Upsert the on-prem masters by their ids.
        ---
        post:
          summary: Push masters (organizations, SMDS classifications, mappings, makers)
          description: >-
            JSON object with any of `hospitals`, `dealers`, `manufacturers`,
            `smds_classifications`, `hospital_classifications` (with `smds_id`, the mapping)
            and `makers` (with `aliases`), each row keyed by the on-prem `id`; `full: true`
            deactivates the earlier pushed rows a sent list no longer has. The same payload
            twice changes nothing. All or nothing: a refused row stores nothing.
          parameters:
          - {in: header, name: Idempotency-Key, required: true, schema: {type: string, minLength: 1, maxLength: 200}}
          requestBody:
            required: true
            content:
              application/json:
                schema: {$ref: '#/components/schemas/MastersPush'}
          responses:
            200:
              description: "`changed` and per list `counts` (created, updated, unchanged, deactivated)"
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/MastersPushedResult'}
            400: {description: "the payload was refused: `message` and every problem in `errors`; nothing stored"}
            409: {description: the Idempotency-Key was used for another request}
        """
        data = request.get_json(silent=True)
        try:
            with unit_of_work():
                result = masters.push(data, g.user)
        except masters.MastersInvalid as exc:
            return self.response(400, message=exc.errors[0], errors=exc.errors)
        return self.response(200, result=result)


class SystemLedgerApi(OptiServeApi):
    route_base = "/api/v1/system/ledger"
    class_permission_name = "SystemApi"
    method_permission_name = {"push_ledger": "write"}
    openapi_spec_tag = "System"

    @expose("/", methods=["POST"])
    @protect()
    @_operator_wide
    @idempotent
    def push_ledger(self):
        """Push a hospital's cleaned ledger for a month.
        ---
        post:
          summary: Push a cleaned ledger (taken as a ledger upload of the month)
          description: >-
            JSON `{"organization_code", "month": "YYYY-MM", "rows": [{canonical ledger
            fields}]}`, or a multipart form with `organization_code`, `month` and a CSV or
            Excel file in `file`. It is recorded as a ledger upload (upload history, same
            checks and month window) and imported by the same job as the upload screen (screen 3).
          parameters:
          - {in: header, name: Idempotency-Key, required: true, schema: {type: string, minLength: 1, maxLength: 200}}
          requestBody:
            required: true
            content:
              application/json:
                schema: {$ref: '#/components/schemas/LedgerPush'}
              multipart/form-data:
                schema: {$ref: '#/components/schemas/LedgerPushForm'}
          responses:
            202:
              description: the upload recorded and queued (or a duplicate of the month's ledger)
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/PushedLedgerResult'}
            400: {description: "refused (`message`, `errors`); nothing stored"}
            404: {description: no hospital with that code}
            409: {description: the Idempotency-Key was used for another request}
            413: {description: the ledger is larger than the upload limit}
        """
        config = current_app.config
        if request.files or request.form:
            form, upload = request.form, request.files.get("file")
            if upload is None:
                return self.response_400(message=_("台帳の行を rows で、または台帳ファイルを file で送ってください。"))
            row = ledger_push.push_ledger(g.user, form.get("organization_code"), form.get("month"), config,
                                          stream=upload.stream, filename=upload.filename)
        else:
            data = request.get_json(silent=True)
            if not isinstance(data, dict):
                return self.response_400(message=_("送信内容は JSON オブジェクトにしてください。"))
            row = ledger_push.push_ledger(g.user, data.get("organization_code"), data.get("month"), config,
                                          rows=data.get("rows"))
        result = status_payload(row, locale=reader_locale())
        return self.response(202, result={**result, "hospital_code": row.hospital.code})
