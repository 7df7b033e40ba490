"""Screen 2, ユーザーメンテナンス: one screen for Admin (all users) and OrgAdmin (its own).

Scope decides which users a person sees; the checks in ``pre_add``/``pre_update`` refuse
organizations outside the scope, roles the person may not grant and e-mails outside the
organization's allowed domains, whatever the form or API sends.
"""
from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, request, url_for
from flask_appbuilder import expose, has_access, permission_name
from flask_appbuilder.models.sqla.filters import FilterInFunction
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import func
from sqlalchemy import inspect as sa_inspect
from wtforms import SelectField, TextAreaField
from wtforms.validators import DataRequired, Length

from .. import audit, invitations
from ..auth import totp
from ..extensions import db
from ..mail import send_mail
from ..models import InactiveReason, User, UserStatus
from ..roles import ORGADMIN_GRANTABLE, ROLES_BY_ORGANIZATION_KIND
from ..scope import current_scope
from ..validation import (
    contact_error,
    email_domain_allowed,
    email_error,
    mobile_error,
    normalize_email,
    phone_error,
)
from .base import ScopedInterface, ScopedModelView, scope_filter
from .forms import rule

STATUS_LABELS = {
    UserStatus.temporary: _l("仮登録"),
    UserStatus.active: _l("稼働中"),
    UserStatus.inactive: _l("利用停止"),
}
REASON_LABELS = {
    InactiveReason.organization_left: _l("組織退会"),
    InactiveReason.person_changed: _l("担当者変更"),
    InactiveReason.processing_error: _l("処理ミス"),
    InactiveReason.other: _l("その他"),
}
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
    "last_login": _l("最終ログイン"),
    "created_on": _l("登録日時"),
}


class UserError(ValueError):
    """A refused user change; its message is shown to the person making it."""


def is_admin() -> bool:
    user = getattr(g, "user", None)
    return user is not None and "Admin" in {role.name for role in user.roles}


def grantable_role_names() -> list[str]:
    if is_admin():
        return sorted(set().union(*ROLES_BY_ORGANIZATION_KIND.values()))
    return sorted(ORGADMIN_GRANTABLE)


def user_snapshot(user: User) -> dict:
    """Field values before the pending change (populate_obj has already run)."""
    state = sa_inspect(user)
    values = {}
    for name in ("first_name", "email", "phone", "mobile", "organization_id", "status"):
        history = state.attrs[name].history
        values[name] = history.deleted[0] if history.deleted else getattr(user, name)
    roles = state.attrs.roles.history
    values["roles"] = sorted(r.name for r in list(roles.unchanged or []) + list(roles.deleted or []))
    return values


def check_user(user: User, before: dict | None) -> None:
    """Every rule a new or changed user must satisfy; raises :class:`UserError`."""
    scope = current_scope()
    user.email = user.username = normalize_email(user.email)
    user.last_name = user.last_name or ""
    if email_error(user.email):
        raise UserError(_("メールアドレスの形式が正しくありません"))
    organization = user.organization
    if organization is None or not scope.allows(organization.id):
        raise UserError(_("組織を一覧から選択してください"))
    if before is not None and before["organization_id"] != user.organization_id and not is_admin():
        raise UserError(_("組織は変更できません（管理者権限が必要）"))
    with db.session.no_autoflush:  # the user being checked must not be flushed yet
        duplicate = db.session.query(User.id).filter(
            func.lower(User.email) == user.email, User.id != (user.id or 0)
        ).first()
    if duplicate:
        raise UserError(_("メールアドレスは既に登録されています"))
    if not email_domain_allowed(user.email, organization.allowed_domain_list):
        raise UserError(
            _("メールアドレスのドメインは組織で許可されたもの（%(domains)s）にしてください",
              domains=", ".join(organization.allowed_domain_list))
        )
    role_names = {role.name for role in user.roles}
    if not role_names:
        raise UserError(_("ロールを1つ以上選択してください"))
    allowed = set(grantable_role_names())
    if before is not None and not is_admin() and set(before["roles"]) - ORGADMIN_GRANTABLE:
        raise UserError(_("このユーザーのロールは変更できません（管理者権限が必要）"))
    if not role_names <= allowed:
        raise UserError(_("付与できないロールが含まれています（管理者権限が必要）"))
    if not role_names <= ROLES_BY_ORGANIZATION_KIND.get(organization.kind, set()):
        raise UserError(_("組織の種別に合わないロールが含まれています"))
    if user.status != UserStatus.temporary:
        error = contact_error(user.phone, user.mobile)
        if error:
            raise UserError(str(error))


def send_invitation(user: User, link: str, hours: int) -> None:
    """The "ユーザー情報登録完了" mail of the owner's flow, with the first-login link."""
    send_mail(
        [user.email],
        "【OptiServe】ユーザー仮登録のお知らせ / Your OptiServe account",
        f"{user.first_name} 様\n\nOptiServe のユーザーとして仮登録されました。\n"
        f"次のリンクからパスワードと基本情報を登録し、二要素認証を設定してください"
        f"（{hours}時間有効、1回限り）。\n{link}\n",
        f"An OptiServe account has been created for you. Use this link to set your password "
        f"and contact details and to set up two-factor authentication (valid for {hours} hours, "
        f"once):\n{link}\n",
    )


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
    route_base = "/users"
    class_permission_name = "Users"
    method_permission_name = {
        "list": "list", "show": "show", "add": "add", "edit": "edit",
        "deactivate": "deactivate", "reactivate": "reactivate", "reset_totp": "reset_totp",
    }
    base_permissions = ["can_list", "can_show", "can_add", "can_edit",
                        "can_deactivate", "can_reactivate", "can_reset_totp"]
    list_title = _l("ユーザー一覧")
    show_title = _l("ユーザー")
    add_title = _l("ユーザーの仮登録")
    edit_title = _l("ユーザーの編集")
    add_row_message = _l("ユーザーを仮登録しました。")
    edit_row_message = _l("ユーザー情報を更新しました。")
    label_columns = LABELS
    list_columns = ["organization.name", "first_name", "email", "status", "last_login"]
    order_columns = ["first_name", "email", "status", "last_login"]
    search_columns = ["first_name", "email", "organization", "status"]
    show_columns = ["first_name", "email", "organization", "phone", "mobile", "roles",
                    "status", "inactive_reason", "inactive_note", "last_login", "created_on"]
    add_columns = ["first_name", "organization", "email", "roles"]
    edit_columns = ["first_name", "email", "organization", "phone", "mobile", "roles"]
    base_order = ("organization_id", "asc")
    show_template = "users/show.html"
    formatters_columns = {
        "status": lambda value: STATUS_LABELS.get(value, value),
        "inactive_reason": lambda value: REASON_LABELS.get(value, "") if value else "",
    }
    validators_columns = {
        "first_name": [DataRequired(), Length(max=50, message=_l("ユーザー名は50文字以内で入力してください"))],
        "email": [DataRequired(), rule(email_error)],
        "phone": [rule(phone_error)],
        "mobile": [rule(mobile_error)],
    }
    _rel_filters = {
        "organization": [scope_filter("id")],
        "roles": [["name", FilterInFunction, grantable_role_names]],
    }
    add_form_query_rel_fields = edit_form_query_rel_fields = _rel_filters
    search_form_query_rel_fields = {"organization": [scope_filter("id")]}

    def pre_add(self, item: User) -> None:
        item.status = UserStatus.temporary
        item.active = True
        item.password = None
        try:
            check_user(item, None)
        except UserError:
            db.session.rollback()
            raise

    def post_add(self, item: User) -> None:
        link = invitations.create_link(item, created_by=g.user)
        audit.record("user.create", item, changes={
            "email": [None, item.email], "roles": [None, sorted(item.role_names)],
        })
        db.session.commit()
        hours = current_app.config["INVITATION_HOURS"]
        send_invitation(item, link, hours)
        flash(_("初回ログイン用のリンク（%(hours)s時間有効、この画面でのみ表示）: %(link)s",
                hours=hours, link=link), "info")

    def pre_update(self, item: User) -> None:
        before = user_snapshot(item)
        try:
            check_user(item, before)
        except UserError:
            db.session.rollback()
            raise
        after = {key: getattr(item, key) for key in before if key != "roles"}
        after["roles"] = sorted(item.role_names)
        changes = audit.changed_fields(before, after)
        if changes:
            audit.record("user.update", item, changes=changes)

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
        return self.render_template(
            "users/me.html", user=g.user, title=_("アカウント情報"),
            status_label=STATUS_LABELS.get(g.user.status, ""),
        )

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        user = self._scoped_user(pk)
        widgets = self._show(pk)
        return self.render_template(
            self.show_template, pk=pk, title=self.show_title, widgets=widgets,
            related_views=self._related_views, item_status=user.status,
        )

    @expose("/deactivate/<pk>", methods=["GET", "POST"])
    @has_access
    @permission_name("deactivate")
    def deactivate(self, pk):
        user = self._scoped_user(pk)
        form = DeactivateForm()
        if request.method == "POST" and form.validate():
            if user.id == g.user.id:
                flash(_("自分自身を利用停止にすることはできません"), "danger")
                return redirect(url_for(".show", pk=pk))
            before = {"status": user.status}
            user.status = UserStatus.inactive
            user.active = False
            user.inactive_reason = int(form.reason.data)
            user.inactive_note = form.note.data.strip()
            audit.record("user.deactivate", user, changes={
                "status": [before["status"], user.status],
                "inactive_reason": [None, user.inactive_reason],
                "inactive_note": [None, user.inactive_note],
            })
            db.session.commit()
            flash(_("ユーザーを利用終了に設定しました。"), "success")
            return redirect(url_for(".show", pk=pk))
        return self.render_template(
            "users/deactivate.html", user=user, form=form, title=_("ユーザーの利用停止")
        )

    @expose("/reactivate/<pk>", methods=["POST"])
    @has_access
    @permission_name("reactivate")
    def reactivate(self, pk):
        user = self._scoped_user(pk)
        if user.status == UserStatus.inactive:
            user.status = UserStatus.active if user.password else UserStatus.temporary
            user.active = True
            audit.record("user.reactivate", user, changes={
                "status": [UserStatus.inactive, user.status],
                "inactive_reason": [user.inactive_reason, None],
            })
            user.inactive_reason = None
            user.inactive_note = None
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
