"""Screen 4, 分析レポートのダウンロード, the on-demand generation action, and the REST API.

Every file is fetched through the scope (another hospital's id is a 404) and every download
is recorded (who, when).
"""
from __future__ import annotations

from flask import abort, flash, g, jsonify, redirect, request, send_file, url_for
from flask_appbuilder import BaseView, expose, has_access, permission_name
from flask_appbuilder.api import protect
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.access.capabilities import DOWNLOAD_REPORTS
from app.access.scope import current_scope
from app.access.sessions import passive_request
from app.core.months import parse_month, previous_month
from app.extensions import db
from app.infra.storage import get_storage
from app.models import ReportFile, ReportType
from app.services.reports import enqueue_report, service
from app.services.stored_messages import codes
from app.views.api_base import OptiServeApi
from app.views.display import reader_locale, stored_message
from app.views.hospital_target import CsrfForm, hospitals_in_scope, target_hospital


def scoped_report(pk: int) -> ReportFile:
    """A published report file in the current scope, else 404 (403 without the capability)."""
    scope = current_scope()
    if not scope.can(DOWNLOAD_REPORTS):
        abort(403)
    row = db.session.scalars(
        service.published_query(scope.clause(ReportFile.hospital_id)).where(ReportFile.id == pk)).first()
    if row is None:
        abort(404)
    return row


def send_report(row: ReportFile):
    service.record_download(row, getattr(g.user, "id", None))
    return send_file(get_storage().open(row.storage_key), mimetype=row.content_type or "application/octet-stream",
                     as_attachment=True, download_name=row.file_name or f"report-{row.id}")


JOB_STATUS_LABELS = {
    "queued": _l("待機中"),
    "running": _l("作成中"),
    "failed": _l("失敗"),
    service.PUBLISHED: _l("完了"),
}
JOB_PENDING = ("queued", "running")


def report_jobs(hospital_id: int) -> list[dict]:
    """The latest generated report files of a hospital with their status in Japanese (the page
    polls this until every one is done)."""
    return [{"id": r.id, "month": f"{r.month:%Y-%m}", "type": str(service.TYPE_NAMES.get(r.file_type, r.file_type)),
             "status": r.status, "status_label": str(JOB_STATUS_LABELS.get(r.status, r.status)),
             "message": stored_message(r), "message_codes": codes(r.message_parts, r.message),
             "done": r.status not in JOB_PENDING}
            for r in service.recent_generated_reports(hospital_id)]


def human_size(size) -> str:
    if size is None:
        return "—"
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:,.1f} KB"
    return f"{size / 1024 / 1024:,.1f} MB"


class ReportDownloadView(BaseView):
    route_base = "/reports"
    class_permission_name = "Reports"
    default_view = "index"

    @expose("/")
    @has_access
    @permission_name("read")
    def index(self):
        hospital = target_hospital(request.args.get("hospital_id"), DOWNLOAD_REPORTS)
        months = service.report_months(hospital.id)
        month = parse_month(request.args.get("month"))
        if request.args.get("month") and month not in months:
            flash(_("指定された年月のレポートが見つかりません。"), "warning")
        if month not in months:
            month = months[0] if months else None
        files, older, versions = {}, {}, []
        if month is not None:
            files, older = service.month_files(hospital.id, month)
            versions = service.month_versions(hospital.id, month)
        cards = [{"type": t, "name": service.TYPE_NAMES[t], "description": service.TYPE_DESCRIPTIONS[t],
                  "file": files.get(int(t)), "older": older.get(int(t), [])} for t in ReportType]
        return self.render_template(
            "reports/index.html", title=_("分析レポートのダウンロード"), hospital=hospital,
            hospitals=hospitals_in_scope() if current_scope().everything else [],
            months=months, month=month, cards=cards, history=service.download_history(hospital.id),
            type_names=service.TYPE_NAMES, human_size=human_size, can_generate=current_scope().everything,
            jobs=report_jobs(hospital.id) if current_scope().everything else [],
            form=CsrfForm(), default_month=_previous_month(), versions=versions,
            describe=lambda changes: service.describe(changes, locale=reader_locale()),
        )

    @expose("/jobs")
    @passive_request  # the page's poll: no sign the user is there
    @has_access
    @permission_name("read")
    def jobs(self):
        """The generation status polled by the page (operators, who can generate)."""
        if not current_scope().everything:
            abort(403)
        hospital = target_hospital(request.args.get("hospital_id"), DOWNLOAD_REPORTS)
        return jsonify(jobs=report_jobs(hospital.id))

    @expose("/download/<int:pk>")
    @has_access
    @permission_name("download")
    def download(self, pk):
        return send_report(scoped_report(pk))

    @expose("/generate", methods=["POST"])
    @has_access
    @permission_name("generate")
    def generate(self):
        """Admin/Operator: (re)generate one hospital-month's reports now."""
        if not current_scope().everything:
            abort(403)
        form = CsrfForm()
        if not form.validate_on_submit():
            abort(400)
        hospital = target_hospital(request.form.get("hospital_id"), DOWNLOAD_REPORTS)
        month = parse_month(request.form.get("month"))
        if month is None:
            flash(_("対象年月を YYYY-MM の形式で指定してください。"), "danger")
        else:
            enqueue_report(hospital.id, month, force=bool(request.form.get("force")))
            flash(_("%(month)s のレポート作成を受け付けました。", month=f"{month:%Y-%m}"), "info")
        return redirect(url_for("ReportDownloadView.index", hospital_id=hospital.id))


def _previous_month() -> str:
    return f"{previous_month():%Y-%m}"


class ReportApi(OptiServeApi):
    """``GET /api/v1/reports/?month=YYYY-MM[&hospital_id=]`` lists published files in scope —
    the newest version of each hospital-month-type, with its older versions in
    ``older_versions`` (``&all_versions=1``: every version as its own item);
    ``GET /api/v1/reports/<id>/download`` downloads one (recorded)."""

    resource_name = "reports"
    class_permission_name = "ReportsApi"
    method_permission_name = {"list_reports": "read", "download": "read"}
    openapi_spec_tag = "Reports"
    allow_browser_login = True  # the screen's session too; machines use API keys

    @expose("/", methods=["GET"])
    @protect()
    def list_reports(self):
        """List published report files.
        ---
        get:
          parameters:
          - {in: query, name: month, schema: {type: string}, description: YYYY-MM}
          - {in: query, name: hospital_id, schema: {type: integer}}
          - {in: query, name: all_versions, schema: {type: string, enum: ['1', 'true', '0', 'false']}}
          responses:
            200:
              description: report files
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/ReportList'}
            400: {description: malformed month}
            404: {description: hospital out of scope}
        """
        scope = current_scope()
        if not scope.can(DOWNLOAD_REPORTS):
            return self.response_403()
        query = service.published_query(scope.clause(ReportFile.hospital_id))
        hospital_id = request.args.get("hospital_id")
        if hospital_id:
            if not hospital_id.isdigit() or not scope.allows(int(hospital_id)):
                return self.response_404()
            query = query.where(ReportFile.hospital_id == int(hospital_id))
        if request.args.get("month"):
            month = parse_month(request.args["month"])
            if month is None:
                return self.response_400(message="month must be YYYY-MM")
            query = query.where(ReportFile.month == month)
        rows = db.session.scalars(query.order_by(ReportFile.month.desc(), ReportFile.hospital_id,
                                                 ReportFile.file_type, ReportFile.version.desc())).all()
        if request.args.get("all_versions") in ("1", "true"):
            return self.response(200, result=[_payload(r) for r in rows])
        result, latest = [], {}
        for r in rows:  # newest version first within each hospital-month-type
            key = (r.hospital_id, r.month, r.file_type)
            if key in latest:
                latest[key]["older_versions"].append(_payload(r))
            else:
                latest[key] = {**_payload(r), "older_versions": []}
                result.append(latest[key])
        return self.response(200, result=result)

    @expose("/<int:pk>/download", methods=["GET"])
    @protect()
    def download(self, pk):
        """Download one report file.
        ---
        get:
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer, minimum: 0, maximum: 2147483647}}
          responses:
            200:
              description: the file (XLSX, or PDF/PPTX/XLSX published on-prem)
              content:
                application/vnd.openxmlformats-officedocument.spreadsheetml.sheet:
                  schema: {type: string, format: binary}
                application/pdf:
                  schema: {type: string, format: binary}
                application/vnd.openxmlformats-officedocument.presentationml.presentation:
                  schema: {type: string, format: binary}
                application/octet-stream:
                  schema: {type: string, format: binary}
            404: {description: not found or out of scope}
        """
        scope = current_scope()
        if not scope.can(DOWNLOAD_REPORTS):
            return self.response_403()
        row = db.session.scalars(
            service.published_query(scope.clause(ReportFile.hospital_id)).where(ReportFile.id == pk)).first()
        if row is None:
            return self.response_404()
        return send_report(row)


def _payload(row: ReportFile) -> dict:
    return {
        "id": row.id, "hospital_id": row.hospital_id, "month": f"{row.month:%Y-%m}",
        "file_type": row.file_type, "version": row.version,
        "name": str(service.TYPE_NAMES[ReportType(row.file_type)]),
        "file_name": row.file_name, "size": row.size, "sha256": row.sha256, "source": row.source,
        "published_at": row.published_at.isoformat() + "Z" if row.published_at else None,  # stored in UTC
        "download_url": url_for("ReportApi.download", pk=row.id),
    }
