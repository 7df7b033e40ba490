"""The rules of screen 2 (user maintenance), shared by the screen and the users API.

Whoever makes the change — a form or a JSON client — a user is created, changed,
deactivated and reactivated by these functions, so the checks (scope, grantable roles,
allowed e-mail domains, reason and note of a deactivation) and the audit events are the
same. A refused change raises :class:`UserError` after rolling the session back.
"""
from __future__ import annotations

import datetime as dt

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func
from sqlalchemy import inspect as sa_inspect

from app.access import api_keys
from app.access import roles as access_roles
from app.access.roles import ORGADMIN_GRANTABLE, ROLES_BY_ORGANIZATION_KIND
from app.access.scope import scope_of
from app.core.validation import contact_error, email_domain_allowed, email_error, normalize_email
from app.extensions import db
from app.infra.mail import render as render_mail
from app.infra.mail import send_mail
from app.models import InactiveReason, User, UserStatus
from app.services.accounts import invitations
from app.services.accounts.login import is_locked
from app.services.accounts.sessions import end_all_sessions
from app.services.audit import trail as audit

NOTE_MAX = 255


class UserError(ValueError):
    """A refused user change; its message is shown to the person making it."""


class RoleGrantRefused(UserError):
    """A refused grant of roles: audited (``user.role_grant_refused``) as well as refused."""

    def __init__(self, message: str, requested: set[str], reason: str):
        super().__init__(message)
        self.requested = sorted(requested)
        self.reason = reason


def grantable_role_names(actor) -> list[str]:
    return sorted(access_roles.grantable_roles(actor))


def offered_role_names(actor) -> list[str]:
    """The roles a user form offers ``actor``: those it may grant, and for an OrgAdmin, who
    only manages its own organization, only those that organization's kind allows (the rest
    would be refused on saving)."""
    names = access_roles.grantable_roles(actor)
    if not access_roles.is_admin(actor):
        kind = actor.organization.kind if actor.organization is not None else None
        names &= ROLES_BY_ORGANIZATION_KIND.get(kind, set())
    return sorted(names)


def user_snapshot(user: User) -> dict:
    """Field values before the pending change (the form or schema has already set them)."""
    state = sa_inspect(user)
    values = {}
    for name in ("first_name", "email", "phone", "mobile", "organization_id", "status"):
        history = state.attrs[name].history
        values[name] = history.deleted[0] if history.deleted else getattr(user, name)
    roles = state.attrs.roles.history
    if roles.added or roles.deleted:
        values["roles"] = sorted(r.name for r in list(roles.unchanged or []) + list(roles.deleted or []))
    else:  # unchanged, possibly not loaded yet (then its history is empty): read it
        values["roles"] = sorted(r.name for r in user.roles)
    return values


def check_user(user: User, before: dict | None, actor) -> None:
    """Every rule a new or changed user must satisfy when ``actor`` makes the change; raises
    :class:`UserError`."""
    scope = scope_of(actor)
    user.email = user.username = normalize_email(user.email)
    user.last_name = user.last_name or ""
    if email_error(user.email):
        raise UserError(_("メールアドレスの形式が正しくありません"))
    organization = user.organization
    if organization is None or not scope.allows(organization.id):
        raise UserError(_("組織を一覧から選択してください"))
    if before is not None and before["organization_id"] != organization.id and not access_roles.is_admin(actor):
        raise UserError(_("組織は変更できません（管理者権限が必要）"))
    # The domain first: "already registered" for an address of another organization's domain
    # told a hospital's administrator which of its staff have an account.
    if not email_domain_allowed(user.email, organization.allowed_domain_list):
        raise UserError(
            _("メールアドレスのドメインは組織で許可されたもの（%(domains)s）にしてください",
              domains=", ".join(organization.allowed_domain_list))
        )
    with db.session.no_autoflush:  # the user being checked must not be flushed yet
        duplicate = db.session.query(User.id).filter(
            func.lower(User.email) == user.email, User.id != (user.id or 0)
        ).first()
    if duplicate:
        raise UserError(_("メールアドレスは既に登録されています"))
    role_names = access_roles.role_names(user)
    if not role_names:
        raise UserError(_("ロールを1つ以上選択してください"))
    allowed = set(grantable_role_names(actor))
    if before is not None and not access_roles.is_admin(actor) and set(before["roles"]) - ORGADMIN_GRANTABLE:
        if role_names != set(before["roles"]):
            raise RoleGrantRefused(_("このユーザーのロールは変更できません（管理者権限が必要）"),
                                   role_names, "target holds roles only an Admin may change")
        raise UserError(_("このユーザーのロールは変更できません（管理者権限が必要）"))
    if not role_names <= allowed:
        raise RoleGrantRefused(_("付与できないロールが含まれています（管理者権限が必要）"),
                               role_names, "role not grantable by the actor")
    if not role_names <= ROLES_BY_ORGANIZATION_KIND.get(organization.kind, set()):
        raise RoleGrantRefused(_("組織の種別に合わないロールが含まれています"),
                               role_names, "role does not fit the organization kind")
    if user.status != UserStatus.temporary:
        error = contact_error(user.phone, user.mobile)
        if error:
            raise UserError(str(error))


def _refused(check, *args) -> None:
    """Run ``check``; on refusal undo whatever the form or schema put in the session."""
    try:
        check(*args)
    except RoleGrantRefused as exc:
        user = args[0]
        target = {"user_email": user.email, "organization_id": user.organization_id}
        # Rolls the refused change back, then commits the event on its own.
        audit.record_apart("user.role_grant_refused", user if user.id else None,
                           organization_id=target["organization_id"],
                           changes={"roles": exc.requested, "reason": exc.reason, **target})
        raise
    except UserError:
        db.session.rollback()
        raise


def send_invitation(user: User, link: str, hours: int, inviter: User | None = None) -> None:
    """The "ユーザー情報登録完了" mail of the owner's flow, with the first-login link; a copy
    (控え) goes to the admin who registered the user, as the owner's spec asks (the copy
    names the user but not the link, which only its owner receives)."""
    from app.core.months import format_jst, utc_now

    until = format_jst(utc_now() + dt.timedelta(hours=hours))
    subject, body = render_mail("invitation", user=user, link=link, hours=hours, until=until, inviter=inviter)
    send_mail([user.email], subject, body)
    if inviter is not None and inviter.email and inviter.email != user.email:
        subject, body = render_mail("invitation_copy", user=user, hours=hours, inviter=inviter)
        send_mail([inviter.email], subject, body)


def prepare_new_user(user: User, actor) -> None:
    """A new user is always temporary, without password, until its first login."""
    user.status = UserStatus.temporary
    user.active = True
    user.password = None
    _refused(check_user, user, None, actor)


def invite_new_user(user: User, actor) -> tuple[str, int]:
    """Store the checked new user with its invitation and audit event, then mail the link.

    Returns the link and its validity in hours (the screen shows it to its creator once).
    """
    db.session.add(user)
    db.session.flush()
    link = invitations.create_link(user, created_by=actor)
    audit.record("user.create", user, actor=actor, changes={
        "email": [None, user.email], "roles": [None, sorted(user.role_names)],
    })
    db.session.commit()
    hours = current_app.config["INVITATION_HOURS"]
    send_invitation(user, link, hours, inviter=actor)
    return link, hours


def check_update(user: User, before: dict | None, actor) -> None:
    """Check a changed user and audit the change (display name and e-mail included); the
    caller commits. ``before`` is :func:`user_snapshot` taken before the form or schema set
    the new values: setting ``roles`` loads the old collection, whose autoflush would
    otherwise write the new name first and leave no history to compare with."""
    before = before or user_snapshot(user)
    _refused(check_user, user, before, actor)
    after = {key: getattr(user, key) for key in before if key != "roles"}
    # the form and the schema set the relationship; its column follows only at the flush
    after["organization_id"] = user.organization.id if user.organization is not None else None
    after["roles"] = sorted(user.role_names)
    changes = audit.changed_fields(before, after)
    if changes:
        audit.record("user.update", user, actor=actor, changes=changes)
    if "roles" in changes or "organization_id" in changes:
        # what the user may do changed: sessions signed in under the old rights end, and so
        # do the user's API keys (issued for the old rights, perhaps held by someone else)
        end_all_sessions(user)
        api_keys.revoke_keys_of(user, actor, "roles or organization changed")


def parse_reason(value) -> int:
    """The reason code of a deactivation (screen select or API JSON), or :class:`UserError`."""
    try:
        return InactiveReason(int(value)).value
    except (TypeError, ValueError):
        raise UserError(_("利用停止の理由を選択してください")) from None


def deactivate_user(user: User, reason, note, actor) -> int:
    """Set ``user`` to 利用停止 with a reason and a note (both required); the caller commits.

    The user's API keys and unused first-login / reset links are revoked, not merely
    suspended: reactivating the user must not bring back a link mailed, or a key handed to a
    script or a contractor, before it was stopped (the admin issues new ones). Returns how
    many keys were revoked."""
    code = parse_reason(reason)
    note = note.strip() if isinstance(note, str) else ""
    if not note:
        raise UserError(_("利用停止の備考を入力してください"))
    if len(note) > NOTE_MAX:
        raise UserError(_("備考は255文字以内で入力してください"))
    if user.id == actor.id:
        raise UserError(_("自分自身を利用停止にすることはできません"))
    before = user.status
    user.status = UserStatus.inactive
    user.active = False
    end_all_sessions(user)
    # a first-login or reset link mailed before must not work again once the user is reactivated
    invitations.end_unused_links(db.session, [user.id])
    user.inactive_reason = code
    user.inactive_note = note
    audit.record("user.deactivate", user, actor=actor, changes={
        "status": [before, user.status],
        "inactive_reason": [None, code],
        "inactive_note": [None, note],
    })
    return api_keys.revoke_keys_of(user, actor, "user deactivated")


def reactivate_user(user: User, actor=None) -> bool:
    """Back to 稼働中 (仮登録 if the first login never happened); False if not 利用停止.

    No API key comes back: keys still unrevoked here predate the deactivation (a stopped
    user cannot be issued one; users stopped before deactivation revoked keys kept theirs)."""
    if user.status != UserStatus.inactive:
        return False
    api_keys.revoke_keys_of(user, actor, "issued before the user was deactivated")
    user.status = UserStatus.active if user.password else UserStatus.temporary
    user.active = True
    audit.record("user.reactivate", user, changes={
        "status": [UserStatus.inactive, user.status],
        "inactive_reason": [user.inactive_reason, None],
    })
    user.inactive_reason = None
    user.inactive_note = None
    return True


def unlock_user(user: User, actor) -> bool:
    """End a lockout before its time (its owner asked, e.g. by phone); the failure count starts
    again. False if ``user`` is not locked."""
    if not is_locked(user):
        return False
    audit.record("auth.unlock", user, actor=actor,
                 changes={"locked_until": [user.locked_until.isoformat(timespec="seconds"), None]})
    user.locked_until = None
    user.fail_login_count = 0
    return True
