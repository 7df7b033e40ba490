"""Screen 8, ディーラー権限の登録, and the dealer's hospital switcher.

The hospital (OrgAdmin or HospitalUser: capability MANAGE_DEALERS) grants levels on its own
permissions; Admin picks any hospital. Which hospital a dealer acts for is decided by
:mod:`app.scope` from the session; these views only put the choice there.
"""
from __future__ import annotations

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext as _
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select

from app.access import dealer_choice
from app.access.capabilities import MANAGE_DEALERS
from app.access.roles import is_dealer_user
from app.access.scope import current_scope
from app.extensions import db
from app.models import DealerLevel, DealerPermission, Organization, OrganizationKind
from app.services.partners import dealers
from app.services.unit_of_work import unit_of_work


def _hospital_from_request() -> Organization:
    """The hospital the page works on: the user's own, or (operator) the one asked for."""
    scope = current_scope()
    if not scope.can(MANAGE_DEALERS):
        abort(403)
    requested = request.values.get("hospital", type=int)
    if requested is None:
        if scope.everything:
            return None
        if len(scope.organization_ids) != 1:
            abort(403)
        requested = next(iter(scope.organization_ids))
    hospital = db.session.get(Organization, requested)
    if hospital is None or not scope.allows(hospital.id) or hospital.kind != OrganizationKind.hospital.value:
        abort(404)
    return hospital


class DealerPermissionView(BaseView):
    route_base = "/dealer-permissions"
    class_permission_name = "DealerPermissions"
    method_permission_name = {"index": "list", "edit": "list", "save": "edit"}
    default_view = "index"

    def _page(self, hospital, *, email="", level=None, reason="", status=200):
        hospitals = []
        if current_scope().everything:
            hospitals = list(db.session.scalars(
                select(Organization).where(Organization.kind == OrganizationKind.hospital.value)
                .order_by(Organization.code)))
        return self.render_template(
            "dealers/permissions.html",
            title=_("ディーラー権限の登録"), hospital=hospital, hospitals=hospitals,
            permissions=dealers.permissions_of_hospital(hospital.id) if hospital else [],
            history=dealers.history_of_hospital(hospital.id) if hospital else [],
            level_labels=dealers.LEVEL_LABELS, levels=list(DealerLevel),
            email=email, level=level, reason=reason, csrf_token=generate_csrf(),
        ), status

    @expose("/")
    @has_access
    def index(self):
        return self._page(_hospital_from_request())

    @expose("/edit/<int:pk>")
    @has_access
    def edit(self, pk):
        """Selecting a row of the list fills the form (as in the owner's screen)."""
        permission = db.session.get(DealerPermission, pk)
        scope = current_scope()
        if permission is None or not scope.can(MANAGE_DEALERS) or not scope.allows(permission.hospital_id):
            abort(404)
        return self._page(permission.hospital, email=permission.dealer_user.email,
                          level=permission.level)

    @expose("/save", methods=["POST"])
    @has_access
    def save(self):
        hospital = _hospital_from_request()
        if hospital is None:
            abort(404)
        form = request.form
        try:
            with unit_of_work():
                permission = dealers.grant(hospital, form.get("email", ""), form.get("level"),
                                           form.get("reason", ""), g.user)
        except dealers.DealerPermissionError as error:
            flash(str(error), "danger")
            return self._page(hospital, email=form.get("email", ""),
                              level=form.get("level", type=int), reason=form.get("reason", ""),
                              status=400)
        flash(_("%(email)s の権限を「%(level)s」に設定しました。",
                email=permission.dealer_user.email,
                level=dealers.LEVEL_LABELS[DealerLevel(permission.level)]), "success")
        return redirect(url_for(".index", hospital=hospital.id))


class DealerHospitalView(BaseView):
    """The dealer's list of hospitals and the switch between them."""

    route_base = "/dealer"
    class_permission_name = "DealerHospitals"
    method_permission_name = {"hospitals": "choose", "choose": "choose"}
    default_view = "hospitals"

    @expose("/hospitals")
    @has_access
    def hospitals(self):
        permissions = dealer_choice.active_permissions(g.user.id) if is_dealer_user(g.user) else []
        return self.render_template(
            "dealers/hospitals.html", title=_("対象医療機関の選択"), permissions=permissions,
            chosen=current_scope().dealer_hospital_id, level_labels=dealers.LEVEL_LABELS,
            csrf_token=generate_csrf(), is_dealer=is_dealer_user(g.user),
            own_id=dealer_choice.OWN_ORGANIZATION, own_chosen=dealer_choice.works_for_own_organization(),
        )

    @expose("/choose", methods=["POST"])
    @has_access
    def choose(self):
        hospital_id = request.form.get("hospital", type=int)
        if not is_dealer_user(g.user) or hospital_id is None:
            abort(404)
        if hospital_id == dealer_choice.OWN_ORGANIZATION:
            dealer_choice.choose_own_organization()
            flash(_("自社（%(name)s）の作業に切り替えました。", name=g.user.organization.name), "success")
            return redirect(self.appbuilder.get_url_for_index)
        permission = dealer_choice.choose_hospital(g.user, hospital_id)
        if permission is None:
            abort(404)
        flash(_("%(name)sの作業に切り替えました。", name=permission.hospital.name), "success")
        return redirect(self.appbuilder.get_url_for_index)



def switcher_context() -> dict:
    """Template globals for the navbar's hospital switcher (app/templates/appbuilder/navbar_right.html)."""

    def dealer_switcher():
        user = getattr(g, "user", None)
        if user is None or not getattr(user, "is_authenticated", False) or not is_dealer_user(user):
            return None
        return {
            "permissions": dealer_choice.active_permissions(user.id),
            "chosen": current_scope().dealer_hospital_id,
            "labels": dealers.LEVEL_LABELS,
            "csrf_token": generate_csrf(),
            "own_id": dealer_choice.OWN_ORGANIZATION,
            "own": dealer_choice.works_for_own_organization(),
            "own_name": user.organization.name if user.organization is not None else "",
        }

    return {"dealer_switcher": dealer_switcher}
