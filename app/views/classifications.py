"""Screen 10 (SMDS classification master) and screen 7 (hospital → SMDS mapping)."""
from __future__ import annotations

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access, permission_name
from flask_babel import gettext as _

from app.access.capabilities import MAINTAIN_MASTERS
from app.access.scope import current_scope
from app.core.normalize import match_key
from app.extensions import db
from app.services.classifications import mapping as logic
from app.services.classifications import screen
from app.services.classifications.suggest import AUTO_ACCEPT_THRESHOLD
from app.views.base import require_operator_scope
from app.views.hospital_target import (
    CsrfForm,
    hospital_classification,
    hospitals_in_scope,
    target_hospital,
)


def _int_or_none(value):
    value = (value or "").strip()
    if not value:
        return None
    if not value.isdigit():
        abort(400)
    return int(value)


def _apply(change, success: str):
    """Run one change in a transaction; flash its refusal instead of failing."""
    form = CsrfForm()
    if not form.validate_on_submit():
        flash(_("フォームの有効期限が切れました。もう一度操作してください。"), "danger")
        return False
    try:
        change()
        db.session.commit()
    except logic.ClassificationError as exc:
        db.session.rollback()
        flash(str(exc), "danger")
        return False
    flash(success, "success")
    return True


class SmdsMasterView(BaseView):
    """SMDS機器分類マスタ: a tree that expands per level; add, rename, move, deactivate."""

    route_base = "/smds-classifications"
    class_permission_name = "SmdsClassifications"
    default_view = "tree"


    @expose("/")
    @has_access
    @permission_name("read")
    def tree(self):
        require_operator_scope()
        commons = logic.common_classifications(db.session, active_only=False)
        parents = [c for c in commons if c.level < 3 and c.is_active]
        # Labels of every possible parent, a deactivated one too: a class under it shows it as
        # its current choice (not （最上位）, which 移動 would then have moved it to).
        labels = {c.id: (_("%(name)s（%(level)s）", name=c.name, level=c.level) if c.is_active else
                         _("%(name)s（%(level)s・無効）", name=c.name, level=c.level))
                  for c in commons if c.level < 3}
        return self.render_template(
            "classifications/master.html",
            tree=logic.common_tree(db.session),
            parents=parents,
            parent_labels=labels,
            form=CsrfForm(),
            title=_("SMDS機器分類マスタ"),
        )

    @expose("/add", methods=["POST"])
    @has_access
    @permission_name("write")
    def add(self):
        require_operator_scope()
        parent_id = _int_or_none(request.form.get("parent_id"))
        level = 1
        if parent_id is not None:
            parent = db.session.get(logic.Classification, parent_id)
            level = parent.level + 1 if parent is not None else 0
        name = request.form.get("name", "")
        _apply(lambda: logic.add_common(db.session, name, level, parent_id, g.user),
               _("分類「%(name)s」を追加しました。", name=name))
        return redirect(url_for(".tree"))

    @expose("/<int:pk>/rename", methods=["POST"])
    @has_access
    @permission_name("write")
    def rename(self, pk):
        require_operator_scope()
        name = request.form.get("name", "")
        _apply(lambda: logic.rename_common(db.session, pk, name, g.user),
               _("分類名を「%(name)s」に変更しました。", name=name))
        return redirect(url_for(".tree"))

    @expose("/<int:pk>/move", methods=["POST"])
    @has_access
    @permission_name("write")
    def move(self, pk):
        require_operator_scope()
        parent_id = _int_or_none(request.form.get("parent_id"))
        _apply(lambda: logic.move_common(db.session, pk, parent_id, g.user), _("分類を移動しました。"))
        return redirect(url_for(".tree"))

    @expose("/<int:pk>/deactivate", methods=["POST"])
    @has_access
    @permission_name("write")
    def deactivate(self, pk):
        require_operator_scope()
        _apply(lambda: logic.deactivate_common(db.session, pk, g.user), _("分類を無効にしました。"))
        return redirect(url_for(".tree"))

    @expose("/<int:pk>/reactivate", methods=["POST"])
    @has_access
    @permission_name("write")
    def reactivate(self, pk):
        require_operator_scope()
        _apply(lambda: logic.reactivate_common(db.session, pk, g.user), _("分類を有効にしました。"))
        return redirect(url_for(".tree"))


class ClassificationMappingView(BaseView):
    """機器分類の医療機関とSMDSグループの紐付け: unmapped first, top-3 suggestions."""

    route_base = "/classification-mapping"
    class_permission_name = "ClassificationMapping"
    default_view = "index"

    @expose("/")
    @has_access
    @permission_name("read")
    def index(self):
        """The screen with its first page (50 rows) in the page; the script pages, filters,
        accepts and bulk-accepts through /api/v1/classification without reloading."""
        hospital = target_hospital(request.args.get("hospital_id"), MAINTAIN_MASTERS)
        page = request.args.get("page", "1")
        first = screen.mapping_page(db.session, hospital.id, screen.MappingFilter.parse(request.args),
                                    int(page) if page.isdigit() else 1)
        return self.render_template(
            "classifications/mapping.html",
            hospital=hospital,
            hospitals=hospitals_in_scope() if current_scope().everything else [],
            first=first,
            commons=logic.common_classifications(db.session),
            threshold=AUTO_ACCEPT_THRESHOLD,
            device_filters=[("", _("すべて")), ("0", _("0台")), ("1", _("1台以上")),
                            ("10", _("10台以上")), ("100", _("100台以上"))],
            form=CsrfForm(),
            title=_("機器分類の紐付け"),
        )

    @expose("/export.csv")
    @has_access
    @permission_name("read")
    def export_csv(self):
        """The mapping list as CSV: the same hospital and rows as the screen, with the best
        suggestion of each unmapped classification."""
        from app.views.csv_export import csv_response

        hospital = target_hospital(request.args.get("hospital_id"), MAINTAIN_MASTERS)
        methods = {"automatic": _("自動"), "suggestion": _("候補から採用"), "manual": _("手動")}
        header = [_("階層"), _("機器分類（医療機関）"), _("上位の分類"), _("台数"), _("SMDS機器分類"), _("紐付け方法"),
                  _("第1候補"), _("第1候補の一致度")]

        def row(r):
            best = r["suggestions"][0] if r["suggestions"] else {}
            return [r["level"], r["name"], r["parent"], r["device_count"], r["smds_classification_name"],
                    methods.get(r["mapping_method"], ""), best.get("name"), best.get("score")]

        rows = logic.mapping_rows(db.session, hospital.id)
        return csv_response(f"classification-mapping-{hospital.code or hospital.id}", header, map(row, rows))

    def _back(self, hospital_id):
        return redirect(url_for(".index", hospital_id=hospital_id))

    @expose("/<int:pk>/map", methods=["POST"])
    @has_access
    @permission_name("write")
    def map(self, pk):
        cls = hospital_classification(pk, MAINTAIN_MASTERS)
        raw = (request.form.get("smds_classification_id") or "").strip()
        # The searchable field sends an id when an option is picked, else the typed name.
        smds_id = int(raw) if raw.isdigit() else logic.common_by_key(db.session).get(match_key(raw)) if raw else None
        if smds_id is None:
            flash(_("紐付け先のSMDS機器分類を選んでください。"), "danger")
            return self._back(cls.hospital_id)
        method = logic.SUGGESTION if request.form.get("method") == "suggestion" else logic.MANUAL
        _apply(lambda: logic.set_mapping(db.session, cls, smds_id, method, g.user),
               _("「%(name)s」を紐付けました。", name=cls.name))
        return self._back(cls.hospital_id)

    @expose("/<int:pk>/unmap", methods=["POST"])
    @has_access
    @permission_name("write")
    def unmap(self, pk):
        cls = hospital_classification(pk, MAINTAIN_MASTERS)
        _apply(lambda: logic.set_mapping(db.session, cls, None, logic.MANUAL, g.user),
               _("「%(name)s」の紐付けを解除しました。", name=cls.name))
        return self._back(cls.hospital_id)

    @expose("/accept-all", methods=["POST"])
    @has_access
    @permission_name("write")
    def accept_all(self):
        hospital = target_hospital(request.form.get("hospital_id"), MAINTAIN_MASTERS)
        try:
            threshold = float(request.form.get("threshold") or AUTO_ACCEPT_THRESHOLD)
        except ValueError:
            threshold = AUTO_ACCEPT_THRESHOLD
        result = {}

        def change():
            result["n"] = logic.accept_all(db.session, hospital.id, threshold, g.user)

        if _apply(change, _("候補を一括で採用しました。")):
            flash(_("%(n)d件を紐付けました。", n=result["n"]), "info")
        return self._back(hospital.id)
