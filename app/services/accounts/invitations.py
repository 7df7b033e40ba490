"""One-time links (first-login invitations, password resets). Only a hash is stored."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from flask import current_app

from app.core.months import utc_now
from app.extensions import db
from app.models import Invitation, User

INVITATION = "invitation"
PASSWORD_RESET = "password_reset"
LINK_PATHS = {INVITATION: "/first-login/", PASSWORD_RESET: "/password-reset/"}


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_link(user: User, purpose: str = INVITATION, *, hours: int | None = None,
                created_by: User | None = None) -> str:
    """Store a new one-time token for ``user`` and return the absolute link to give them."""
    if hours is None:
        hours = current_app.config["INVITATION_HOURS"]
    token = secrets.token_urlsafe(32)
    db.session.add(
        Invitation(
            user_id=user.id,
            token_hash=token_hash(token),
            purpose=purpose,
            expires_at=utc_now() + dt.timedelta(hours=hours),
            created_by_id=getattr(created_by, "id", None),
        )
    )
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return f"{base}{LINK_PATHS[purpose]}{token}"


def find_valid(token: str, purpose: str = INVITATION) -> Invitation | None:
    """The unused, unexpired link for ``token``, or None."""
    invitation = db.session.query(Invitation).filter_by(
        token_hash=token_hash(token), purpose=purpose
    ).one_or_none()
    if invitation is None or invitation.used_at is not None:
        return None
    if invitation.expires_at <= utc_now():  # a link is no longer valid from its expiry on
        return None
    return invitation
