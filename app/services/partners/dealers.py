"""Dealer permissions: what each level allows, granting with history, the chosen hospital.

Level decisions (DESIGN.md §2, owner-spec digest §9 item 2):

- 1 ダウンロードサイト閲覧: upload the three files and download reports.
- 2 マスタ情報の設定: ledger maintenance, report classification selection, classification
  mapping — and **not** level 1's upload and download. The levels are kept distinct and least
  privilege: a hospital may want a dealer to tidy its masters without handing it the analysis
  reports. If 2 included 1, level 3 would add nothing over 2, since the only hospital abilities
  left (users, dealer permissions) are excluded from 3 anyway.
- 3 全機能利用: everything a hospital user can do except managing the hospital's users and its
  dealer permissions, i.e. levels 1 and 2 together.
- 9 無し: nothing; the row stays with its reason.
"""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.core.months import utc_now
from app.core.validation import normalize_email
from app.extensions import db
from app.infra.mail import render as render_mail
from app.infra.mail import send_mail
from app.models import (
    DealerLevel,
    DealerPermission,
    DealerPermissionHistory,
    Organization,
    OrganizationKind,
    User,
    UserStatus,
)
from app.services.audit import trail as audit
from app.services.unit_of_work import after_commit

LEVEL_LABELS = {
    DealerLevel.download_site: _l("1 ダウンロードサイト閲覧"),
    DealerLevel.masters: _l("2 マスタ情報の設定"),
    DealerLevel.full: _l("3 全機能利用"),
    DealerLevel.none: _l("9 無し"),
}


class DealerPermissionError(ValueError):
    """A refused grant; the message is shown to the person making it."""


def permissions_of_hospital(hospital_id: int) -> list[DealerPermission]:
    return list(
        db.session.scalars(
            select(DealerPermission)
            .where(DealerPermission.hospital_id == hospital_id)
            .order_by(DealerPermission.granted_at.desc(), DealerPermission.id.desc())
        )
    )


def history_of_hospital(hospital_id: int) -> list[DealerPermissionHistory]:
    return list(
        db.session.scalars(
            select(DealerPermissionHistory)
            .where(DealerPermissionHistory.hospital_id == hospital_id)
            .order_by(DealerPermissionHistory.changed_at.desc(), DealerPermissionHistory.id.desc())
        )
    )


def find_dealer_user(email: str, hospital: Organization) -> User:
    address = normalize_email(email)
    if not address:
        raise DealerPermissionError(_("ディーラーのメールアドレスを入力してください"))
    user = db.session.scalars(select(User).where(User.email == address)).one_or_none()
    unknown = DealerPermissionError(_("%(email)s はディーラーのユーザーではありません", email=address))
    # One answer for an unknown address, another organization's user and a stopped dealer
    # (user or company): a hospital user must not learn which addresses have an account.
    if user is None or user.organization is None or user.organization.kind != OrganizationKind.dealer.value:
        raise unknown
    stopped = user.status == UserStatus.inactive or not user.active or not user.organization.is_active
    if stopped:
        # Only a dealer this hospital already lists (its permissions screen names it) may be
        # told apart; any other stopped dealer is an unknown address.
        if not _holds_permission(user, hospital):
            raise unknown
        raise DealerPermissionError(_("%(email)s は利用停止中のユーザーです", email=address))
    return user


def _holds_permission(dealer: User, hospital: Organization) -> bool:
    return db.session.scalars(select(DealerPermission.id).where(
        DealerPermission.hospital_id == hospital.id,
        DealerPermission.dealer_user_id == dealer.id)).first() is not None


def grant(hospital: Organization, email: str, level: int, reason: str, actor) -> DealerPermission:
    """Insert or change the permission, write its history and audit event, notify the dealer.

    Flushes; the caller commits (:func:`app.services.unit_of_work.unit_of_work`), and the mail
    goes out only once the change is stored.
    """
    if hospital is None or hospital.kind != OrganizationKind.hospital.value:
        raise DealerPermissionError(_("医療機関を選択してください"))
    try:
        level = DealerLevel(int(level))
    except (TypeError, ValueError):
        raise DealerPermissionError(_("付与権限を一覧から選択してください")) from None
    reason = (reason or "").strip()
    if not reason:
        raise DealerPermissionError(_("設定理由を入力してください"))
    dealer = find_dealer_user(email, hospital)
    permission = db.session.scalars(
        select(DealerPermission).where(
            DealerPermission.hospital_id == hospital.id,
            DealerPermission.dealer_user_id == dealer.id,
        )
    ).one_or_none()
    old_level = permission.level if permission is not None else None
    now = utc_now()
    if permission is None:
        permission = DealerPermission(hospital_id=hospital.id, dealer_user_id=dealer.id)
        db.session.add(permission)
    permission.level = int(level)
    permission.reason = reason
    permission.granted_by_id = getattr(actor, "id", None)
    permission.granted_at = now
    db.session.flush()
    db.session.add(
        DealerPermissionHistory(
            permission_id=permission.id, hospital_id=hospital.id, dealer_user_id=dealer.id,
            old_level=old_level, new_level=int(level), reason=reason,
            changed_by_id=getattr(actor, "id", None), changed_at=now,
        )
    )
    audit.record(
        "dealer_permission.grant", permission, organization_id=hospital.id, actor=actor,
        changes={"dealer": [None, dealer.email], "level": [old_level, int(level)], "reason": [None, reason]},
    )
    after_commit(db.session, notice(dealer, hospital, old_level, int(level), reason))
    return permission


def notice(dealer: User, hospital: Organization, old_level: int | None, new_level: int, reason: str):
    """The dealer's mail about its new level, ready to send (plain values: it is sent after the
    commit, outside the transaction)."""
    label = str(LEVEL_LABELS[DealerLevel(new_level)])
    old = str(LEVEL_LABELS[DealerLevel(old_level)]) if old_level is not None else "（なし）"
    subject, body = render_mail("dealer_permission", dealer=dealer, hospital=hospital, old=old,
                                label=label, reason=reason)
    recipients = [dealer.email]
    return lambda: send_mail(recipients, subject, body)
