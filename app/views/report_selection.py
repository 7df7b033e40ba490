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
from app.services.unit_of_work import unit_of_work
from app.views.hospital_target import CsrfForm, hospitals_in_scope, target_hospital


def save_from_json(hospital, field: str, save, not_json: str):
    """Save ``field`` of the request's JSON object with ``save(session, hospital, value, actor)``
    in one unit of work (the screen's routes and :mod:`app.views.classification_api` alike).
    Returns ``(the saved value, None)``, or ``(None, the message)`` when the body is not a JSON
    object (``not_json``) or the service refuses the value (then nothing is stored)."""
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        return None, not_json
    try:
        with unit_of_work():
            return save(db.session, hospital, payload.get(field), g.user), None
    except logic.SelectionError as exc:
        return None, str(exc)


def _saved_answer(hospital, field: str, save, not_json: str, saved: str):
    """The JSON answer of a screen route saving ``field``: the message, the saved value and
    the new state, or 400 with the reason."""
    value, refused = save_from_json(hospital, field, save, not_json)
    if refused is not None:
        return jsonify(message=refused), 400
    return jsonify(message=saved, **{field: value}, state=logic.selection_state(db.session, hospital))


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
        return _csrf_refused() or _saved_answer(
            hospital, "classification_ids", logic.save_selection,
            _("JSON形式で classification_ids を送ってください。"), _("登録が完了しました"))

    @expose("/grouping", methods=["POST"])
    @has_access
    @permission_name("write")
    def grouping(self):
        """Own classifications or SMDS groups for the hospital's reports and dashboard."""
        hospital = target_hospital(request.args.get("hospital_id"), MAINTAIN_MASTERS)
        return _csrf_refused() or _saved_answer(
            hospital, "grouping", logic.save_grouping,
            _("JSON形式で grouping を送ってください。"), _("分類の基準を変更しました"))
