"""Screen 5, 機器台帳のメンテナンス (K006), and its REST API. Logic: :mod:`app.services.ledger.listing`
(what it shows) and :mod:`app.services.ledger.maintenance` (changes)."""
from __future__ import annotations

from flask import abort, flash, g, jsonify, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access, permission_name
from flask_appbuilder.api import expose as api_expose
from flask_appbuilder.api import protect
from flask_babel import gettext as _

from app.access.capabilities import MAINTAIN_MASTERS
from app.access.scope import current_scope
from app.services.audit import trail as audit
from app.services.ledger import export as ledger_export
from app.services.ledger import listing
from app.services.ledger import maintenance as ledger
from app.services.reports import queue_after_data_change
from app.services.unit_of_work import unit_of_work
from app.views.api_base import OptiServeApi
from app.views.csv_export import csv_response
from app.views.hospital_target import CsrfForm, hospitals_in_scope, target_hospital
from app.views.xlsx_export import xlsx_response

FILTER_PREFIX = "f_"


def form_target(form) -> ledger.Target:
    """The devices a form (or JSON body) names: selected ids, one model, the filter, or all."""
    kind = form.get("target")
    if kind in ("selected", "one"):
        ids = form.getlist("ids") if hasattr(form, "getlist") else form.get("ids") or []
        try:
            return ledger.Target(ids=[int(i) for i in ids])
        except (TypeError, ValueError):
            raise ledger.LedgerError(_("機器を選択してください。"))
    if kind == "model":
        return ledger.Target(model_number=form.get("model_number") or "")
    if kind == "filter":
        data = {key[len(FILTER_PREFIX):]: form.get(key) for key in form if key.startswith(FILTER_PREFIX)}
        return ledger.Target(filter=ledger.LedgerFilter.from_mapping(data))
    if kind == "all":
        return ledger.Target(everything=True)
    raise ledger.LedgerError(_("変更の対象を指定してください。"))


def parse_counts(value):
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ledger.LedgerError(_("集計対象の値が正しくありません。"))


def parse_classification(value):
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ledger.LedgerError(_("機器分類を一覧から選択してください。"))


def apply_change(hospital, target, counts, classification_id, reason) -> int:
    with unit_of_work():
        changed = ledger.change(hospital.id, target, counts=counts, classification_id=classification_id,
                                reason=reason, user_id=g.user.id)
        audit.record("ledger.change", organization_id=hospital.id,
                     changes={"devices": changed, "counts": counts, "classification_id": classification_id,
                              "reason": reason})
    if changed:
        queue_after_data_change(hospital.id)  # published months may change: revision check
    return changed


def apply_restore(hospital, target, reason) -> int:
    with unit_of_work():
        changed = ledger.restore_defaults(hospital.id, target, reason=reason, user_id=g.user.id)
        audit.record("ledger.restore", organization_id=hospital.id, changes={"values": changed})
    if changed:
        queue_after_data_change(hospital.id)
    return changed


def device_links(hospital_id: int | None):
    """``pk → URL of that device's page``: one url_for per page rather than one per row."""
    slot = "2147483647"  # no device's id, replaced by each row's
    url = url_for("LedgerView.show", pk=int(slot), hospital_id=hospital_id)
    return lambda pk: url.replace(slot, str(int(pk)), 1)


def option_label(name: str, own: bool) -> str:
    """A classification as the screen offers it: the hospital's own are marked *."""
    return f"{name} *" if own else name


class LedgerView(BaseView):
    route_base = "/ledger"
    class_permission_name = "Ledger"
    default_view = "index"

    def _hospital(self):
        return target_hospital(request.values.get("hospital_id"), MAINTAIN_MASTERS)

    def _back(self, hospital):
        """After a change: the device's page when it came from there (its history shows the
        change), else the list with its filters and page."""
        if request.form.get("from_device") and request.form.get("ids", "").isdigit():
            hospital_id = hospital.id if current_scope().everything else None
            return redirect(url_for("LedgerView.show", pk=int(request.form["ids"]), hospital_id=hospital_id))
        params = {key[len(FILTER_PREFIX):]: value for key, value in request.form.items()
                  if key.startswith(FILTER_PREFIX) and value}
        if current_scope().everything:
            params["hospital_id"] = hospital.id
        if request.form.get("page"):
            params["page"] = request.form["page"]
        return redirect(url_for("LedgerView.index", **params))

    @expose("/")
    @has_access
    @permission_name("read")
    def index(self):
        hospital = self._hospital()
        flt = ledger.LedgerFilter.from_mapping(request.args)
        result = listing.page(hospital.id, flt, request.args.get("page", 1, type=int) or 1)
        # the filter's classification, shown as chosen; the others come from the type-ahead
        chosen = flt.classification_id and ledger.classification_option(hospital.id, flt.classification_id)
        return self.render_template(
            "ledger/index.html", title=_("機器台帳のメンテナンス"), hospital=hospital,
            hospitals=hospitals_in_scope() if current_scope().everything else [],
            flt=flt, result=result, choices=listing.filter_choices(hospital.id),
            chosen_class=(chosen[0], option_label(*chosen[1:])) if chosen else None,
            device_url=device_links(hospital.id if current_scope().everything else None),
            form=CsrfForm(), prefix=FILTER_PREFIX,
        )

    @expose("/classifications")
    @has_access
    @permission_name("read")
    def classifications(self):
        """The classifications a device of the hospital may be set to, 50 at a time, whose name
        contains ``q``: the type-ahead of the list's filter and change form (select2's format)."""
        hospital = self._hospital()
        options, more = ledger.classification_options(
            hospital.id, request.args.get("q", ""), request.args.get("page", 1, type=int) or 1)
        return jsonify(results=[{"id": id_, "text": option_label(name, own)} for id_, name, own in options],
                       pagination={"more": more})

    def _export(self) -> tuple[str, list, list]:
        """What both exports hold: the file's name, the header and the rows of the list for the
        same hospital (scope and capability, as the screen) and filters, every page."""
        hospital = self._hospital()
        flt = ledger.LedgerFilter.from_mapping(request.args)
        return f"ledger-{hospital.code or hospital.id}", ledger_export.header(), ledger_export.rows(hospital.id, flt)

    @expose("/export.csv")
    @has_access
    @permission_name("read")
    def export_csv(self):
        """The list as CSV: a file the upload screen takes back as a ledger
        (app/services/ledger/export.py)."""
        return csv_response(*self._export())

    @expose("/export.xlsx")
    @has_access
    @permission_name("read")
    def export_xlsx(self):
        """The list as an Excel workbook, the CSV's rows as text and date cells, so that Excel
        keeps device numbers and serials as written (app/views/xlsx_export.py); uploaded
        again as a ledger, it changes nothing either."""
        return xlsx_response(*self._export(), sheet_title=_("機器台帳"))

    @expose("/<int:pk>")
    @has_access
    @permission_name("read")
    def show(self, pk):
        return self._device_page(self._hospital(), pk)

    def _device_page(self, hospital, pk, kept=None):
        """One device's page; ``kept`` is the refused form's input, shown again."""
        device = listing.device(hospital.id, pk)
        if device is None:
            abort(404)
        changes = listing.history(hospital.id, device.id)
        # a refused form's classification, shown as chosen; the others come from the type-ahead
        kept_class = ledger.classification_option(hospital.id, (kept or {}).get("classification_id"))
        return self.render_template(
            "ledger/show.html", title=_("機器の設定と変更履歴"), hospital=hospital, device=device,
            row=listing.device_row(device), changes=changes, editors=listing.editor_names(changes),
            kept_class=(kept_class[0], option_label(*kept_class[1:])) if kept_class else None,
            counts_label=ledger.counts_label,
            form=CsrfForm(), kept=kept or {},
        )

    def _refused(self, hospital, exc):
        """A refused change: from a device's page, that page again with the input kept;
        from the list, the list (its filters and page)."""
        flash(str(exc), "danger")
        if request.form.get("from_device") and request.form.get("ids", "").isdigit():
            return self._device_page(hospital, int(request.form["ids"]), kept=request.form)
        return self._back(hospital)

    @expose("/change", methods=["POST"])
    @has_access
    @permission_name("write")
    def change(self):
        hospital = self._hospital()
        if not CsrfForm().validate_on_submit():
            abort(400)
        try:
            changed = apply_change(
                hospital, form_target(request.form), parse_counts(request.form.get("counts")),
                parse_classification(request.form.get("classification_id")), request.form.get("reason"),
            )
        except ledger.LedgerError as exc:
            return self._refused(hospital, exc)
        flash(_("%(n)s 件の設定を変更しました。", n=changed), "info")
        return self._back(hospital)

    @expose("/restore", methods=["POST"])
    @has_access
    @permission_name("write")
    def restore(self):
        hospital = self._hospital()
        if not CsrfForm().validate_on_submit():
            abort(400)
        try:
            changed = apply_restore(hospital, form_target(request.form), request.form.get("reason"))
        except ledger.LedgerError as exc:
            return self._refused(hospital, exc)
        flash(_("%(n)s 件の設定をデフォルトに戻しました。", n=changed), "info")
        return self._back(hospital)


class LedgerApi(OptiServeApi):
    """Ledger settings for machines: list, one device with history, change, restore."""

    resource_name = "ledger"
    allow_browser_login = True
    class_permission_name = "LedgerApi"
    method_permission_name = {"list_devices": "read", "get_device": "read",
                              "post_change": "write", "post_restore": "write"}
    openapi_spec_tag = "Ledger"

    @api_expose("/", methods=["GET"])
    @protect()
    def list_devices(self):
        """Devices with their settings (100 per page).
        ---
        get:
          summary: Devices of the hospital, filtered (q, classification_id, department, maker, model, state)
          parameters:
          - HospitalId  # components.parameters (app/views/openapi.py)
          - {in: query, name: q, schema: {type: string}}
          - {in: query, name: classification_id, schema: {type: integer}, description: the class and those under it}
          - {in: query, name: department, schema: {type: string}}
          - {in: query, name: maker, schema: {type: string}}
          - {in: query, name: model, schema: {type: string}}
          - {in: query, name: state, schema: {type: string}}
          - {in: query, name: page, schema: {type: integer, minimum: 1}}
          - {in: query, name: page_size, schema: {type: integer, minimum: 1, maximum: 1000}}
          responses:
            200:
              description: a page of devices
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/LedgerPage'}
        """
        hospital = target_hospital(request.args.get("hospital_id"), MAINTAIN_MASTERS)
        flt = ledger.LedgerFilter.from_mapping(request.args)
        result = listing.page(hospital.id, flt, request.args.get("page", 1, type=int) or 1,
                             request.args.get("page_size", listing.PAGE_SIZE, type=int))
        latest = result["latest_ledger_month"]
        result["latest_ledger_month"] = f"{latest:%Y-%m}" if latest else None
        return self.response(200, **result)

    @api_expose("/<int:pk>", methods=["GET"])
    @protect()
    def get_device(self, pk):
        """One device and its change history.
        ---
        get:
          summary: One device's settings and history
          parameters:
          - HospitalId  # components.parameters (app/views/openapi.py)
          responses:
            200:
              description: the device
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/DeviceDetail'}
            404: {description: not in your scope}
        """
        hospital = target_hospital(request.args.get("hospital_id"), MAINTAIN_MASTERS)
        device = listing.device(hospital.id, pk)
        if device is None:
            return self.response_404()
        history = listing.history(hospital.id, device.id)
        editors = listing.editor_names(history)
        changes = [{"changed_at": c.changed_at.isoformat() + "Z", "changed_by_id": c.changed_by_id,
                    "changed_by": editors.get(c.changed_by_id), "field": c.field,
                    "old": c.old_value, "new": c.new_value, "reason": c.reason}
                   for c in history]
        return self.response(200, result=listing.device_row(device), history=changes)

    def _body(self):
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise ledger.LedgerError(_("JSON形式で送ってください。"))
        return body

    @api_expose("/change", methods=["POST"])
    @protect()
    def post_change(self):
        """Change counts-in-aggregation and/or the classification of devices.
        ---
        post:
          summary: 'JSON: target (ids | model_number | filter | all), counts, classification_id, reason'
          parameters:
          - HospitalId  # components.parameters (app/views/openapi.py)
          requestBody:
            required: true
            content:
              application/json:
                schema: {$ref: '#/components/schemas/LedgerChangeRequest'}
          responses:
            200:
              description: how many values changed
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/LedgerChanged'}
            400: {description: refused}
        """
        hospital = target_hospital(request.args.get("hospital_id"), MAINTAIN_MASTERS)
        try:
            body = self._body()
            changed = apply_change(hospital, json_target(body), parse_counts(body.get("counts")),
                                   parse_classification(body.get("classification_id")), body.get("reason"))
        except ledger.LedgerError as exc:
            return self.response_400(message=str(exc))
        return self.response(200, changed=changed)

    @api_expose("/restore", methods=["POST"])
    @protect()
    def post_restore(self):
        """Restore the defaults of devices (history is kept).
        ---
        post:
          summary: 'JSON: target (ids | model_number | filter | all), reason'
          parameters:
          - HospitalId  # components.parameters (app/views/openapi.py)
          requestBody:
            required: true
            content:
              application/json:
                schema: {$ref: '#/components/schemas/LedgerRestoreRequest'}
          responses:
            200:
              description: how many values were restored
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/LedgerChanged'}
            400: {description: refused}
        """
        hospital = target_hospital(request.args.get("hospital_id"), MAINTAIN_MASTERS)
        try:
            body = self._body()
            changed = apply_restore(hospital, json_target(body), body.get("reason"))
        except ledger.LedgerError as exc:
            return self.response_400(message=str(exc))
        return self.response(200, changed=changed)


def json_target(body: dict) -> ledger.Target:
    if isinstance(body.get("ids"), list):
        try:
            return ledger.Target(ids=[int(i) for i in body["ids"]])
        except (TypeError, ValueError):
            raise ledger.LedgerError(_("機器を選択してください。"))
    if body.get("model_number") is not None:
        return ledger.Target(model_number=str(body["model_number"]))
    if isinstance(body.get("filter"), dict):
        return ledger.Target(filter=ledger.LedgerFilter.from_mapping(body["filter"]))
    if body.get("all") is True:
        return ledger.Target(everything=True)
    raise ledger.LedgerError(_("変更の対象を指定してください。"))
