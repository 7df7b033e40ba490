"""The hospital dashboard and the start page (``/``).

The dashboard reads the stored figures of the hospital-month (app/services/reports/stored.py:
computed once when the month's data changes): headline cards, the interactive charts (drawn
in the browser by the vendored Chart.js from the figures embedded in the page: no further
data request), ①–⑥ tables with CSV / Excel export, and the drill-down from a classification
to its devices. Every URL decides its hospital through target_hospital (the scope): a
hospital user only ever reaches its own hospital, a dealer the chosen one, an operator any;
a manufacturer has no hospital dashboard (its pooled figures are screen 9).
"""
from __future__ import annotations

import datetime as dt
import json
import re
from typing import NamedTuple
from urllib.parse import quote

from flask import Response, abort, flash, g, jsonify, redirect, request, url_for
from flask_appbuilder import BaseView, IndexView, expose, has_access, permission_name
from flask_babel import gettext as _
from sqlalchemy import text

from app.access.capabilities import DOWNLOAD_REPORTS, UPLOAD
from app.access.scope import current_scope
from app.core.months import first_of_month, parse_month, previous_month
from app.extensions import db
from app.services.reports import dashboard as board
from app.services.reports import stored
from app.services.reports.data_quality import LONG_LENDING_DAYS
from app.services.reports.definitions import unit_label
from app.services.reports.glossary import definitions
from app.services.reports.service import report_months
from app.services.reports.table_export import to_csv, to_xlsx
from app.services.start import hospital_status
from app.services.stored_messages import Wording
from app.views.csv_export import csv_download
from app.views.display import mark_times_shown, placeholder, reader_locale
from app.views.hospital_target import hospitals_in_scope, target_hospital
from app.views.xlsx_export import XLSX_MIMETYPE

fmt, fmt_diff = board.fmt, board.fmt_diff


_LENDING_MONTHS = text(
    "WITH RECURSIVE m(month) AS ("
    " SELECT MIN(month) FROM lending WHERE hospital_id = :h"
    " UNION ALL"
    " SELECT (SELECT MIN(l.month) FROM lending l WHERE l.hospital_id = :h AND l.month > m.month)"
    " FROM m WHERE m.month IS NOT NULL)"
    " SELECT month FROM m WHERE month IS NOT NULL")


def data_months(hospital_id: int) -> list[dt.date]:
    """Months to offer: months with reports, and months whose lending data came in. The
    lending months are read by skipping along the (hospital_id, month) index, one probe per
    month, not by reading every lending of the hospital."""
    months = set(report_months(hospital_id))
    for (month,) in db.session.execute(_LENDING_MONTHS, {"h": hospital_id}):
        months.add(month if isinstance(month, dt.date) else dt.date.fromisoformat(str(month)[:10]))
    return sorted({first_of_month(m) for m in months}, reverse=True)


class Target(NamedTuple):
    """What a dashboard request shows: the hospital (in scope, else 403/404), the month, the
    months offered, and, when the request asked for a month it cannot show (unreadable, or no
    data of the hospital), that month as asked (``refused``) — ``month`` is then the latest."""

    hospital: object
    month: dt.date
    months: list[dt.date]
    refused: str | None = None


def _target() -> Target:
    """The months offered are those with data (:func:`data_months`); a hospital without any
    is shown the previous month (empty). Any other month is refused: the latest is shown."""
    hospital = target_hospital(request.args.get("hospital_id"), DOWNLOAD_REPORTS)
    months = data_months(hospital.id)
    latest = months[0] if months else previous_month()
    asked = request.args.get("month")
    if not asked:
        return Target(hospital, latest, months)
    month = parse_month(asked)
    if month is not None and (month in months or month == latest):
        return Target(hospital, month, months)
    return Target(hospital, latest, months, refused=asked)


def _refusal_notice(target: Target) -> str:
    """The page's notice that the month asked for is not shown, and which month is."""
    asked = parse_month(target.refused)
    latest = _("%(year)d年%(month)d月", year=target.month.year, month=target.month.month)
    if asked is None:
        return _("指定された対象年月を読み取れませんでした。%(latest)sを表示しています。", latest=latest)
    return _("%(asked)sのデータはありません。%(latest)sを表示しています。",
             asked=_("%(year)d年%(month)d月", year=asked.year, month=asked.month), latest=latest)


def _back_to_dashboard(target: Target):
    """A drill-down or export of a month the dashboard does not offer: the dashboard of the
    latest month, with the notice (no error page, no empty file)."""
    flash(_refusal_notice(target), "warning")
    return redirect(url_for("DashboardView.index", hospital_id=request.args.get("hospital_id") or None))


def scope_name(scope: dict) -> str:
    """A section's name in the UI language: the stored figures keep 「全機器」 in Japanese."""
    return _("全機器") if scope["key"] == "all" else scope["name"]


def life_label(row: dict) -> str:
    """A ③ bucket (stored with its Japanese label) in the UI language."""
    return board.life_label(row, reader_wording())


def reader_wording() -> Wording:
    """The reader's language, as the dashboard's services take it."""
    return Wording(reader_locale())


def _language() -> str:
    """The reader's language as docs/figures.md's definitions know it (ja or en)."""
    return "en" if getattr(reader_locale(), "language", "ja") == "en" else "ja"


def _client_data(data: dict) -> dict:
    """What the charts need (trends and ③–⑥), with labels and definitions, in the UI language."""
    language = _language()
    labels = {s: {k: f.name_in(language) for k, f in board.FIGURES[s].items()} for s in board.FIGURES}
    units = {s: {k: f.unit for k, f in board.FIGURES[s].items()} for s in board.FIGURES}
    texts = {"units": {u: unit_label(u, language) for u in ("台", "回", "時間")},
             "devices": _("機器台数"), "lending_hours": _("合計貸出時間"),
             "near_end_share": _("残耐用1年以内の割合"), "utilization": _("稼働率"),
             "no_data": _("データがありません")}
    return {"months": [m[:7] for m in data["months"]], "month": data["month"][:7], "labels": labels,
            "units": units, "texts": texts, "definitions": definitions(language),
            "scopes": [{"key": s["key"], "name": scope_name(s),
                        "trend": {sec: {r["key"]: r["trend"] for r in s[sec]} for sec in ("lending", "failure")},
                        "life": [{**r, "label": life_label(r)} for r in s["life"]],
                        "models_near_end": s["models_near_end"][:10],
                        "top_models": s["top_models"]} for s in data["scopes"]],
            "ranking": [{**r, "name": placeholder(r["name"])} for r in data["ranking"][:20]]}


class DashboardView(BaseView):
    route_base = "/dashboard"
    class_permission_name = "Dashboard"
    default_view = "index"

    @expose("/")
    @has_access
    @permission_name("read")
    def index(self):
        target = _target()
        hospital, month, months = target.hospital, target.month, target.months
        if target.refused is not None:
            flash(_refusal_notice(target), "warning")
        data = stored.load(hospital.id, month)
        quality = data["quality"]
        if quality.get("unknown_end") or quality.get("over_booked") or quality.get("long_lendings"):
            mark_times_shown()  # the data-quality rows show lending times: the footer names the zone
        wording = reader_wording()
        newer = [m for m in months if m > month]
        older = [m for m in months if m < month]
        return self.render_template(
            "dashboard/index.html", title=_("ダッシュボード"), hospital=hospital, month=month, months=months,
            data=data, board=board, wording=wording, cards=board.cards(data, wording),
            has_data=board.has_data(data), fmt=fmt, fmt_diff=fmt_diff, quality=data["quality"],
            long_days=LONG_LENDING_DAYS,
            client_json=json.dumps(_client_data(data), ensure_ascii=False).replace("</", "<\\/"),
            next_month=newer[-1] if newer else None, previous=older[0] if older else None,
            hospitals=hospitals_in_scope() if current_scope().everything else [],
            data_defs=definitions(_language()), status=hospital_status(hospital.id), labels=board.labels(wording),
            scope_name=scope_name, life_label=life_label,
            can_upload=current_scope().can(UPLOAD) and self.appbuilder.sm.has_access("can_read", "UploadView"),
            export_base=url_for("DashboardView.export", hospital_id=hospital.id, month=f"{month:%Y-%m}"),
            drill_base=url_for("DashboardView.devices", hospital_id=hospital.id, month=f"{month:%Y-%m}"),
        )

    @expose("/data")
    @has_access
    @permission_name("read")
    def data(self):
        """The month's stored figures as JSON (what the page embeds, for scripts). A month the
        page does not offer is a 400 ``{"message": …}``, as the figures API answers a bad month."""
        target = _target()
        hospital, month = target.hospital, target.month
        if target.refused is not None:
            message = (_("対象年月を YYYY-MM の形式で指定してください。") if parse_month(target.refused) is None
                       else _("指定された月のデータはありません。"))
            return jsonify(message=message), 400
        data = stored.load(hospital.id, month)
        return jsonify(hospital_id=hospital.id, month=f"{month:%Y-%m}", cards=board.cards(data, reader_wording()),
                       has_data=board.has_data(data), figures=_client_data(data))

    @expose("/devices")
    @has_access
    @permission_name("read")
    def devices(self):
        """Drill-down: the devices of one classification (``cls``, from ⑥) or of a scope
        (``scope``), with their lendings and failures in the month."""
        target = _target()
        if target.refused is not None:
            return _back_to_dashboard(target)
        hospital, month = target.hospital, target.month
        data = stored.load(hospital.id, month)
        groups = board.groups_for(data, request.args.get("scope"), request.args.get("cls"))
        if groups is False:
            abort(404)
        found = board.devices(hospital.id, month, data["level"], data["grouping"], groups)
        return self.render_template(
            "dashboard/devices.html", title=_("機器一覧"), hospital=hospital, month=month, fmt=fmt,
            name=placeholder(board.drill_title(data, request.args.get("scope"), request.args.get("cls"))),
            devices=found[:board.DRILL_LIMIT], total=len(found), limit=board.DRILL_LIMIT,
            export_args={k: v for k, v in (("scope", request.args.get("scope")), ("cls", request.args.get("cls")))
                         if v is not None})

    @expose("/export")
    @has_access
    @permission_name("read")
    def export(self):
        """Any table of the dashboard as CSV (UTF-8 with BOM) or Excel."""
        target = _target()
        if target.refused is not None:
            return _back_to_dashboard(target)
        hospital, month = target.hospital, target.month
        name, kind = request.args.get("table", ""), request.args.get("format", "csv")
        if kind not in ("csv", "xlsx") or name not in board.TABLES:
            abort(404)
        data = stored.load(hospital.id, month)
        scope = request.args.get("scope")
        wording = reader_wording()
        if name == "devices":
            groups = board.groups_for(data, scope, request.args.get("cls"))
            if groups is False:
                abort(404)
            header = board.device_header(wording)
            rows = board.device_rows(board.devices(hospital.id, month, data["level"], data["grouping"], groups))
            label = placeholder(board.drill_title(data, scope, request.args.get("cls")))
        else:
            found = board.table(data, name, scope, wording)
            if found is None:
                abort(404)
            header, rows = found
            label = "" if name == "ranking" else scope_name(board.scope_of(data, scope))
        # The names the figures make up where the data has none (（未分類）, （不明）) in the
        # reader's language, as on the screen; every other cell is data.
        rows = [[placeholder(value) for value in row] for row in rows]
        title = wording.text(board.TABLES[name])
        # ① 貸出サマリー → ①貸出サマリー, ① Lending summary → ①Lending summary
        filename = "_".join(p for p in (re.sub(r"^(\S) ", r"\1", title), label, hospital.name, f"{month:%Y-%m}")
                            if p)
        headers = {"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}.{kind}",
                   "Cache-Control": "private, no-store"}
        if kind == "csv":
            return csv_download(to_csv(header, rows), headers)
        return Response(to_xlsx(title, header, rows), mimetype=XLSX_MIMETYPE, headers=headers)


class OptiServeIndexView(IndexView):
    """``/``: the start page of each role (app/views/start.py): a hospital-side user goes
    straight to the dashboard, everyone else sees what needs doing. Someone not logged in
    goes to the login page: FAB's empty "Welcome" page offered nothing to do, and it is
    where choosing a language on the login page led."""

    @expose("/")
    def index(self):
        from app.views.start import start_page

        user = getattr(g, "user", None)
        if user is not None and getattr(user, "is_authenticated", False):
            return start_page(self)
        return redirect(self.appbuilder.get_url_for_login)
