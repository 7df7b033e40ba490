"""The hospital dashboard (the first page a hospital user sees) and the index view.

One page per hospital-month: the ① and ② tables with their comparisons and the 13-month
trend charts — the same PNGs as in the analysis workbook, served by a scoped route.
"""
from __future__ import annotations

import datetime as dt

from flask import Response, abort, g, redirect, request, url_for
from flask_appbuilder import BaseView, IndexView, expose, has_access, permission_name
from flask_babel import gettext as _
from sqlalchemy import select

from app.access.capabilities import DOWNLOAD_REPORTS
from app.access.scope import current_scope
from app.core.months import first_of_month, parse_month, previous_month
from app.extensions import db
from app.models import Lending
from app.services.reports import charts
from app.services.reports.data_quality import LONG_LENDING_DAYS, data_quality
from app.services.reports.figures import compute_figures
from app.services.reports.service import report_months
from app.views.hospital_target import hospitals_in_scope, target_hospital


def fmt(value, unit) -> str:
    if value is None:
        return "—"
    if unit == "%":
        return f"{value * 100:,.2f}%"
    if unit == "時間" or not float(value).is_integer():
        return f"{value:,.1f}"
    return f"{value:,.0f}"


def fmt_diff(value, unit) -> str:
    if value is None:
        return "—"
    if unit == "%":
        return f"{value * 100:+,.2f}pt"
    if unit == "時間":
        return f"{value:+,.1f}"
    return f"{value:+,.0f}" if float(value).is_integer() else f"{value:+,.1f}"


def data_months(hospital_id: int) -> list[dt.date]:
    """Months to offer: months with reports, and months whose lending data came in."""
    months = set(report_months(hospital_id))
    months |= set(db.session.scalars(select(Lending.month).where(Lending.hospital_id == hospital_id).distinct()))
    return sorted({first_of_month(m) for m in months}, reverse=True)


class DashboardView(BaseView):
    route_base = "/dashboard"
    class_permission_name = "Dashboard"
    default_view = "index"

    @expose("/")
    @has_access
    @permission_name("read")
    def index(self):
        hospital = target_hospital(request.args.get("hospital_id"), DOWNLOAD_REPORTS)
        months = data_months(hospital.id)
        month = parse_month(request.args.get("month"))
        if month is None:
            month = months[0] if months else previous_month()
        figures = compute_figures(hospital.id, month)
        return self.render_template(
            "dashboard/index.html", title=_("ダッシュボード"), hospital=hospital, month=month,
            months=months, figures=figures, fmt=fmt, fmt_diff=fmt_diff,
            quality=data_quality(hospital.id, month), long_days=LONG_LENDING_DAYS,
            hospitals=hospitals_in_scope() if current_scope().everything else [],
        )

    @expose("/chart/<int:hospital_id>/<string:month>/<string:scope_key>/<string:kind>.png")
    @has_access
    @permission_name("read")
    def chart(self, hospital_id, month, scope_key, kind):
        hospital = target_hospital(hospital_id, DOWNLOAD_REPORTS)
        target = parse_month(month)
        if target is None or kind not in ("lending", "failure"):
            abort(404)
        figures = compute_figures(hospital.id, target)
        part = figures.scope(scope_key)
        if part is None:
            abort(404)
        draw = charts.lending_trend if kind == "lending" else charts.failure_trend
        png = draw(part.scope.name, figures.months, part.lending if kind == "lending" else part.failure)
        return Response(png, mimetype="image/png", headers={"Cache-Control": "private, max-age=300"})


class OptiServeIndexView(IndexView):
    """``/``: a hospital-side user goes straight to the dashboard; others get FAB's index."""

    @expose("/")
    def index(self):
        user = getattr(g, "user", None)
        if user is not None and getattr(user, "is_authenticated", False):
            scope = current_scope()
            if not scope.everything and scope.can(DOWNLOAD_REPORTS) and \
                    self.appbuilder.sm.has_access("can_read", "Dashboard"):
                return redirect(url_for("DashboardView.index"))
        return super().index()
