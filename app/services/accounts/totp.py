"""Second factor: RFC 6238 TOTP (30 s steps, 6 digits, ±1 step) and one-time recovery codes.

A code is accepted only for a time step later than the last one accepted for the user, so
a code (or an older one) can never be replayed. Recovery codes carry about 59 bits of
randomness each, so an unsalted SHA-256 is enough to keep them from being read.
"""
from __future__ import annotations

import hashlib
import hmac
import io
import secrets
import time

import pyotp
import segno
from cryptography.fernet import InvalidToken

from app.core.encryption import encrypt, is_encrypted, rotate
from app.core.months import utc_now
from app.extensions import db
from app.models import RecoveryCode, User
from app.services.accounts.sessions import end_all_sessions

ISSUER = "OptiServe"
STEP_SECONDS = 30
WINDOW = 1
RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no look-alikes (0/o, 1/l/i)


def new_secret() -> str:
    return pyotp.random_base32()  # 32 base32 characters = 160 bits, as RFC 4226 recommends


def provisioning_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The QR code as inline SVG markup, made locally (no external service)."""
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(buffer, kind="svg", scale=5, xmldecl=False, svgns=True,
                                    title="TOTP")
    return buffer.getvalue().decode()


def current_step(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // STEP_SECONDS)


def matching_step(secret: str, code: str, now: float | None = None) -> int | None:
    """The time step within ±WINDOW whose code equals ``code``, or None."""
    code = (code or "").strip().replace(" ", "")
    if not (len(code) == 6 and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    base = current_step(now)
    found = None
    for step in range(base - WINDOW, base + WINDOW + 1):
        # compare every candidate, so the time taken does not depend on which one matched
        if hmac.compare_digest(totp.generate_otp(step), code):
            found = step
    return found


def verify_totp(user: User, code: str, now: float | None = None) -> bool:
    """Check ``code`` against the user's secret and burn its time step."""
    if not user.totp_secret or not user.totp_enrolled_on:
        return False
    step = matching_step(user.totp_secret, code, now)
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        return False
    user.totp_last_step = step
    return True


def looks_like_totp(code: str) -> bool:
    code = (code or "").strip().replace(" ", "")
    return len(code) == 6 and code.isdigit()


def _normalize_recovery(code: str) -> str:
    return "".join(ch for ch in (code or "").lower() if ch.isalnum())


def recovery_hash(code: str) -> str:
    return hashlib.sha256(_normalize_recovery(code).encode()).hexdigest()


def new_recovery_codes(user: User) -> list[str]:
    """Replace the user's recovery codes with RECOVERY_CODE_COUNT new ones; returns them
    formatted for display (the only time they exist in clear)."""
    db.session.query(RecoveryCode).filter_by(user_id=user.id).delete()
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(12))
        codes.append(f"{raw[:4]}-{raw[4:8]}-{raw[8:]}")
        db.session.add(RecoveryCode(user_id=user.id, code_hash=recovery_hash(raw)))
    return codes


def use_recovery_code(user: User, code: str) -> bool:
    """Accept an unused recovery code of ``user`` once."""
    if len(_normalize_recovery(code)) != 12:
        return False
    row = db.session.query(RecoveryCode).filter_by(
        user_id=user.id, code_hash=recovery_hash(code), used_at=None
    ).first()
    if row is None:
        return False
    row.used_at = utc_now()
    return True


def enroll(user: User, secret: str, step: int) -> list[str]:
    """Store a confirmed secret (``step`` is the step of the confirming code) and return new
    recovery codes."""
    user.totp_secret = secret
    user.totp_last_step = step
    user.totp_enrolled_on = utc_now()
    return new_recovery_codes(user)


def reset(user: User) -> None:
    """Forget the user's second factor and end the user's sessions; the next login enrolls
    a new one."""
    end_all_sessions(user)
    user.totp_secret = None
    user.totp_last_step = None
    user.totp_enrolled_on = None
    db.session.query(RecoveryCode).filter_by(user_id=user.id).delete()


def remaining_recovery_codes(user: User) -> int:
    return db.session.query(RecoveryCode).filter_by(user_id=user.id, used_at=None).count()


def rotate_totp_secrets() -> tuple[int, int]:
    """Re-encrypt every stored TOTP secret with the first key; a clear value (left by a
    migration run without a key) is encrypted too. Returns (rewritten, unreadable): an
    unreadable secret is left as it is (its user's administrator resets the second factor).
    Commits."""
    import sqlalchemy as sa

    from app.extensions import db

    # The raw column, past the model's EncryptedString that would decrypt it.
    users = sa.table("ab_user", sa.column("id", sa.Integer), sa.column("totp_secret", sa.String))
    rows = db.session.execute(
        sa.select(users.c.id, users.c.totp_secret).where(users.c.totp_secret.isnot(None))
    ).all()
    rewritten = unreadable = 0
    for user_id, value in rows:
        try:
            new = rotate(value) if is_encrypted(value) else encrypt(value)
        except InvalidToken:
            unreadable += 1
            continue
        db.session.execute(users.update().where(users.c.id == user_id).values(totp_secret=new))
        rewritten += 1
    db.session.commit()
    return rewritten, unreadable
