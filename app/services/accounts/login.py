"""The password step and the lockout, independent of any screen.

Consecutive failures (wrong password or wrong second factor) are counted in FAB's
``fail_login_count``; at ``AUTH_LOCKOUT_ATTEMPTS`` the account is locked for
``AUTH_LOCKOUT_MINUTES``. Whether an account exists or is suspended is told only to someone
who gave its correct password; everyone else gets the same generic failure. A locked
account answers the generic failure for every password, the right one included, so guessing
during the lock learns nothing; its owner is told of the lock by mail (a job).
"""
from __future__ import annotations

import datetime as dt
import enum

from flask import current_app
from werkzeug.security import check_password_hash

from app.access.dealer_choice import active_permissions
from app.access.roles import is_dealer_user
from app.core.months import utc_now
from app.models import User, UserStatus
from app.services.accounts import notices
from app.services.audit import trail as audit


class Outcome(enum.Enum):
    ok = "ok"
    bad_credentials = "bad_credentials"  # also every answer while the account is locked
    inactive = "inactive"
    temporary = "temporary"


def now() -> dt.datetime:
    return utc_now()


def lock_lasts(locked_until: dt.datetime | None) -> bool:
    """Whether a lock that ends at ``locked_until`` (naive UTC, None: never locked) still holds."""
    return locked_until is not None and locked_until > now()


def is_locked(user: User) -> bool:
    return lock_lasts(user.locked_until)


def register_failure(user: User, *, stage: str) -> bool:
    """Count one failure; lock the account at the threshold. Returns True if it is now locked."""
    config = current_app.config
    user.fail_login_count = (user.fail_login_count or 0) + 1
    audit.record("auth.login_failed", user, actor=user, changes={"stage": stage})
    if user.fail_login_count >= config["AUTH_LOCKOUT_ATTEMPTS"]:
        user.locked_until = now() + dt.timedelta(minutes=config["AUTH_LOCKOUT_MINUTES"])
        # counting starts again after the lock, so one more failure does not relock at once
        user.fail_login_count = 0
        audit.record("auth.lockout", user, actor=user,
                     changes={"locked_until": user.locked_until.isoformat(timespec="seconds")})
        notices.enqueue_lockout_notice(user.id)
        return True
    return False


def register_success(user: User, *, method: str) -> None:
    user.fail_login_count = 0
    user.locked_until = None
    user.login_count = (user.login_count or 0) + 1
    user.last_login = utc_now()
    audit.record("auth.login", user, actor=user, changes={"second_factor": method})


def check_password(email: str, password: str) -> tuple[Outcome, User | None]:
    """Verify e-mail and password. The caller commits (failures are recorded)."""
    sm = current_app.appbuilder.sm
    user = sm.find_user(email=email) if email else None
    if user is None or not user.password or not password:
        # same cost as a real check, so timing does not reveal unknown addresses
        check_password_hash(current_app.config["AUTH_DB_FAKE_PASSWORD_HASH_CHECK"], "password")
        audit.record("auth.login_failed", actor_email=(email or "")[:320],
                     organization_id=getattr(user, "organization_id", None),
                     changes={"stage": "password"})
        return Outcome.bad_credentials, None
    correct = check_password_hash(user.password, password)  # same cost, locked or not
    if is_locked(user):
        audit.record("auth.login_failed", user, actor=user,
                     changes={"stage": "password", "locked": True})
        return Outcome.bad_credentials, None
    if not correct:
        register_failure(user, stage="password")
        return Outcome.bad_credentials, None
    if user.status == UserStatus.inactive or not user.active:
        audit.record("auth.login_failed", user, actor=user,
                     changes={"stage": "password", "inactive": True})
        return Outcome.inactive, None
    if user.status == UserStatus.temporary:
        return Outcome.temporary, None
    return Outcome.ok, user


def second_factor_required(user: User) -> bool:
    """Enrolled users, users of an organization requiring it, and a dealer user holding a
    permission for a hospital requiring it (acting for it is refused without, see
    app.access.request_policy.check_acting_hospital)."""
    organization = user.organization
    if bool(user.totp_enrolled_on) or organization is None or organization.mfa_required:
        return True
    if not is_dealer_user(user):
        return False
    return any(permission.hospital.mfa_required for permission in active_permissions(user.id))
