"""Encryption at rest of TOTP secrets: Fernet (AES-128-CBC + HMAC-SHA256) from ``cryptography``.

``TOTP_ENCRYPTION_KEY`` holds one or more Fernet keys, comma-separated. The first encrypts
every new value; all of them decrypt (``MultiFernet``), so a key is rotated by putting the
new key first, running ``flask optiserve rotate-totp-key`` (re-encrypts every stored secret
with the first key), then removing the old key. The key lives outside the database
(environment / Secrets Manager), so a copy of the database alone does not give the secrets.
"""
from __future__ import annotations

import logging
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app

log = logging.getLogger(__name__)

# Every Fernet token starts with its version byte 0x80, base64-encoded as "gAAAAA".
TOKEN_PREFIX = "gAAAAA"


def key_list(raw: str) -> list[str]:
    return [key.strip() for key in (raw or "").split(",") if key.strip()]


@lru_cache(maxsize=8)
def cipher_for(raw: str) -> MultiFernet:
    """The MultiFernet of a ``TOTP_ENCRYPTION_KEY`` value; ValueError if a key is malformed."""
    keys = key_list(raw)
    if not keys:
        raise ValueError("TOTP_ENCRYPTION_KEY is empty")
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except (ValueError, TypeError) as exc:
        raise ValueError(
            "TOTP_ENCRYPTION_KEY must be Fernet keys (32 url-safe base64-encoded bytes), "
            "comma-separated") from exc


def check_totp_key(settings) -> None:
    """Refuse to start with a malformed ``TOTP_ENCRYPTION_KEY`` (rather than fail at the
    first sign-in)."""
    try:
        cipher_for(settings["TOTP_ENCRYPTION_KEY"])
    except ValueError as exc:
        raise SystemExit(str(exc)) from exc


def cipher() -> MultiFernet:
    return cipher_for(current_app.config["TOTP_ENCRYPTION_KEY"])


def encrypt(plain: str) -> str:
    return cipher().encrypt(plain.encode()).decode()


def decrypt(token: str) -> str | None:
    """The clear value, or None when no configured key opens it (a lost key: the user's
    second factor then fails and an administrator resets it)."""
    try:
        return cipher().decrypt(token.encode()).decode()
    except InvalidToken:
        log.error("a stored TOTP secret cannot be decrypted with TOTP_ENCRYPTION_KEY")
        return None


def rotate(token: str) -> str:
    """``token`` re-encrypted with the first key (InvalidToken if no key opens it)."""
    return cipher().rotate(token.encode()).decode()


def is_encrypted(value: str) -> bool:
    return value.startswith(TOKEN_PREFIX)
