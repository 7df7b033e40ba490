"""Field rules of the owner's screens, as plain functions returning an error message or None.

Used by the WTForms validators of the screens and by the REST APIs, so a rule holds
whichever way the data arrives.
"""
from __future__ import annotations

import ipaddress
import re

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l

POSTAL_RE = re.compile(r"^\d{3}-\d{4}$")
MOBILE_PREFIXES = ("020", "070", "080", "090")
MAX_NOTIFICATION_EMAILS = 10


def split_lines(text: str | None) -> list[str]:
    """The list fields (e-mails, domains, CIDRs) are stored one entry per line."""
    if not text:
        return []
    return [part.strip() for part in text.replace(",", "\n").splitlines() if part.strip()]


def normalize_email(value: str | None) -> str:
    return (value or "").strip().lower()


def email_error(value: str | None):
    value = (value or "").strip()
    try:
        # email-validator's syntax check (RFC 5321/5322 and IDNA), offline: no DNS lookup.
        # ASCII addresses only: the screens' rule, and what every SMTP relay accepts.
        validate_email(value, check_deliverability=False, allow_smtputf8=False,
                       allow_quoted_local=False, allow_domain_literal=False)
    except EmailNotValidError:
        return _l("メールアドレスの形式が正しくありません")
    if len(value.split("@")[1]) > 63:
        return _l("メールアドレスの形式が正しくありません")
    return None


def _digits(value: str) -> str:
    return value.replace("-", "")


def phone_error(value: str | None):
    """Landline: digits and hyphens, 10 digits (9–10 accepted as in the owner's rule)."""
    if not value:
        return None
    if not re.fullmatch(r"[0-9-]+", value) or not value.startswith("0"):
        return _l("電話番号は数字とハイフンで入力してください")
    digits = _digits(value)
    if digits.startswith(MOBILE_PREFIXES):
        return _l("携帯電話の番号は携帯番号の欄に入力してください")
    if not 9 <= len(digits) <= 10:
        return _l("電話番号の桁数が正しくありません")
    return None


def mobile_error(value: str | None):
    if not value:
        return None
    if not re.fullmatch(r"[0-9-]+", value):
        return _l("携帯番号は数字とハイフンで入力してください")
    digits = _digits(value)
    if not digits.startswith(MOBILE_PREFIXES) or len(digits) != 11:
        return _l("携帯番号は020/070/080/090で始まる11桁で入力してください")
    return None


def contact_error(phone: str | None, mobile: str | None):
    if not (phone or "").strip() and not (mobile or "").strip():
        return _l("連絡先の電話番号、もしくは携帯番号のいずれかを入力してください")
    return None


def postal_code_error(value: str | None):
    if value and not POSTAL_RE.match(value):
        return _l("郵便番号は999-9999の形式で入力してください")
    return None


def address_error(postal_code, prefecture, city, line1, line2):
    """All blank, or postal code, prefecture, city and line 1 all filled."""
    required = [postal_code, prefecture, city, line1]
    if not any(v and v.strip() for v in required + [line2]):
        return None
    if not all(v and v.strip() for v in required):
        return _l("住所項目が不足しています。郵便番号から町名・番地までの入力を行なってください。")
    return None


def email_list_error(text: str | None):
    addresses = split_lines(text)
    if len(addresses) > MAX_NOTIFICATION_EMAILS:
        return _l("通知先メールアドレスは10件までです")
    for address in addresses:
        if email_error(address):
            return _l("通知先メールアドレスの形式が正しくありません: %(address)s", address=address)
    return None


def domain_list_error(text: str | None):
    for domain in split_lines(text):
        if not re.fullmatch(r"@?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+", domain):
            return _l("ドメインの形式が正しくありません: %(domain)s", domain=domain)
    return None


def cidr_list_error(text: str | None):
    for entry in split_lines(text):
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            return _l("IPアドレス（CIDR）の形式が正しくありません: %(entry)s", entry=entry)
    return None


def email_domain_allowed(email: str, allowed_domains: list[str]) -> bool:
    """An organization without domains accepts any; otherwise the e-mail's domain must match."""
    if not allowed_domains:
        return True
    domain = normalize_email(email).rsplit("@", 1)[-1]
    return domain in allowed_domains
