"""Screen 6, レポート出力対象の機器分類 (K007): a page, its JavaScript, and two JSON routes.

The page's script talks to ``data`` and ``save`` here (session login, CSRF token in a
header); machines use the same functions through :mod:`app.views.classification_api`.
"""
from __future__ import annotations

from flask import current_app, g, jsonify, request
from flask_appbuilder import BaseView, expose, has_access, permission_name
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms import ValidationError

from app.access.capabilities import MAINTAIN_MASTERS
from app.access.scope import current_scope
from app.extensions import db
from app.services.reports import selection as logic
from app.views.hospital_target import CsrfForm, hospitals_in_scope, target_hospital


def save_from_request(hospital):
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        return jsonify(message=_("JSON形式で classification_ids を送ってください。")), 400
    try:
        ids = logic.save_selection(db.session, hospital, payload.get("classification_ids"), g.user)
        db.session.commit()
    except logic.SelectionError as exc:
        db.session.rollback()
        return jsonify(message=str(exc)), 400
    return jsonify(message=_("登録が完了しました"), classification_ids=ids,
                   state=logic.selection_state(db.session, hospital))


def save_grouping_from_request(hospital):
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        return jsonify(message=_("JSON形式で grouping を送ってください。")), 400
    try:
        grouping = logic.save_grouping(db.session, hospital, payload.get("grouping"), g.user)
        db.session.commit()
    except logic.SelectionError as exc:
        db.session.rollback()
        return jsonify(message=str(exc)), 400
    return jsonify(message=_("分類の基準を変更しました"), grouping=grouping,
                   state=logic.selection_state(db.session, hospital))


def _csrf_refused():
    if current_app.config.get("WTF_CSRF_ENABLED", True):
        try:
            validate_csrf(request.headers.get("X-CSRFToken"))
        except (CSRFError, ValidationError):
            return jsonify(message=_("画面の有効期限が切れました。再読み込みしてください。")), 400
    return None


class ReportSelectionView(BaseView):
    route_base = "/report-selection"
    class_permission_name = "ReportSelection"
    default_view = "index"

    @expose("/")
    @has_access
    @permission_name("read")
    def index(self):
        hospital = target_hospital(request.args.get("hospital_id"), MAINTAIN_MASTERS)
        return self.render_template(
            "classifications/selection.html",
            hospital=hospital,
            hospitals=hospitals_in_scope() if current_scope().everything else [],
            form=CsrfForm(),
            title=_("レポート出力対象の機器分類"),
        )

    @expose("/data")
    @has_access
    @permission_name("read")
    def data(self):
        hospital = target_hospital(request.args.get("hospital_id"), MAINTAIN_MASTERS)
        return jsonify(logic.selection_state(db.session, hospital))

    @expose("/save", methods=["POST"])
    @has_access
    @permission_name("write")
    def save(self):
        hospital = target_hospital(request.args.get("hospital_id"), MAINTAIN_MASTERS)
        return _csrf_refused() or save_from_request(hospital)

    @expose("/grouping", methods=["POST"])
    @has_access
    @permission_name("write")
    def grouping(self):
        """Own classifications or SMDS groups for the hospital's reports and dashboard."""
        hospital = target_hospital(request.args.get("hospital_id"), MAINTAIN_MASTERS)
        return _csrf_refused() or save_grouping_from_request(hospital)
