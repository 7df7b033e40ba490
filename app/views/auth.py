"""Screen 1, ログイン: password, then the second factor; first login of an invited user;
self-service password reset; logout.

Subclasses FAB's AuthDBView (method ``login`` keeps FAB's ``/login/`` URL and endpoint). The
user is not logged in (``login_user``) until the second factor is verified: between the two
steps the session only holds a short-lived "pending" marker (app.services.accounts.session). The logic
lives in app.services.accounts.*; these handlers only route between the steps.
"""
from __future__ import annotations

from flask import current_app, flash, g, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.security.views import AuthDBView
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from app.access import sessions as auth_session
from app.access.request_policy import check_ip
from app.core.months import utc_now
from app.core.validation import contact_error, email_error, mobile_error, phone_error
from app.extensions import db
from app.models import Invitation, User, UserStatus
from app.services.accounts import invitations, notices, totp
from app.services.accounts.login import (
    Outcome,
    check_password,
    is_locked,
    register_failure,
    register_success,
    second_factor_required,
)
from app.services.accounts.passwords import MIN_LENGTH, password_error
from app.services.accounts.sessions import end_all_sessions
from app.services.audit import trail as audit
from app.views.forms import rule
from app.views.redirects import safe_next

BAD_CREDENTIALS = _l("メールアドレス、またはパスワードが間違っています。")
INACTIVE = _l("アカウントが利用停止中です。管理者にお問い合わせください。")
TEMPORARY = _l("仮登録状態です。本登録を完了してください（招待メールのリンクから手続きできます）。")
INVALID_LINK = _l("このリンクは無効か、有効期限が切れています。")
RESET_SENT = _l("入力されたメールアドレスが登録されている場合、パスワード再設定用のリンクを送信しました（1時間有効）。")


def locked_message() -> str:
    return _("連続してログインに失敗したため、アカウントがロックされています。%(minutes)s分後に再度お試しください。",
             minutes=current_app.config["AUTH_LOCKOUT_MINUTES"])


def _user_inputs(user: User, *names: str | None) -> list[str | None]:
    """What a password must not build on: the user's names and organization."""
    organization = user.organization
    return [user.first_name, *names, organization.name if organization else None,
            organization.code if organization else None]


class LoginForm(FlaskForm):
    email = StringField(_l("メールアドレス"), validators=[
        DataRequired(message=_l("メールアドレスを入力してください")), rule(email_error)])
    password = PasswordField(_l("パスワード"), validators=[
        DataRequired(message=_l("パスワードを入力してください"))])


class CodeForm(FlaskForm):
    code = StringField(_l("確認コード"), validators=[
        DataRequired(message=_l("確認コードを入力してください")), Length(max=20)])


def _password_policy(form, field):
    error = password_error(field.data)
    if error:
        raise ValidationError(error)


class NewPasswordForm(FlaskForm):
    password = PasswordField(_l("新しいパスワード"), description=_l(
        "%(n)s文字以上。よく使われているものや推測されやすいもの（単語や数字の並び、氏名・組織名を含むもの）は使えません",
        n=MIN_LENGTH),
        validators=[DataRequired(message=_l("パスワードを入力してください")), _password_policy])
    password_confirm = PasswordField(_l("新しいパスワード（確認）"), validators=[
        EqualTo("password", message=_l("確認用のパスワードが一致しません"))])


class FirstLoginForm(NewPasswordForm):
    first_name = StringField(_l("氏名"), validators=[
        DataRequired(message=_l("氏名を入力してください")),
        Length(max=50, message=_l("ユーザー名は50文字以内で入力してください"))])
    phone = StringField(_l("電話番号"), validators=[rule(phone_error)])
    mobile = StringField(_l("携帯番号"), validators=[rule(mobile_error)])

    def validate_mobile(self, field):
        error = contact_error(self.phone.data, field.data)
        if error:
            raise ValidationError(str(error))


class ResetRequestForm(FlaskForm):
    email = StringField(_l("メールアドレス"), validators=[
        DataRequired(message=_l("メールアドレスを入力してください")), rule(email_error)])


class OptiServeAuthView(AuthDBView):
    login_template = "auth/form.html"

    def _form_page(self, form, title, submit_label, **context):
        return self.render_template(self.login_template, form=form, title=title,
                                    submit_label=submit_label, appbuilder=self.appbuilder,
                                    **context)

    def _message_page(self, message, status=200):
        return self.render_template(self.login_template, form=None, title=_("ログイン"),
                                    intro=message, appbuilder=self.appbuilder,
                                    links=[(_("ログイン画面へ"), url_for(".login"))]), status

    def _next_url(self) -> str:
        return safe_next(request.args.get("next")) or self.appbuilder.get_url_for_index

    def _pending_user(self, stage: str) -> User | None:
        data = auth_session.pending()
        if not data or data.get("stage") != stage:
            return None
        user = db.session.get(User, data["uid"])
        if user is None or user.status != UserStatus.active or not user.active:
            return None
        if not auth_session.pending_is_current(data, user):
            return None
        return user

    def _finish(self, user: User, method: str, next_url: str):
        register_success(user, method=method)
        db.session.commit()
        auth_session.start(user, via=method)
        return redirect(next_url)

    def _second_step(self, user: User, next_url: str):
        if not second_factor_required(user):
            return self._finish(user, "none", next_url)
        stage = "totp" if user.totp_enrolled_on else "enroll"
        db.session.commit()
        auth_session.set_pending(user, next_url, stage)
        return redirect(url_for(f".{stage}"))

    @expose("/login/", methods=["GET", "POST"])
    def login(self):
        if g.user is not None and g.user.is_authenticated:
            return redirect(self._next_url())
        form = LoginForm()
        if form.validate_on_submit():
            outcome, user = check_password(form.email.data.strip(), form.password.data)
            db.session.commit()
            if outcome is Outcome.ok:
                check_ip(user)
                return self._second_step(user, self._next_url())
            message = {Outcome.inactive: INACTIVE,
                       Outcome.temporary: TEMPORARY}.get(outcome, BAD_CREDENTIALS)
            flash(str(message), "danger")
        return self._form_page(form, _("ログイン"), _("ログイン"), links=[
            (_("パスワードをお忘れの方はこちら"), url_for(".password_reset_request"))])

    @expose("/login/totp", methods=["GET", "POST"])
    def totp(self):
        user = self._pending_user("totp")
        if user is None:
            return redirect(url_for(".login"))
        if is_locked(user):
            auth_session.clear_pending()
            flash(locked_message(), "danger")
            return redirect(url_for(".login"))
        form = CodeForm()
        if form.validate_on_submit():
            code = form.code.data
            if totp.looks_like_totp(code):
                ok, method = totp.verify_totp(user, code), "totp"
            else:
                ok, method = totp.use_recovery_code(user, code), "recovery_code"
                if ok:
                    audit.record("auth.recovery_code_used", user, actor=user, changes={
                        "remaining": totp.remaining_recovery_codes(user)})
            if ok:
                return self._finish(user, method, auth_session.pending()["next"])
            locked = register_failure(user, stage="totp")
            db.session.commit()
            if locked:
                auth_session.clear_pending()
                flash(locked_message(), "danger")
                return redirect(url_for(".login"))
            flash(_("確認コードが正しくないか、既に使用されています。"), "danger")
        return self._form_page(
            form, _("二要素認証"), _("確認"),
            intro=_("認証アプリに表示された6桁の確認コードを入力してください。アプリが使えない場合は予備コードを入力できます。"),
            field_args={"code": {"autocomplete": "one-time-code", "autofocus": True}})

    @expose("/login/enroll", methods=["GET", "POST"])
    def enroll(self):
        user = self._pending_user("enroll")
        if user is None:
            return redirect(url_for(".login"))
        if not user.totp_secret or user.totp_enrolled_on:
            # an unconfirmed secret is kept, so reloading the page shows the same QR code
            user.totp_secret = totp.new_secret()
            user.totp_enrolled_on = None
            db.session.commit()
        form = CodeForm()
        if form.validate_on_submit():
            step = totp.matching_step(user.totp_secret, form.code.data)
            if step is not None:
                codes = totp.enroll(user, user.totp_secret, step)
                audit.record("auth.totp_enrolled", user, actor=user)
                next_url = auth_session.pending()["next"]
                register_success(user, method="totp_enrollment")
                db.session.commit()
                auth_session.start(user, via="totp_enrollment")
                return self.render_template(
                    "auth/recovery_codes.html", form=None, title=_("予備コード"), codes=codes,
                    next_url=next_url, appbuilder=self.appbuilder)
            flash(_("確認コードが正しくありません。アプリの時刻設定も確認してください。"), "danger")
        return self.render_template(
            "auth/enroll.html", form=form, title=_("二要素認証の設定"), submit_label=_("確認"),
            appbuilder=self.appbuilder, secret=user.totp_secret,
            qr_svg=totp.qr_svg(totp.provisioning_uri(user.totp_secret, user.email)),
            field_args={"code": {"autocomplete": "one-time-code"}})

    @expose("/first-login/<token>", methods=["GET", "POST"])
    def first_login(self, token):
        invitation = invitations.find_valid(token, invitations.INVITATION)
        user = invitation.user if invitation is not None else None
        if (user is None or user.status != UserStatus.temporary or not user.active
                or not notices.in_active_organization(user)):
            return self._message_page(INVALID_LINK, 410)
        form = FirstLoginForm(obj=None if request.method == "POST" else user)
        if form.validate_on_submit():
            error = password_error(form.password.data, email=user.email,
                                   user_inputs=_user_inputs(user, form.first_name.data))
            if error:
                form.password.errors = [error]
            else:
                check_ip(user)
                user.password = self.appbuilder.sm.hash_password(form.password.data)
                before_name = user.first_name
                user.first_name = form.first_name.data.strip()
                user.phone = (form.phone.data or "").strip() or None
                user.mobile = (form.mobile.data or "").strip() or None
                user.status = UserStatus.active
                invitation.used_at = utc_now()
                changes = {"status": [int(UserStatus.temporary), int(UserStatus.active)]}
                if before_name != user.first_name:  # the display name is the user's to correct
                    changes["first_name"] = [before_name, user.first_name]
                audit.record("user.first_login", user, actor=user, changes=changes)
                return self._second_step(user, self.appbuilder.get_url_for_index)
        return self._form_page(
            form, _("初回ログイン（本登録）"), _("登録する"),
            intro=_("%(email)s のパスワードと基本情報を登録してください。", email=user.email),
            field_args={"password": {"autocomplete": "new-password"},
                        "password_confirm": {"autocomplete": "new-password"}})

    @expose("/password-reset/", methods=["GET", "POST"])
    def password_reset_request(self):
        form = ResetRequestForm()
        if form.validate_on_submit():
            # The same work for every address, a look-up and an enqueue (of a job that does
            # nothing for an unknown one): the mail goes from the job, so known and unknown
            # addresses are answered alike and equally fast.
            user = self.appbuilder.sm.find_user(email=form.email.data)
            notices.enqueue_password_reset(user.id if notices.can_reset_password(user) else None)
            flash(str(RESET_SENT), "info")
            return redirect(url_for(".login"))
        return self._form_page(
            form, _("パスワードの再設定"), _("再設定用のリンクを送信"),
            intro=_("登録済みのメールアドレスを入力してください。再設定用のリンクをお送りします。"),
            links=[(_("ログイン画面へ"), url_for(".login"))])

    @expose("/password-reset/<token>", methods=["GET", "POST"])
    def password_reset(self, token):
        invitation = invitations.find_valid(token, invitations.PASSWORD_RESET)
        user = invitation.user if invitation is not None else None
        if (user is None or user.status != UserStatus.active or not user.active
                or not notices.in_active_organization(user)):
            return self._message_page(INVALID_LINK, 410)
        form = NewPasswordForm()
        if form.validate_on_submit():
            error = password_error(form.password.data, email=user.email,
                                   user_inputs=_user_inputs(user))
            if error:
                form.password.errors = [error]
            else:
                user.password = self.appbuilder.sm.hash_password(form.password.data)
                end_all_sessions(user)
                now = utc_now()
                db.session.query(Invitation).filter_by(
                    user_id=user.id, purpose=invitations.PASSWORD_RESET, used_at=None
                ).update({"used_at": now})
                audit.record("auth.password_reset", user, actor=user)
                db.session.commit()
                flash(_("パスワードを再設定しました。新しいパスワードでログインしてください。"), "success")
                return redirect(url_for(".login"))
        return self._form_page(form, _("新しいパスワードの設定"), _("設定する"), field_args={
            "password": {"autocomplete": "new-password"},
            "password_confirm": {"autocomplete": "new-password"}})

    @expose("/logout/")
    def logout(self):
        """Ends every session of the user, so a copy of this cookie is dead as well.

        FAB's navbar logs out with a GET link, which the session cookie (SameSite=Lax) also
        follows from another site's link or redirect: any page could end every session of
        whoever visits it. A request the browser marks as coming from another site changes
        nothing and shows the start page."""
        if request.headers.get("Sec-Fetch-Site") == "cross-site":
            return redirect(self.appbuilder.get_url_for_index)
        user = self._get_authenticated_user()
        if user is not None:
            end_all_sessions(user)
            audit.record("auth.logout", user, actor=user)
            db.session.commit()
        auth_session.end()
        return redirect(url_for(".login"))

    @expose("/logout/everywhere", methods=["POST"])
    def logout_everywhere(self):
        """「すべての端末からログアウト」 of the profile page (a POST with the CSRF token)."""
        user = self._get_authenticated_user()
        if user is None:
            return redirect(url_for(".login"))
        end_all_sessions(user)
        audit.record("auth.logout_everywhere", user, actor=user)
        db.session.commit()
        auth_session.end()
        flash(_("すべての端末からログアウトしました。"), "info")
        return redirect(url_for(".login"))
