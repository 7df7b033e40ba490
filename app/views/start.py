"""``/``: each role's start page (issue 14, item 7) — what needs doing, never an empty
「ようこそ」. A hospital-side user (and a dealer acting for a hospital) with report access goes
to the dashboard, which shows this month's upload status and the latest report on top."""
from __future__ import annotations

from flask import g, redirect, url_for
from flask_babel import gettext as _

from app.access import roles
from app.access.capabilities import DOWNLOAD_REPORTS, MANAGE_USERS
from app.access.scope import current_scope
from app.core.months import format_jst
from app.services import start
from app.views.display import reader_locale


def start_page(view):
    user = g.user
    scope = current_scope()
    common = {"format_jst": format_jst, "user": user}
    if roles.is_system(user):
        return view.render_template("start/system.html", title=_("APIアカウント"), **common)
    if scope.everything:
        return view.render_template(
            "start/operator.html", title=_("運用状況"), due=start.incomplete_hospitals(),
            problems=start.job_problems(locale=reader_locale()), unmapped=start.unmapped_by_hospital(),
            is_admin=roles.is_admin(user), **common)
    if scope.can(DOWNLOAD_REPORTS) and view.appbuilder.sm.has_access("can_read", "Dashboard"):
        return redirect(url_for("DashboardView.index"))
    organization = user.organization
    if roles.is_manufacturer_user(user):
        return view.render_template("start/manufacturer.html", title=_("ホーム"),
                                    summary=start.manufacturer_summary(organization.id),
                                    organization=organization, **common)
    if scope.can(MANAGE_USERS):
        return view.render_template(
            "start/orgadmin.html", title=_("ホーム"), organization=organization,
            invitations=start.pending_invitations(organization.id),
            locked=start.locked_users(organization.id), **common)
    return view.render_template("start/other.html", title=_("ホーム"), organization=organization, **common)
