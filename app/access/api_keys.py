"""API keys: FAB's ``ab_api_key`` rows, issued and revoked under :mod:`app.access.scope`.

Who may issue a key for a user: whoever may manage that user (``MANAGE_USERS`` over the
user's organization) — an Admin for anyone (System accounts included), an OrgAdmin for its
own organization's users only. A key acts with its user's roles and scope.

A raw key is ``sst_`` + 43 random URL-safe characters. Only hashes are stored (FAB's
``lookup_hash`` to find the row, ``key_hash`` to verify it); the first
:data:`VISIBLE_PREFIX_LENGTH` characters are kept in ``key_prefix`` so a person can tell
keys apart. The raw key is returned once, by :func:`create_key`.

Use of a key (checked by ``OptiServeSecurityManager.validate_api_key``): a revoked or
expired key → 401; outside the organization's IP allow-list → 403; more than
``API_KEY_RATE_LIMIT`` calls (per key) → 429. Each write call is audited (one row; a
dealer's key acting for a hospital writes on the hospital's data, so the hospital's log has
a row too); reads are counted per key per JST day in ``api_key_daily_use``. Those records
and the key's ``last_used_on`` (to the minute) are one commit after the response; the slow
hash of a key is checked once per process (the row is still read on every call).
"""
from __future__ import annotations

import datetime as dt
import secrets

from flask import Flask, current_app, g, jsonify, request
from flask_appbuilder.security.sqla.models import ApiKey
from flask_babel import gettext as _
from limits import parse as parse_limit
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import TooManyRequests
from werkzeug.security import check_password_hash, generate_password_hash

from app.access.capabilities import MANAGE_USERS
from app.access.scope import Scope, current_scope
from app.core.months import jst_today, utc_now
from app.extensions import db
from app.models import ApiKeyDailyUse, Organization, User, UserStatus
from app.services.audit import trail as audit

VISIBLE_PREFIX_LENGTH = 12  # "sst_" + 8 random characters
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class ApiKeyError(ValueError):
    """A refused key operation, with the message for the user."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message, self.status = message, status


class KeyRateLimited(TooManyRequests):
    """429 for a key past ``API_KEY_RATE_LIMIT``."""


# ---------------------------------------------------------------- issuing and revoking

def owner_of(key: ApiKey) -> User | None:
    """The key's user as OptiServe's model (FAB's ``ApiKey.user`` maps FAB's base class)."""
    return db.session.get(User, key.user_id)


def may_manage_keys_of(scope: Scope, user: User) -> bool:
    return scope.can(MANAGE_USERS) and scope.allows(user.organization_id)


def key_is_active(key: ApiKey, now: dt.datetime | None = None) -> bool:
    """FAB's ``ApiKey.is_active`` compares with local time; stored times here are naive UTC."""
    now = now or utc_now()
    return bool(key.active) and key.revoked_on is None and (key.expires_on is None or key.expires_on > now)


def key_state(key: ApiKey) -> str:
    if key.revoked_on is not None or not key.active:
        return "revoked"
    if not key_is_active(key):
        return "expired"
    return "active"


def create_key(scope: Scope, actor, user: User | None, name: str | None,
               expires_on: dt.datetime | None, sm) -> tuple[ApiKey, str]:
    """Issue a key for ``user``; returns the row and the raw key (shown once, never stored)."""
    if user is None or not may_manage_keys_of(scope, user):
        raise ApiKeyError(_("このユーザーのAPIキーは発行できません。"), 404)
    if user.status != UserStatus.active or not user.active:
        raise ApiKeyError(_("有効なユーザーにだけAPIキーを発行できます。"))
    name = (name or "").strip()
    if not name or len(name) > 256:
        raise ApiKeyError(_("キーの名前を256文字以内で入力してください。"))
    if expires_on is not None and expires_on <= utc_now():
        raise ApiKeyError(_("有効期限には未来の日時を指定してください。"))
    config = current_app.config
    raw_key = config.get("FAB_API_KEY_PREFIXES", ["sst_"])[0] + secrets.token_urlsafe(32)
    key = ApiKey(
        name=name, user_id=user.id, active=True, expires_on=expires_on, created_on=utc_now(),
        key_prefix=raw_key[:VISIBLE_PREFIX_LENGTH], lookup_hash=sm._compute_lookup_hash(raw_key),
        key_hash=generate_password_hash(raw_key, method=config["FAB_API_KEY_HASH_METHOD"],
                                        salt_length=config["FAB_PASSWORD_HASH_SALT_LENGTH"]),
    )
    db.session.add(key)
    db.session.flush()
    audit.record("api_key.created", key, organization_id=user.organization_id, actor=actor, changes={
        "user": user.email, "name": name, "key_prefix": key.key_prefix,
        "expires_on": expires_on.isoformat() if expires_on else None})
    db.session.commit()
    return key, raw_key


def revoke_key(scope: Scope, actor, key: ApiKey | None) -> ApiKey:
    owner = owner_of(key) if key is not None else None
    if owner is None or not may_manage_keys_of(scope, owner):
        raise ApiKeyError(_("APIキーが見つかりません。"), 404)
    if key.revoked_on is None:
        key.revoked_on = utc_now()
        audit.record("api_key.revoked", key, organization_id=owner.organization_id, actor=actor,
                     changes={"user": owner.email, "name": key.name, "key_prefix": key.key_prefix})
        db.session.commit()
    return key


def revoke_keys_of(user: User, actor, reason: str) -> int:
    """Revoke every usable key of ``user`` (the caller commits); returns how many. A key acts
    with its user's roles and organization: when those change, a key handed to a script or a
    contractor for the old ones would carry on under the new ones (another hospital's data)."""
    keys = list(db.session.scalars(select(ApiKey).where(ApiKey.user_id == user.id, ApiKey.revoked_on.is_(None))))
    for key in keys:
        key.revoked_on = utc_now()
        audit.record("api_key.revoked", key, organization_id=user.organization_id, actor=actor,
                     changes={"user": user.email, "name": key.name, "key_prefix": key.key_prefix,
                              "reason": reason})
    return len(keys)


def keys_in_scope(scope: Scope) -> list[ApiKey]:
    if not scope.can(MANAGE_USERS):
        return []
    return list(db.session.scalars(
        select(ApiKey).join(User, ApiKey.user_id == User.id)
        .where(scope.clause(User.organization_id)).order_by(ApiKey.id.desc())))


def key_in_scope(scope: Scope, key_id) -> ApiKey | None:
    try:
        key_id = int(key_id)
    except (TypeError, ValueError):
        return None
    key = db.session.get(ApiKey, key_id)
    if key is None or not may_manage_keys_of(scope, owner_of(key)):
        return None
    return key


def reads_of(key_id: int) -> list[ApiKeyDailyUse]:
    return list(db.session.scalars(select(ApiKeyDailyUse).where(ApiKeyDailyUse.api_key_id == key_id)
                                   .order_by(ApiKeyDailyUse.day.desc())))


def key_payload(key: ApiKey) -> dict:
    return {
        "id": key.id, "name": key.name, "key_prefix": key.key_prefix, "user_id": key.user_id,
        "user_email": owner_of(key).email, "state": key_state(key),
        "created_on": _iso(key.created_on), "expires_on": _iso(key.expires_on),
        "last_used_on": _iso(key.last_used_on), "revoked_on": _iso(key.revoked_on),
    }


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() + "Z" if value else None


# ---------------------------------------------------------------- using a key

# (lookup_hash, key_hash) pairs whose key this process has already checked with the slow
# hash: the check then runs once per key per process, not on every call. Safe because
# lookup_hash is a hash of the raw key itself (another key cannot have the same one) and
# the pair holds the stored key_hash (a re-issued key has another). The key row is still
# read on every call, so a revocation or an expiry takes effect at once.
_VERIFIED: set[tuple[str, str]] = set()
VERIFIED_CACHE_SIZE = 4096
# last_used_on is written at most this often per key (the keys screen shows when a key was
# last used, not each call).
LAST_USED_PRECISION = dt.timedelta(minutes=1)


def _key_matches(key: ApiKey, raw_key: str) -> bool:
    pair = (key.lookup_hash, key.key_hash)
    if pair in _VERIFIED:
        return True
    if not check_password_hash(key.key_hash, raw_key):
        return False
    if len(_VERIFIED) >= VERIFIED_CACHE_SIZE:
        _VERIFIED.clear()
    _VERIFIED.add(pair)
    return True


def find_usable_key(raw_key: str, sm) -> ApiKey | None:
    """The active key whose hashes match ``raw_key``, with an active user; else None."""
    key = db.session.scalar(select(ApiKey).where(ApiKey.lookup_hash == sm._compute_lookup_hash(raw_key)))
    if key is None or not _key_matches(key, raw_key) or not key_is_active(key):
        return None
    user = owner_of(key)
    if user is None or not user.active or user.status != UserStatus.active:
        return None
    return key


def _limiter(app: Flask) -> FixedWindowRateLimiter:
    state = app.extensions.setdefault("optiserve_api_key_limiter", {})
    uri = app.config.get("API_KEY_RATE_LIMIT_STORAGE_URI") or app.config.get("RATELIMIT_STORAGE_URI") or "memory://"
    if state.get("uri") != uri:
        state.update(uri=uri, limiter=FixedWindowRateLimiter(storage_from_string(uri)))
    return state["limiter"]


def check_rate_limit(app: Flask, key: ApiKey) -> None:
    """Count one call of ``key``; 429 past ``API_KEY_RATE_LIMIT`` (empty = no limit)."""
    text = app.config.get("API_KEY_RATE_LIMIT")
    if not text:
        return
    if not _limiter(app).hit(parse_limit(text), "api-key", key.uuid):
        raise KeyRateLimited()


def count_read(key_id: int, day: dt.date) -> None:
    """One more read for the key on ``day``; the row is made on the day's first read."""
    bump = (update(ApiKeyDailyUse).where(ApiKeyDailyUse.api_key_id == key_id, ApiKeyDailyUse.day == day)
            .values(reads=ApiKeyDailyUse.reads + 1))
    if db.session.execute(bump).rowcount:
        return
    try:
        with db.session.begin_nested():
            db.session.add(ApiKeyDailyUse(api_key_id=key_id, day=day, reads=1))
    except IntegrityError:  # another request made the day's row first
        db.session.execute(bump)


def note_use(key: ApiKey) -> None:
    """Remember, for :func:`_record_use`, that this request was made with ``key`` (once
    every check has passed)."""
    g.optiserve_api_key_id = key.id
    g.optiserve_api_key_last_used = key.last_used_on


def _touch(key_id: int, last_used: dt.datetime | None) -> None:
    now = utc_now()
    if last_used is None or now - last_used >= LAST_USED_PRECISION:
        db.session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_on=now))


def _audit_write(key_id: int, status: int) -> None:
    """The write's row in the key owner's organization's log; a dealer's key acting for a
    hospital writes on the hospital's data, so the hospital's log has the row too (naming the
    dealer's organization, app.services.audit.trail), and the dealer's row names the hospital."""
    user = g.get("user")
    use = {"api_key_id": key_id, "method": request.method, "path": request.path[:200], "status": status}
    own_organization_id = getattr(user, "organization_id", None)
    hospital_id = current_scope().dealer_hospital_id
    if hospital_id is not None and hospital_id != own_organization_id:
        audit.record("api_key.write", actor=user, changes=use, organization_id=hospital_id)
        hospital = db.session.get(Organization, hospital_id)
        use = {**use, "acting_for": hospital.code}
    audit.record("api_key.write", actor=user, changes=use, organization_id=own_organization_id)


def _record_use(response):
    """One write per call: the audit row (writes) or the day's read counter (reads), and the
    key's last_used_on, committed together (and nothing else)."""
    key_id = g.get("optiserve_api_key_id")
    if key_id is None:
        return response
    # Whatever the view left uncommitted (it failed half-way, or refused after a change) is
    # not ours to commit: a call signed in with a session would drop it at teardown too.
    db.session.rollback()
    try:
        _touch(key_id, g.get("optiserve_api_key_last_used"))
        if request.method in WRITE_METHODS:
            _audit_write(key_id, response.status_code)
        else:
            count_read(key_id, jst_today())
        db.session.commit()
    except Exception:
        db.session.rollback()
        current_app.logger.exception("recording the use of API key %s failed", key_id)
    return response


def _rate_limited(error):
    return jsonify(message=_("APIキーの呼び出し回数の上限を超えました。しばらく待ってからやり直してください。")), 429


def init_app(app: Flask) -> None:
    app.after_request(_record_use)
    app.register_error_handler(KeyRateLimited, _rate_limited)
