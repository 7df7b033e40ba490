"""Operator screen: makers with their spellings and device counts; merging two makers."""
from __future__ import annotations

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access, permission_name
from flask_babel import gettext as _
from sqlalchemy import func

from app.extensions import db
from app.models import Equipment, Maker
from app.services.classifications.makers import MakerError, add_alias, merge_makers
from app.views.base import require_operator_scope
from app.views.hospital_target import CsrfForm


class MakerView(BaseView):
    route_base = "/makers"
    class_permission_name = "Makers"
    default_view = "index"


    @expose("/")
    @has_access
    @permission_name("read")
    def index(self):
        require_operator_scope()
        counts = dict(
            db.session.query(Equipment.maker_id, func.count(Equipment.id))
            .filter(Equipment.maker_id.isnot(None)).group_by(Equipment.maker_id)
        )
        makers = db.session.query(Maker).order_by(Maker.name).all()
        return self.render_template("classifications/makers.html", makers=makers, counts=counts,
                                    form=CsrfForm(), title=_("メーカー"))

    def _run(self, change, success):
        if not CsrfForm().validate_on_submit():
            flash(_("フォームの有効期限が切れました。もう一度操作してください。"), "danger")
            return
        try:
            result = change()
            db.session.commit()
        except MakerError as exc:
            db.session.rollback()
            flash(str(exc), "danger")
            return
        flash(success(result), "success")

    @expose("/merge", methods=["POST"])
    @has_access
    @permission_name("write")
    def merge(self):
        require_operator_scope()
        try:
            source_id, target_id = int(request.form["source_id"]), int(request.form["target_id"])
        except (KeyError, ValueError):
            flash(_("統合元と統合先のメーカーを選んでください。"), "danger")
            return redirect(url_for(".index"))
        self._run(
            lambda: merge_makers(db.session, source_id, target_id, g.user),
            lambda r: _("統合しました（表記%(a)d件・機器%(d)d台を移動）。", a=r["aliases"], d=r["devices"]),
        )
        return redirect(url_for(".index"))

    @expose("/<int:pk>/alias", methods=["POST"])
    @has_access
    @permission_name("write")
    def alias(self, pk):
        require_operator_scope()
        maker = db.session.get(Maker, pk)
        if maker is None:
            abort(404)
        spelling = request.form.get("alias", "")
        self._run(lambda: add_alias(db.session, maker, spelling, g.user),
                  lambda r: _("表記「%(a)s」を追加しました。", a=r.alias))
        return redirect(url_for(".index"))
