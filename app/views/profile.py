"""プロフィール: one's own account for every role — password (current one required), name
and phone numbers, new recovery codes, and 「すべての端末からログアウト」. Logic:
app.services.accounts.profile. The page is also FAB's userinfo URL (/users/userinfo/).
"""
from __future__ import annotations

from flask import flash, g, redirect, url_for
from flask_appbuilder import BaseView, expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo

from app.access import sessions as auth_session
from app.extensions import db
from app.models import User
from app.services.accounts import profile, totp
from app.services.accounts.passwords import MIN_LENGTH

PASSWORD_HINT = _l("%(n)s文字以上。よく使われているものや推測されやすいもの"
                   "（単語や数字の並び、氏名・組織名を含むもの）は使えません",
                   n=MIN_LENGTH)


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(_l("現在のパスワード"), validators=[
        DataRequired(message=_l("現在のパスワードを入力してください"))])
    password = PasswordField(_l("新しいパスワード"), description=PASSWORD_HINT, validators=[
        DataRequired(message=_l("パスワードを入力してください"))])
    password_confirm = PasswordField(_l("新しいパスワード（確認）"), validators=[
        EqualTo("password", message=_l("確認用のパスワードが一致しません"))])


class DetailsForm(FlaskForm):
    first_name = StringField(_l("氏名"))
    phone = StringField(_l("電話番号"))
    mobile = StringField(_l("携帯番号"))


class RecoveryForm(FlaskForm):
    recovery_password = PasswordField(_l("現在のパスワード"), validators=[
        DataRequired(message=_l("現在のパスワードを入力してください"))])


def _logged_in() -> bool:
    return g.user is not None and g.user.is_authenticated


def render_profile(view, status: int = 200, **forms):
    """The profile page (``forms`` replaces a form, with its input and errors, after a refusal)."""
    from app.views.users import STATUS_LABELS

    user = g.user
    forms.setdefault("password_form", PasswordChangeForm(formdata=None))
    forms.setdefault("details_form", DetailsForm(formdata=None, obj=user))
    forms.setdefault("recovery_form", RecoveryForm(formdata=None))
    return view.render_template(
        "users/me.html", user=user, title=_("プロフィール"),
        status_label=STATUS_LABELS.get(user.status, ""),
        totp_enrolled=bool(user.totp_enrolled_on),
        recovery_remaining=totp.remaining_recovery_codes(user) if user.totp_enrolled_on else 0,
        **forms), status


class ProfileView(BaseView):
    route_base = "/profile"
    default_view = "index"

    def page(self, status: int = 200, **forms):
        return render_profile(self, status, **forms)

    def _refused(self, exc: profile.ProfileError, form, **forms):
        db.session.commit()  # keeps the counted failure and its audit row
        if exc.locked:
            auth_session.end()
            flash(_("連続して失敗したため、アカウントがロックされました。"), "danger")
            return redirect(self.appbuilder.get_url_for_login)
        field = getattr(form, exc.field, None) if exc.field else None
        if field is not None:
            field.errors = [str(exc)]
        else:
            flash(str(exc), "danger")
        return self.page(400, **forms)

    @expose("/")
    def index(self):
        if not _logged_in():
            return redirect(self.appbuilder.get_url_for_login)
        return self.page()

    @expose("/password", methods=["POST"])
    def password(self):
        if not _logged_in():
            return redirect(self.appbuilder.get_url_for_login)
        form = PasswordChangeForm()
        if not form.validate_on_submit():
            return self.page(400, password_form=form)
        user = db.session.get(User, g.user.id)  # the object itself, not the current_user proxy
        try:
            profile.change_password(user, form.current_password.data, form.password.data,
                                    hash_password=self.appbuilder.sm.hash_password)
        except profile.ProfileError as exc:
            if exc.field != "current_password":
                db.session.rollback()
            return self._refused(exc, form, password_form=form)
        via = auth_session.current_via()
        db.session.commit()
        auth_session.start(user, via=via)  # this session continues; every other one ended
        flash(_("パスワードを変更しました。他の端末のログインは終了しました。"), "success")
        return redirect(url_for(".index"))

    @expose("/details", methods=["POST"])
    def details(self):
        if not _logged_in():
            return redirect(self.appbuilder.get_url_for_login)
        form = DetailsForm()
        if not form.validate_on_submit():
            return self.page(400, details_form=form)
        try:
            changes = profile.update_details(g.user, profile.Details(
                form.first_name.data, form.phone.data, form.mobile.data))
        except profile.ProfileError as exc:
            db.session.rollback()
            return self._refused(exc, form, details_form=form)
        db.session.commit()
        flash(_("氏名・電話番号を保存しました。") if changes else _("変更はありませんでした。"), "success")
        return redirect(url_for(".index"))

    @expose("/recovery-codes", methods=["POST"])
    def recovery_codes(self):
        if not _logged_in():
            return redirect(self.appbuilder.get_url_for_login)
        form = RecoveryForm()
        if not form.validate_on_submit():
            return self.page(400, recovery_form=form)
        try:
            codes = profile.regenerate_recovery_codes(g.user, form.recovery_password.data)
        except profile.ProfileError as exc:
            if exc.field != "current_password":
                db.session.rollback()
            return self._refused(exc, form, recovery_form=form)
        db.session.commit()
        return self.render_template(
            "auth/recovery_codes.html", form=None, title=_("新しい予備コード"), codes=codes,
            next_url=url_for(".index"), appbuilder=self.appbuilder)
