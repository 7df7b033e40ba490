"""One-time links (first-login invitations, password resets). Only a hash is stored.

A token is 32 random bytes (not signed: nothing in it names the user or the address), and
the stored row ties it to the user. A link is meant for the address it was mailed to and the
password it replaces: whenever a user's e-mail address or password changes (an admin's edit,
screen or API; a password change, reset or first login), every unused link of that user stops
working (``expires_at`` set to now), whichever code path made the change — a before-flush hook
of the ORM session sees every change.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from flask import current_app
from sqlalchemy import event
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session

from app.core.months import utc_now
from app.extensions import db
from app.models import Invitation, User

# Columns a link is bound to: a change of either ends the user's unused links.
CREDENTIAL_COLUMNS = ("email", "password")

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


def _credentials_changed(user: User) -> bool:
    state = sa_inspect(user)
    for name in CREDENTIAL_COLUMNS:
        history = state.attrs[name].history
        if not history.added:
            continue
        if not history.deleted or history.deleted[0] != history.added[0]:
            return True  # changed (or set without the old value loaded: assume it changed)
    return False


def end_unused_links(session: Session, user_ids: list[int], now: dt.datetime | None = None) -> int:
    """Make every unused, unexpired link of ``user_ids`` expire now; returns how many."""
    now = now or utc_now()
    links = session.query(Invitation).filter(
        Invitation.user_id.in_(user_ids), Invitation.used_at.is_(None), Invitation.expires_at > now)
    count = 0
    for link in links:
        link.expires_at = now
        count += 1
    return count


@event.listens_for(Session, "before_flush")
def _end_links_of_changed_credentials(session: Session, _flush_context, _instances) -> None:
    changed = [obj.id for obj in session.dirty
               if isinstance(obj, User) and obj.id is not None and _credentials_changed(obj)]
    if changed:
        # links made in this same flush (session.new) are not in the database yet: untouched
        end_unused_links(session, changed)
