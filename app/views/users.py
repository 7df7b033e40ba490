"""Screen 2, ユーザーメンテナンス: one screen for Admin (all users) and OrgAdmin (its own).

Scope decides which users a person sees; the checks of :mod:`app.services.accounts.users`, run from
``pre_add``/``pre_update`` here and from the users API, refuse organizations outside the scope,
roles the person may not grant and e-mails outside the organization's allowed domains.
"""
from __future__ import annotations

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import expose, has_access, permission_name
from flask_appbuilder.models.sqla.filters import FilterInFunction
from flask_appbuilder.widgets import ListWidget
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, TextAreaField
from wtforms.validators import DataRequired, Length

from app.core.validation import email_error, mobile_error, phone_error
from app.extensions import db
from app.models import InactiveReason, User, UserStatus
from app.services.accounts import invitation_resend, totp
from app.services.accounts.login import is_locked, lock_lasts
from app.services.accounts.users import (
    UserError,
    check_update,
    deactivate_user,
    invite_new_user,
    offered_role_names,
    prepare_new_user,
    reactivate_user,
    unlock_user,
    user_snapshot,
)
from app.services.audit import trail as audit
from app.views.base import ScopedInterface, ScopedModelView, scope_filter
from app.views.display import jst
from app.views.forms import rule
from app.views.redirects import safe_local_path

STATUS_LABELS = {
    UserStatus.temporary: _l("仮登録"),
    UserStatus.active: _l("稼働中"),
    UserStatus.inactive: _l("利用停止"),
}


def lock_label(locked_until) -> str:
    """「ロック中（… まで）」 while a lock lasts (too many failed logins), else nothing: the
    status column says 稼働中 for a locked account too."""
    if not lock_lasts(locked_until):
        return ""
    return _("ロック中（%(until)s まで）", until=jst(locked_until))


REASON_LABELS = {
    InactiveReason.organization_left: _l("組織退会"),
    InactiveReason.person_changed: _l("担当者変更"),
    InactiveReason.processing_error: _l("処理ミス"),
    InactiveReason.other: _l("その他"),
}


def audit_unoffered_roles(form, field) -> None:
    """Form validator of ``roles``: a role the form did not offer (only a forged request
    sends one; WTForms then refuses the choice) is audited as a refused grant."""
    if not getattr(field, "_invalid_formdata", False):
        return
    from flask_appbuilder.security.sqla.models import Role

    submitted = [int(value) for value in request.form.getlist(field.name) if value.isdigit()]
    names = sorted(name for (name,) in db.session.query(Role.name).filter(Role.id.in_(submitted)))
    target = str((request.view_args or {}).get("pk") or "") or None
    audit.record_apart("user.role_grant_refused", changes={
        "roles": names, "reason": "role not offered to the actor",
        "user_id": target, "user_email": request.form.get("email"),
    }, organization_id=getattr(g.user, "organization_id", None))


LABELS = {
    "first_name": _l("氏名"),
    "email": _l("メールアドレス"),
    "organization": _l("組織"),
    "organization.name": _l("組織"),
    "phone": _l("電話番号"),
    "mobile": _l("携帯番号"),
    "roles": _l("ロール"),
    "status": _l("状態"),
    "inactive_reason": _l("利用停止の理由"),
    "inactive_note": _l("利用停止の備考"),
    "locked_until": _l("ロック"),
    "last_login": _l("最終ログイン"),
    "created_on": _l("登録日時"),
}


class UserListWidget(ListWidget):
    """FAB's list, with 「招待メールを再送」 beside the status of a 仮登録 user."""

    template = "users/list_widget.html"


class DeactivateForm(FlaskForm):
    reason = SelectField(
        _l("利用停止の理由"),
        choices=[(str(int(code)), label) for code, label in REASON_LABELS.items()],
        validators=[DataRequired(message=_l("利用停止の理由を選択してください"))],
    )
    note = TextAreaField(
        _l("備考"),
        validators=[
            DataRequired(message=_l("利用停止の備考を入力してください")),
            Length(max=255, message=_l("備考は255文字以内で入力してください")),
        ],
    )


class UserMaintenanceView(ScopedModelView):
    datamodel = ScopedInterface(User)
    export_name = "users"
    route_base = "/users"
    class_permission_name = "Users"
    method_permission_name = {
        "list": "list", "show": "show", "add": "add", "edit": "edit",
        "deactivate": "deactivate", "reactivate": "reactivate", "reset_totp": "reset_totp",
        "unlock": "unlock", "resend_invitation": "resend_invitation",
    }
    base_permissions = ["can_list", "can_show", "can_add", "can_edit", "can_deactivate",
                        "can_reactivate", "can_reset_totp", "can_unlock", "can_resend_invitation"]
    list_title = _l("ユーザー一覧")
    show_title = _l("ユーザー")
    add_title = _l("ユーザーの仮登録")
    edit_title = _l("ユーザーの編集")
    add_row_message = _l("ユーザーを仮登録しました。")
    edit_row_message = _l("ユーザー情報を更新しました。")
    label_columns = LABELS
    list_columns = ["organization.name", "first_name", "email", "roles", "status", "locked_until", "last_login"]
    order_columns = ["first_name", "email", "status", "last_login"]
    search_columns = ["first_name", "email", "organization", "status"]
    show_columns = ["first_name", "email", "organization", "phone", "mobile", "roles",
                    "status", "locked_until", "inactive_reason", "inactive_note", "last_login", "created_on"]
    add_columns = ["first_name", "organization", "email", "roles"]
    edit_columns = ["first_name", "email", "organization", "phone", "mobile", "roles"]
    base_order = ("organization_id", "asc")
    show_template = "users/show.html"
    list_widget = UserListWidget
    formatters_columns = {
        "status": lambda value: STATUS_LABELS.get(value, value),
        "locked_until": lock_label,
        "inactive_reason": lambda value: REASON_LABELS.get(value, "") if value else "",
    }
    validators_columns = {
        "first_name": [DataRequired(), Length(max=50, message=_l("ユーザー名は50文字以内で入力してください"))],
        "email": [DataRequired(), rule(email_error)],
        "phone": [rule(phone_error)],
        "mobile": [rule(mobile_error)],
        "roles": [audit_unoffered_roles],
    }
    _rel_filters = {
        "organization": [scope_filter("id")],
        "roles": [["name", FilterInFunction, lambda: offered_role_names(g.user)]],
    }
    add_form_query_rel_fields = edit_form_query_rel_fields = _rel_filters
    search_form_query_rel_fields = {"organization": [scope_filter("id")]}

    def pre_add(self, item: User) -> None:
        prepare_new_user(item, g.user)

    def post_add(self, item: User) -> None:
        link, hours = invite_new_user(item, g.user)
        flash(_("初回ログイン用のリンク（%(hours)s時間有効、この画面でのみ表示）: %(link)s",
                hours=hours, link=link), "info")

    def restrict_form(self, form, item) -> None:
        """A new user of the one organization an OrgAdmin manages: that organization is
        already chosen (an empty choice beside it only asked for an extra click)."""
        if item is None and form.organization.data is None:
            choices = form.organization._get_object_list()
            if len(choices) == 1:
                form.organization.data = choices[0][1]

    def process_form(self, form, is_created: bool) -> None:
        """Called by FAB's edit just before the form is copied onto the user: note the
        values the change starts from (see :func:`check_update`)."""
        super().process_form(form, is_created)
        if not is_created and request.view_args and "pk" in request.view_args:
            item = self.datamodel.get(request.view_args["pk"])
            if item is not None:
                g.user_before_edit = user_snapshot(item)

    def pre_update(self, item: User) -> None:
        check_update(item, g.pop("user_before_edit", None), g.user)

    def _may_resend(self) -> bool:
        return self.appbuilder.sm.has_access("can_resend_invitation", self.class_permission_name)

    def _get_list_widget(self, *args, **kwargs):
        return super()._get_list_widget(*args, may_resend=self._may_resend(), **kwargs)

    def _scoped_user(self, pk) -> User:
        user = self.datamodel.get(pk)
        if user is None:
            abort(404)
        return user

    @expose("/userinfo/")
    def userinfo(self):
        """The navigation bar's "profile" link: one's own account, for every role."""
        if g.user is None or not g.user.is_authenticated:
            return redirect(self.appbuilder.get_url_for_login)
        from app.views.profile import render_profile

        return render_profile(self)

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        user = self._scoped_user(pk)
        widgets = self._show(pk)
        return self.render_template(
            self.show_template, pk=pk, title=self.show_title, widgets=widgets,
            related_views=self._related_views, item_status=user.status, locked=is_locked(user),
            may_resend=self._may_resend(),
        )

    @expose("/deactivate/<pk>", methods=["GET", "POST"])
    @has_access
    @permission_name("deactivate")
    def deactivate(self, pk):
        user = self._scoped_user(pk)
        form = DeactivateForm()
        if request.method == "POST" and form.validate():
            try:
                revoked = deactivate_user(user, form.reason.data, form.note.data, g.user)
            except UserError as exc:
                db.session.rollback()
                flash(str(exc), "danger")
                return redirect(url_for(".show", pk=pk))
            db.session.commit()
            flash(_("ユーザーを利用終了に設定しました。"), "success")
            if revoked:
                flash(_("このユーザーのAPIキー%(count)d件を失効させました。利用を再開してもキーは戻りません。",
                        count=revoked), "info")
            return redirect(url_for(".show", pk=pk))
        return self.render_template(
            "users/deactivate.html", user=user, form=form, title=_("ユーザーの利用停止")
        )

    @expose("/reactivate/<pk>", methods=["POST"])
    @has_access
    @permission_name("reactivate")
    def reactivate(self, pk):
        user = self._scoped_user(pk)
        if reactivate_user(user, g.user):
            db.session.commit()
            flash(_("ユーザーを再開しました。"), "success")
        return redirect(url_for(".show", pk=pk))

    @expose("/reset-totp/<pk>", methods=["POST"])
    @has_access
    @permission_name("reset_totp")
    def reset_totp(self, pk):
        """Forget the user's authenticator and recovery codes; the next login enrolls anew.
        Nobody can see or set another user's password, only this."""
        user = self._scoped_user(pk)
        had = bool(user.totp_enrolled_on)
        totp.reset(user)
        audit.record("auth.totp_reset", user, changes={"enrolled": [had, False]})
        db.session.commit()
        flash(_("二要素認証をリセットしました。次回ログイン時に再設定が必要です。"), "success")
        return redirect(url_for(".show", pk=pk))

    @expose("/unlock/<pk>", methods=["POST"])
    @has_access
    @permission_name("unlock")
    def unlock(self, pk):
        """End the user's lockout now (the form posts only while it lasts)."""
        user = self._scoped_user(pk)
        if unlock_user(user, g.user):
            db.session.commit()
            flash(_("ロックを解除しました。すぐにログインできます。"), "success")
        if request.form.get("back") == "start":  # from the start page's list: back to that list
            return redirect(self.appbuilder.get_url_for_index)
        return redirect(url_for(".show", pk=pk))

    @expose("/resend-invitation/<pk>", methods=["POST"])
    @has_access
    @permission_name("resend_invitation")
    def resend_invitation(self, pk):
        """Mail a new first-login link to a 仮登録 user; back to the screen the button was on
        (the users list, the start page, or the user)."""
        user = self._scoped_user(pk)
        try:
            invitation_resend.resend_invitation(user, g.user)
        except invitation_resend.UserOutOfScope:
            abort(404)
        except UserError as exc:
            flash(str(exc), "danger")
        else:
            flash(_("%(email)s に招待メールを再送しました", email=user.email), "success")
        back = request.form.get("back")
        if back == "list":  # the same filtered page of the list, never another page or site
            listing = url_for(".list")
            return redirect(safe_local_path(request.form.get("next"), listing) or listing)
        if back == "start":  # the start page's list of pending invitations
            return redirect(self.appbuilder.get_url_for_index)
        return redirect(url_for(".show", pk=pk))
