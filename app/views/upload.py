"""Screen 3, MEシステムデータのアップロード (K004): the form, per-file status (polled as JSON
by ``static/js/upload.js``), rejected-rows and original-file downloads, the needs-mapping step."""
from __future__ import annotations

from flask import (
    Response,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    request,
    url_for,
)
from flask_appbuilder import BaseView, expose, has_access, permission_name
from flask_babel import gettext as _
from werkzeug.exceptions import RequestEntityTooLarge

from app.access.capabilities import UPLOAD
from app.access.scope import current_scope
from app.access.sessions import passive_request
from app.extensions import db
from app.infra.storage import get_storage
from app.models import UploadType
from app.services.ingest.rejects import open_rejected
from app.services.unit_of_work import unit_of_work
from app.services.uploads import records as uploads
from app.services.uploads.checks import UploadRejected, too_large_message
from app.services.uploads.column_mapping import (
    MappingError,
    canonical_fields,
    current_choices,
    file_preview,
    save_mapping,
)
from app.services.uploads.discarding import NotDiscardable, can_discard, discard_upload
from app.views.display import reader_locale, stored_message
from app.views.hospital_target import CsrfForm, hospitals_in_scope, target_hospital

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CONTENT_TYPES = {"xlsx": XLSX, "xls": "application/vnd.ms-excel", "csv": "text/csv"}


def scoped_upload(pk):
    if not current_scope().can(UPLOAD):
        abort(403)
    upload = uploads.upload_in_scope(current_scope(), pk)
    if upload is None:
        abort(404)
    return upload


def stream_object(key: str, download_name: str, content_type: str) -> Response:
    try:
        handle = get_storage().open(key)
    except FileNotFoundError:
        abort(404)
    return stream_file(handle, download_name, content_type)


def stream_file(handle, download_name: str, content_type: str) -> Response:
    """A download of an open binary file, read in chunks and closed at the end."""

    def chunks():
        try:
            while True:
                chunk = handle.read(1024 * 1024)
                if not chunk:
                    break
                yield chunk
        finally:
            handle.close()

    # content_type as given: with mimetype=, Werkzeug adds "charset=utf-8" to a text/* type,
    # which mislabels an original CSV in Shift_JIS
    response = Response(chunks(), content_type=content_type)
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{download_name}"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def rejected_download(upload) -> Response:
    if not upload.rejected_key:
        abort(404)
    name = f"rejected_{upload.month:%Y-%m}_{uploads.TYPE_SLUGS[UploadType(upload.file_type)]}_{upload.id}.xlsx"
    try:
        handle = open_rejected(get_storage(), upload.rejected_key, reader_locale())
    except FileNotFoundError:
        abort(404)
    return stream_file(handle, name, XLSX)


def original_download(upload) -> Response:
    if not upload.storage_key:
        abort(404)
    extension = upload.storage_key.rsplit(".", 1)[-1]
    name = f"{upload.month:%Y-%m}_{uploads.TYPE_SLUGS[UploadType(upload.file_type)]}_{upload.id}.{extension}"
    return stream_object(upload.storage_key, name, CONTENT_TYPES.get(extension, "application/octet-stream"))


class UploadView(BaseView):
    route_base = "/upload"
    class_permission_name = "Upload"
    default_view = "index"

    def _page(self, hospital, errors=(), status=200, selected_month=None):
        months = uploads.selectable_months()
        recent = [uploads.status_payload(u, url_for, reader_locale()) for u in uploads.recent_uploads(hospital.id)]
        body = self.render_template(
            "upload/index.html",
            title=_("MEシステムデータのアップロード"),
            hospital=hospital,
            hospitals=hospitals_in_scope() if current_scope().everything else [],
            months=months,
            selected_month=selected_month or f"{uploads.default_month():%Y-%m}",
            types=[(int(t), uploads.TYPE_LABELS[t], uploads.TYPE_SLUGS[t]) for t in UploadType],
            recent=recent,
            history=uploads.history(hospital.id),
            errors=[str(e) for e in errors],
            max_mb=current_app.config.get("MAX_UPLOAD_MB", 20),
            form=CsrfForm(),
        )
        return body, status

    @expose("/", methods=["GET"])
    @has_access
    @permission_name("read")
    def index(self):
        hospital = target_hospital(request.args.get("hospital_id"), UPLOAD)
        return self._page(hospital)

    @expose("/", methods=["POST"])
    @has_access
    @permission_name("write")
    def submit(self):
        hospital = target_hospital(request.args.get("hospital_id") or request.form.get("hospital_id"), UPLOAD)
        max_mb = current_app.config.get("MAX_UPLOAD_MB", 20)
        try:
            form_files = request.files
            month = request.form.get("month")
        except RequestEntityTooLarge:
            return self._page(hospital, [too_large_message(max_mb)], 413)
        if not CsrfForm().validate_on_submit():
            return self._page(hospital, [_("画面の有効期限が切れました。再読み込みしてください。")], 400)
        files = {}
        for file_type in UploadType:
            storage = form_files.get(uploads.TYPE_SLUGS[file_type])
            if storage is not None and storage.filename:
                files[file_type] = (storage.stream, storage.filename)
        try:
            accepted, errors = uploads.accept_files(hospital, month, files, g.user.id, current_app.config)
        except UploadRejected as exc:
            return self._page(hospital, [exc.message], exc.status, month)
        if errors:
            status = 413 if any(e.status == 413 for e in errors) else 400
            return self._page(hospital, [e.message for e in errors], status, month)
        for upload in accepted:
            label = uploads.TYPE_LABELS[UploadType(upload.file_type)]
            if upload.status == "duplicate":
                flash(f"{label}: {stored_message(upload)}", "warning")
            else:
                flash(_("%(label)sを受け付けました。処理状況は下の一覧に表示されます。", label=label), "info")
        return redirect(url_for("UploadView.index", hospital_id=hospital.id if current_scope().everything else None))

    @expose("/history.csv")
    @has_access
    @permission_name("read")
    def history_csv(self):
        """The upload history as CSV: the same hospital and months as the screen, one row per
        file (who uploaded it, when in JST, status and counts)."""
        from app.models import User
        from app.views.csv_export import csv_response

        hospital = target_hospital(request.args.get("hospital_id"), UPLOAD)
        files = uploads.history_uploads(hospital.id)
        ids = {f.uploaded_by_id for f in files if f.uploaded_by_id}
        names = dict(db.session.query(User.id, User.first_name).filter(User.id.in_(ids))) if ids else {}
        header = [_("受付番号"), _("対象年月"), _("種別"), _("ファイル名"), _("受付日時（JST）"),
                  _("アップロードした人"), _("状態"), _("件数"), _("取り込み件数"), _("取り込めなかった行"),
                  _("メッセージ")]
        rows = ([f.id, f"{f.month:%Y-%m}", uploads.TYPE_LABELS[UploadType(f.file_type)], f.original_name,
                 f.uploaded_at, names.get(f.uploaded_by_id, ""), uploads.STATUS_LABELS.get(f.status, f.status),
                 f.rows_total, f.rows_imported, f.rows_rejected, stored_message(f)] for f in files)
        return csv_response(f"uploads-{hospital.code or hospital.id}", header, rows)

    @expose("/status")
    @passive_request  # the page's poll: no sign the user is there
    @has_access
    @permission_name("read")
    def status(self):
        if not current_scope().can(UPLOAD):
            abort(403)
        ids = [part for part in request.args.get("ids", "").split(",") if part.strip().isdigit()][:50]
        found = [uploads.upload_in_scope(current_scope(), pk) for pk in ids]
        return jsonify(uploads=[uploads.status_payload(u, url_for, reader_locale()) for u in found if u is not None])

    @expose("/<int:pk>/rejected")
    @has_access
    @permission_name("read")
    def rejected(self, pk):
        return rejected_download(scoped_upload(pk))

    @expose("/<int:pk>/file")
    @has_access
    @permission_name("read")
    def original(self, pk):
        return original_download(scoped_upload(pk))

    @expose("/<int:pk>/discard", methods=["POST"])
    @has_access
    @permission_name("write")
    def discard(self, pk):
        """取り消す: withdraw a file sent by mistake (needs mapping or failed); the month is
        again what the earlier files made it. Another hospital's upload: 404."""
        upload = scoped_upload(pk)
        if not CsrfForm().validate_on_submit():
            abort(400)
        try:
            with unit_of_work():
                discard_upload(upload, actor=g.user)
        except NotDiscardable as exc:
            flash(str(exc), "warning")
        else:
            flash(_("%(label)s（受付番号 %(id)s）を取り消しました。", id=upload.id,
                    label=uploads.TYPE_LABELS[UploadType(upload.file_type)]), "info")
        return redirect(url_for("UploadView.index", hospital_id=upload.hospital_id))

    @expose("/<int:pk>/mapping", methods=["GET", "POST"])
    @has_access
    @permission_name("write")
    def mapping(self, pk):
        upload = scoped_upload(pk)
        if upload.status != "needs_mapping":
            flash(_("このファイルは列の対応付けを必要としていません。"), "info")
            return redirect(url_for("UploadView.index", hospital_id=upload.hospital_id))
        headers, preview = file_preview(upload)  # the named headers and the first rows under them
        error = None
        choices = current_choices(upload, headers)
        if request.method == "POST":
            if not CsrfForm().validate_on_submit():
                abort(400)
            fields = canonical_fields(upload.file_type)
            choices = {name: request.form.get(f"field_{name}", "") for name, _l, _r in fields}
            try:
                save_mapping(upload, headers, choices)
            except MappingError as exc:
                db.session.rollback()
                error = str(exc)
            else:
                flash(_("列の対応付けを保存し、再処理を開始しました。"), "info")
                return redirect(url_for("UploadView.index", hospital_id=upload.hospital_id))
        return self.render_template(
            "upload/mapping.html",
            title=_("列の対応付け"),
            upload=upload,
            message=stored_message(upload),
            type_label=uploads.TYPE_LABELS[UploadType(upload.file_type)],
            headers=headers,
            preview=preview,
            fields=canonical_fields(upload.file_type),
            choices=choices,
            error=error,
            form=CsrfForm(),
            can_discard=can_discard(upload),
        ), (400 if error else 200)
