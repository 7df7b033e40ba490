"""Screen 9: a manufacturer's ordered choice of hospitals, and its page of pooled figures.

The figures page shows figures pooled over the selection in force in the month shown
(:func:`app.services.partners.manufacturers.figures_for_month`); no hospital's rows are reachable from here.
A saved change applies from the next month, which the selection page says.
"""
from __future__ import annotations

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext as _
from flask_wtf.csrf import generate_csrf

from app.access.capabilities import SELECT_HOSPITALS
from app.access.scope import current_scope
from app.core.months import add_months, current_month, parse_month, previous_month
from app.extensions import db
from app.models import Organization
from app.services.partners import manufacturers


def _manufacturer() -> Organization:
    scope = current_scope()
    if not scope.can(SELECT_HOSPITALS) or len(scope.organization_ids) != 1:
        abort(403)
    return db.session.get(Organization, next(iter(scope.organization_ids)))


def month_label(month) -> str:
    return _("%(year)d年%(month)d月", year=month.year, month=month.month)


# The month picker offers this many months back from the current one (the same year-month
# labels as the dashboard's, whatever the browser's language; a browser's own month input
# wrote "November 2026" on a Japanese page).
PICKER_MONTHS = 25


def month_choices(month) -> list[tuple[str, str]]:
    """(value, label) of the picker, newest first; ``month`` is among them even if older."""
    newest = current_month()
    months = [add_months(newest, -i) for i in range(PICKER_MONTHS)]
    if month not in months:
        months.append(month)
    return [(f"{m:%Y-%m}", month_label(m)) for m in sorted(months, reverse=True)]


def _month_from_request():
    return parse_month(request.args.get("month")) or previous_month()


class ManufacturerView(BaseView):
    route_base = "/manufacturer"
    class_permission_name = "ManufacturerHospitals"
    method_permission_name = {"selection": "select", "save": "select", "figures": "figures"}
    default_view = "figures"

    @expose("/selection")
    @has_access
    def selection(self):
        manufacturer = _manufacturer()
        return self._selection_page(manufacturer, [row.hospital_id for row in manufacturers.selection(manufacturer.id)])

    def _selection_page(self, manufacturer, selected_ids, status=200):
        candidates = manufacturers.candidate_hospitals()
        by_id = {hospital.id: hospital for hospital in candidates}
        this_month = current_month()
        in_force = [row.hospital for row in manufacturers.selection(manufacturer.id, this_month)]
        latest = manufacturers.latest_selection_month(manufacturer.id)
        pending = latest is not None and latest > this_month
        return self.render_template(
            "manufacturers/selection.html", title=_("閲覧する医療機関の選択"),
            manufacturer=manufacturer, candidates=candidates,
            selected=[by_id[i] for i in selected_ids if i in by_id],
            limit=manufacturer.manufacturer_selection_count, csrf_token=generate_csrf(),
            in_force=in_force, pending=pending, first=latest is None,
            this_month=month_label(this_month),
            change_month=month_label(manufacturers.change_month(this_month)),
        ), status

    @expose("/selection", methods=["POST"])
    @has_access
    def save(self):
        manufacturer = _manufacturer()
        try:
            hospital_ids = [int(value) for value in request.form.getlist("hospital_id") if value]
        except ValueError:
            abort(400)
        try:
            manufacturers.save_selection(manufacturer, hospital_ids)
        except manufacturers.SelectionError as error:
            db.session.rollback()
            flash(str(error), "danger")
            return self._selection_page(manufacturer, hospital_ids, status=400)
        if manufacturers.latest_selection_month(manufacturer.id) > current_month():
            flash(_("閲覧する医療機関を保存しました。%(month)sの分析から適用されます。",
                    month=month_label(manufacturers.change_month())), "success")
        else:
            flash(_("閲覧する医療機関を保存しました。"), "success")
        return redirect(url_for(".selection"))

    @expose("/figures")
    @has_access
    def figures(self):
        manufacturer = _manufacturer()
        month = _month_from_request()
        figures = manufacturers.figures_for_month(manufacturer.id, month)
        hospitals = [db.session.get(Organization, i) for i in
                     manufacturers.visible_hospital_ids(manufacturer.id, month)]
        return self.render_template(
            "manufacturers/figures.html", title=_("選択医療機関の分析"), figures=figures,
            hospitals=hospitals, manufacturer=manufacturer, month_value=f"{month:%Y-%m}",
            month_choices=month_choices(month),
            own_makers=manufacturers.own_maker_names(manufacturer.id),
            user=g.user,
        )
