"""REST API of the classification area (/api/v1/classification/...), under the same scope
and capability as the screens: a hospital's classifications with mapping suggestions, the
mapping of one classification, and the report selection."""
from __future__ import annotations

from flask import g, request
from flask_appbuilder.api import expose, protect
from flask_appbuilder.security.decorators import permission_name
from flask_babel import gettext as _

from app.access.capabilities import MAINTAIN_MASTERS
from app.extensions import db
from app.services.classifications import mapping as logic
from app.services.classifications import screen
from app.services.reports import selection
from app.services.unit_of_work import unit_of_work
from app.views.api_base import OptiServeApi
from app.views.hospital_target import hospital_classification, target_hospital
from app.views.report_selection import save_from_json


class ClassificationApi(OptiServeApi):
    resource_name = "classification"
    class_permission_name = "ClassificationApi"
    openapi_spec_tag = "Classifications"
    # API keys for machines; the session too, so a logged-in screen user can call it. Only
    # PUT changes anything, and a cross-site PUT with JSON needs a CORS preflight that is
    # never granted, so the session cookie cannot be abused from another site.
    allow_browser_login = True

    @expose("/hospital/<int:hospital_id>/mapping", methods=["GET"])
    @protect()
    @permission_name("read")
    def get_mapping(self, hospital_id):
        """The hospital's classifications, unmapped first, with the top 3 suggestions.
        ---
        get:
          responses:
            200:
              description: rows
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/MappingRows'}
            404: {description: not found or out of scope}
        """
        hospital = target_hospital(hospital_id, MAINTAIN_MASTERS)
        return self.response(200, result=logic.mapping_rows(db.session, hospital.id))

    @expose("/hospital/<int:hospital_id>/mapping/page", methods=["GET"])
    @protect()
    @permission_name("read")
    def get_mapping_page(self, hospital_id):
        """One page (50) of screen 7 under a filter: ``q`` (name; width and case ignored),
        ``level`` (1-3), ``status`` (all / unmapped / mapped), ``devices`` ("0", "1", "10",
        "100": none, at least 1, 10, 100), ``page``; unmapped first, top-3 suggestions.
        ---
        get:
          responses:
            200:
              description: rows, page, pages, matched, total, unmapped
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/MappingPage'}
            404: {description: not found or out of scope}
        """
        hospital = target_hospital(hospital_id, MAINTAIN_MASTERS)
        page = request.args.get("page", "1")
        page = int(page) if page.isdigit() else 1
        return self.response(200, **screen.mapping_page(
            db.session, hospital.id, screen.MappingFilter.parse(request.args), page))

    @expose("/hospital/<int:hospital_id>/mapping/bulk", methods=["POST"])
    @protect()
    @permission_name("write")
    def post_mapping_bulk(self, hospital_id):
        """Accept every top suggestion ≥ ``threshold`` of the unmapped classifications under
        ``filter`` (same keys as the page). Without ``apply`` (or false): the preview, nothing
        changes. With ``apply: true`` and ``changes`` (the previewed ``[{id,
        smds_classification_id}]``): maps those that still qualify, and only those.
        ---
        post:
          requestBody:
            required: true
            content:
              application/json:
                schema: {$ref: '#/components/schemas/BulkMappingRequest'}
          responses:
            200:
              description: preview or applied changes
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/BulkMappingResult'}
            400: {description: refused}
            404: {description: not found or out of scope}
        """
        hospital = target_hospital(hospital_id, MAINTAIN_MASTERS)
        payload = request.get_json(silent=True)
        if not isinstance(payload, dict):
            return self.response_400(message=_("JSON形式で送ってください。"))
        raw_filter = payload.get("filter") if isinstance(payload.get("filter"), dict) else {}
        f = screen.MappingFilter.parse(raw_filter)
        threshold = screen.clamp_threshold(payload.get("threshold", screen.AUTO_ACCEPT_THRESHOLD))
        if not payload.get("apply"):
            changes = screen.bulk_preview(db.session, hospital.id, f, threshold)
            return self.response(200, applied=False, threshold=threshold, count=len(changes), changes=changes)
        previewed = payload.get("changes")
        if not isinstance(previewed, list):
            return self.response_400(message=_("適用する変更（changes）を指定してください。"))
        try:
            with unit_of_work():
                changes = screen.bulk_apply(db.session, hospital.id, f, threshold, previewed, g.user)
        except logic.ClassificationError as exc:
            return self.response_400(message=str(exc))
        return self.response(200, applied=True, threshold=threshold, count=len(changes), changes=changes,
                             message=_("%(n)d件を紐付けました。", n=len(changes)))

    @expose("/<int:pk>/mapping", methods=["PUT"])
    @protect()
    @permission_name("write")
    def put_mapping(self, pk):
        """Map (``smds_classification_id``) or unmap (null) one hospital classification.
        ---
        put:
          requestBody:
            required: true
            content:
              application/json:
                schema: {$ref: '#/components/schemas/MappingRequest'}
          responses:
            200:
              description: saved
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/MappingSaved'}
            400: {description: refused}
            404: {description: not found or out of scope}
        """
        cls = hospital_classification(pk, MAINTAIN_MASTERS)
        payload = request.get_json(silent=True) or {}
        smds_id = payload.get("smds_classification_id")
        if smds_id is not None and (isinstance(smds_id, bool) or not isinstance(smds_id, int)):
            return self.response_400(message=_("smds_classification_id は整数か null です。"))
        method = logic.SUGGESTION if payload.get("method") == "suggestion" else logic.MANUAL
        try:
            with unit_of_work():
                logic.set_mapping(db.session, cls, smds_id, method, g.user)
        except logic.ClassificationError as exc:
            return self.response_400(message=str(exc))
        return self.response(200, id=cls.id, smds_classification_id=cls.smds_classification_id,
                             mapping_method=cls.mapping_method)

    @expose("/hospital/<int:hospital_id>/selection", methods=["GET"])
    @protect()
    @permission_name("read")
    def get_selection(self, hospital_id):
        """The report selection (K007) and the classifications per level.
        ---
        get:
          responses:
            200:
              description: state
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/SelectionState'}
            404: {description: not found or out of scope}
        """
        hospital = target_hospital(hospital_id, MAINTAIN_MASTERS)
        return self.response(200, **selection.selection_state(db.session, hospital))

    @expose("/hospital/<int:hospital_id>/selection", methods=["PUT"])
    @protect()
    @permission_name("write")
    def put_selection(self, hospital_id):
        """Replace the selection with ``classification_ids`` (order = rank; [] = automatic).
        ---
        put:
          requestBody:
            required: true
            content:
              application/json:
                schema: {$ref: '#/components/schemas/SelectionRequest'}
          responses:
            200:
              description: saved
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/SelectionSaved'}
            400: {description: refused}
            404: {description: not found or out of scope}
        """
        return self._put_setting(hospital_id, "classification_ids", selection.save_selection,
                                 _("JSON形式で classification_ids を送ってください。"), _("登録が完了しました"))

    @expose("/hospital/<int:hospital_id>/grouping", methods=["PUT"])
    @protect()
    @permission_name("write")
    def put_grouping(self, hospital_id):
        """How reports and the dashboard group devices: ``grouping`` ``own`` (the hospital's
        classifications) or ``smds`` (the SMDS classifications they are mapped to). A change
        clears the saved selection (automatic).
        ---
        put:
          requestBody:
            required: true
            content:
              application/json:
                schema: {$ref: '#/components/schemas/GroupingRequest'}
          responses:
            200:
              description: saved
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/GroupingSaved'}
            400: {description: refused}
            404: {description: not found or out of scope}
        """
        return self._put_setting(hospital_id, "grouping", selection.save_grouping,
                                 _("JSON形式で grouping を送ってください。"), _("分類の基準を変更しました"))

    def _put_setting(self, hospital_id, field: str, save, not_json: str, saved: str):
        """Save ``field`` of the JSON body as the report selection screen does: ``message`` and
        the saved value, or 400 with the reason."""
        hospital = target_hospital(hospital_id, MAINTAIN_MASTERS)
        value, refused = save_from_json(hospital, field, save, not_json)
        if refused is not None:
            return self.response_400(message=refused)
        return self.response(200, message=saved, **{field: value})
