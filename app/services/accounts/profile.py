"""The profile page's changes to one's own account: password, name and phone numbers, new
recovery codes. Each is audited; a new password ends every other session of the user.

The caller (app.views.profile) passes the user and the values, then commits; nothing here
reads the request.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask_babel import gettext as _
from werkzeug.security import check_password_hash, generate_password_hash

from app.core.validation import contact_error, mobile_error, phone_error
from app.models import User
from app.services.accounts import totp
from app.services.accounts.login import register_failure
from app.services.accounts.passwords import password_error
from app.services.accounts.sessions import end_all_sessions
from app.services.audit import trail as audit


class ProfileError(ValueError):
    """A refused change; ``field`` names the form field the message belongs to."""

    def __init__(self, message: str, field: str | None = None, locked: bool = False):
        super().__init__(message)
        self.field = field
        self.locked = locked


def _user_inputs(user: User, name: str | None = None) -> list[str | None]:
    organization = user.organization
    return [user.first_name, name, organization.name if organization else None,
            organization.code if organization else None]


def check_current_password(user: User, password: str | None) -> None:
    """Refuse (and count as a failed login, so it locks like one) a wrong current password."""
    if user.password and password and check_password_hash(user.password, password):
        return
    locked = register_failure(user, stage="profile")
    raise ProfileError(_("現在のパスワードが正しくありません。"), "current_password", locked=locked)


def change_password(user: User, current: str | None, new: str | None, *,
                    hash_password: Callable[[str], str] = generate_password_hash) -> None:
    """Set a new password after checking the current one and the password rules. Every
    session of the user ends (the caller starts the current one afresh)."""
    check_current_password(user, current)
    error = password_error(new, email=user.email, user_inputs=_user_inputs(user))
    if error:
        raise ProfileError(error, "password")
    if check_password_hash(user.password, new):
        raise ProfileError(_("現在と同じパスワードは設定できません。"), "password")
    user.password = hash_password(new)
    end_all_sessions(user)
    audit.record("auth.password_changed", user, actor=user)


@dataclass
class Details:
    first_name: str
    phone: str | None
    mobile: str | None


def update_details(user: User, details: Details) -> dict:
    """Change one's name, phone and mobile; returns the audited changes ({} if none)."""
    name = (details.first_name or "").strip()
    phone = (details.phone or "").strip() or None
    mobile = (details.mobile or "").strip() or None
    if not name:
        raise ProfileError(_("氏名を入力してください"), "first_name")
    if len(name) > 50:
        raise ProfileError(_("ユーザー名は50文字以内で入力してください"), "first_name")
    for field, value, check in (("phone", phone, phone_error), ("mobile", mobile, mobile_error)):
        error = check(value)
        if error:
            raise ProfileError(str(error), field)
    error = contact_error(phone, mobile)
    if error:
        raise ProfileError(str(error), "mobile")
    changes = {}
    for field, value in (("first_name", name), ("phone", phone), ("mobile", mobile)):
        if getattr(user, field) != value:
            changes[field] = [getattr(user, field), value]
            setattr(user, field, value)
    if changes:
        audit.record("user.profile_update", user, actor=user, changes=changes)
    return changes


def regenerate_recovery_codes(user: User, current: str | None) -> list[str]:
    """New recovery codes (the old ones stop working); only for a user with an
    authenticator. Returns the codes in clear, to be shown once."""
    if not user.totp_enrolled_on:
        raise ProfileError(_("二要素認証が設定されていないため、予備コードはありません。"))
    check_current_password(user, current)
    before = totp.remaining_recovery_codes(user)
    codes = totp.new_recovery_codes(user)
    audit.record("auth.recovery_codes_regenerated", user, actor=user,
                 changes={"remaining_before": before, "count": len(codes)})
    return codes
