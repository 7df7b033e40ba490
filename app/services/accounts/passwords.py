"""Password policy: at least 12 characters, not one of the 10,000 most common passwords, and
not easy to guess by the zxcvbn estimator (score at least ``MIN_STRENGTH``, with the user's
e-mail, name and organization counted as known words).

Chosen over the owner's "8+ with upper, lower, digit and symbol": length is what makes a
password hard to guess, composition rules mostly produce predictable variations
("Password1!"), and NIST SP 800-63B recommends length plus a blocklist. The blocklist is
``common-passwords.txt`` (next to this module) (see its header for where it comes from); comparison is
case-insensitive, and a password made of one character repeated is refused too.

The blocklist alone let ``password1234`` and ``123456789012`` through (only 56 of its
passwords have 12 or more characters): zxcvbn (Dropbox's estimator) recognises dictionary
words, keyboard walks, sequences, repeats, dates and l33t substitutions, so such patterns
are refused whatever their length. Score 3 means "safely unguessable" for an online attack
(about 10^8 guesses).
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from flask_babel import gettext as _
from zxcvbn import zxcvbn

MIN_LENGTH = 12
MAX_LENGTH = 128
MIN_STRENGTH = 3  # zxcvbn score, 0..4
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common-passwords.txt")


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line and not line.startswith("#"))


def user_words(values: Iterable[str | None]) -> list[str]:
    """The user's own data as zxcvbn "user inputs": each value whole and its parts (the
    local part and domain labels of an e-mail, the words of a name)."""
    words = []
    for value in values:
        value = (value or "").strip().lower()
        if not value:
            continue
        words.append(value)
        words.extend(value.split("@"))  # an e-mail's local part and whole domain
        words.extend(part for part in re.split(r"[\s@._\-+]+", value) if len(part) >= 2)
    return list(dict.fromkeys(words))


def strength(password: str, user_inputs: Iterable[str | None] = ()) -> int:
    """zxcvbn's score (0..4) of ``password`` for a user whose data is ``user_inputs``."""
    return zxcvbn(password, user_inputs=user_words(user_inputs), max_length=MAX_LENGTH)["score"]


def password_error(password: str | None, *, email: str | None = None,
                   user_inputs: Iterable[str | None] = ()) -> str | None:
    """The message explaining why ``password`` is refused, or None. ``user_inputs``: the
    user's name, organization name and the like, which a good password does not build on."""
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
    if strength(password, [email, *user_inputs]) < MIN_STRENGTH:
        return _("推測されやすいパスワードです。単語や数字の並び・繰り返し、氏名・メールアドレス・組織名を避け、"
                 "関係のない単語をいくつか組み合わせた長いパスワードにしてください")
    return None
