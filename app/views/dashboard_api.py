"""``GET /api/v1/reports/figures?month=YYYY-MM[&hospital_id=N]``: a month's dashboard figures
for a hospital's BI tool or a dealer's system (API key or the screen's session).

The answer is what the dashboard shows (app/views/dashboard.py): the headline cards with their
changes, and the rows of ①–⑥ per scope, read from the stored figures
(app/services/reports/stored.py; computed only when missing or stale). Labels follow the
reader's language like the screen; names from the data do not.

Who sees what is the dashboard's rule (target_hospital, the scope): a hospital user or key its
own hospital, a dealer the hospital it acts for at a level with reports, an operator any
hospital (``hospital_id`` required: an operator has no hospital of its own), a manufacturer
none (403: its pooled figures are screen 9). The permission is the screen's (``Dashboard`` /
``can_read``), so the role grants of the dashboard apply as they are.
"""
from __future__ import annotations

from flask import request
from flask_appbuilder.api import expose, protect
from flask_babel import gettext as _

from app.access.capabilities import DOWNLOAD_REPORTS
from app.access.scope import current_scope
from app.core.months import current_month, parse_month
from app.services.reports import dashboard as board
from app.services.reports import stored
from app.views.api_base import OptiServeApi
from app.views.dashboard import life_label, reader_wording, scope_name
from app.views.display import placeholder
from app.views.hospital_target import target_hospital

# The earliest month asked about: the figures reach 13 months back from the month asked.
EARLIEST_MONTH = "2000-01"
ROW_FIELDS = ("value", "previous", "last_year", "mean_12", "diff_previous", "diff_last_year", "diff_mean_12")


def figure_rows(scope: dict, section: str, wording) -> list[dict]:
    """The ① or ② rows: raw values (ratios as fractions, hours as hours) and their changes."""
    return [{"key": r["key"], "label": str(r["label"]), "unit": r["figure"].unit,
             **{k: r[k] for k in ROW_FIELDS}, "trend": r["trend"]}
            for r in board.rows_of(scope, section, wording)]


def month_figures(hospital, month, data: dict) -> dict:
    """The API's answer for one hospital-month from its stored figures, in the reader's language."""
    wording = reader_wording()
    return {
        "hospital_id": hospital.id, "hospital_code": hospital.code, "hospital_name": hospital.name,
        "month": f"{month:%Y-%m}", "has_data": board.has_data(data),
        "months": [m[:7] for m in data["months"]],
        "cards": [{"section": c["section"], "key": c["key"], "label": str(c["label"]), "unit": c["unit"],
                   "unit_label": str(c["unit_label"]), "value": c["raw"], "text": c["value"],
                   "meaning": c["meaning"], "previous": c["previous"], "last_year": c["last_year"]}
                  for c in board.cards(data, wording)],
        "scopes": [{
            "key": s["key"], "name": scope_name(s),
            "lending": figure_rows(s, "lending", wording), "failure": figure_rows(s, "failure", wording),
            "life": [{"bucket": r["bucket"], "label": life_label(r), "devices": r["devices"],
                      "lending_hours": r["lending_hours"]} for r in s["life"]],
            "models_near_end": s["models_near_end"], "top_models": s["top_models"],
        } for s in data["scopes"]],
        "ranking": [{**r, "name": placeholder(r["name"])} for r in data["ranking"]],
    }


class DashboardFiguresApi(OptiServeApi):
    """Beside ReportApi under ``/api/v1/reports/`` (a month's figures, as its files are), but
    with the dashboard's permission: ReportApi's is the download screen's."""

    resource_name = "reports"
    class_permission_name = "Dashboard"
    method_permission_name = {"figures": "read"}
    # The screen's list: FAB keeps on a view menu only the permissions its last registered view declares.
    base_permissions = ["can_read"]
    openapi_spec_tag = "Reports"
    allow_browser_login = True  # the screen's session too; machines use API keys

    @expose("/figures", methods=["GET"])
    @protect()
    def figures(self):
        """A month's dashboard figures of one hospital.
        ---
        get:
          description: >-
            The headline cards with their changes and the rows of ①–⑥ per scope, as the
            dashboard shows them. Ratios are fractions (0.1109 = 11.09%), hours are hours.
            Errors are `{"message": …}` in Japanese, English with `?_l_=en`.
          parameters:
          - {in: query, name: month, required: true, schema: {type: string, pattern: '^\\d{4}-\\d{2}$'},
             description: YYYY-MM (from 2000-01 to the current month)}
          - {in: query, name: hospital_id, schema: {type: integer},
             description: required for operators; a hospital's or a dealer's key may leave it out}
          responses:
            200:
              description: the month's figures
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/DashboardFiguresResult'}
            400: {description: month missing or not YYYY-MM in range, or hospital_id missing (operator)}
            403: {description: no dashboard for this user (a manufacturer, a dealer level without reports)}
            404: {description: hospital out of scope}
        """
        scope = current_scope()
        if scope.can(DOWNLOAD_REPORTS) and scope.everything and not request.args.get("hospital_id"):
            return self.response_400(message=_("医療機関（hospital_id）を指定してください。"))
        hospital = target_hospital(request.args.get("hospital_id"), DOWNLOAD_REPORTS)
        month = parse_month(request.args.get("month"))
        if month is None or not parse_month(EARLIEST_MONTH) <= month <= current_month():
            return self.response_400(message=_("対象年月を YYYY-MM の形式で指定してください。"))
        data = stored.load(hospital.id, month)
        return self.response(200, result=month_figures(hospital, month, data))

