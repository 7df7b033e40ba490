"""Outgoing mail. ``MAIL_URL`` picks the transport:

- ``file:///path`` (embedded default): each message is written as an ``.eml`` file;
- ``smtp://user:password@host:port`` (``smtps://`` for implicit TLS; STARTTLS is used when
  the server offers it). Credentials are only ever sent over TLS: SMTPS, or after STARTTLS
  succeeded; a server that does not offer STARTTLS gets no login (:class:`MailSecurityError`).

A transport is a callable taking an :class:`email.message.EmailMessage`; another one (e.g.
Amazon SES through boto3) is one function added to ``TRANSPORTS``.
"""
from __future__ import annotations

import logging
import smtplib
import ssl
import uuid
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from urllib.parse import unquote, urlparse

from flask import current_app

from app.core.months import jst_now

log = logging.getLogger(__name__)


def _file_transport(url, message: EmailMessage) -> str:
    folder = Path(url.path)
    folder.mkdir(parents=True, exist_ok=True)
    # named by the Japan time it was sent, like every time a person of OptiServe reads
    path = folder / f"{jst_now():%Y%m%d-%H%M%S}JST-{uuid.uuid4().hex[:8]}.eml"
    path.write_bytes(bytes(message))
    log.info("mail written to %s", path)
    return str(path)


class MailSecurityError(RuntimeError):
    """The mail server connection is not encrypted, so the SMTP credentials were not sent."""


def _smtp_transport(url, message: EmailMessage) -> str:
    port = url.port or (465 if url.scheme == "smtps" else 587)
    # smtplib's own default context does not check the server's certificate; this one does.
    context = ssl.create_default_context()
    if url.scheme == "smtps":
        connection = smtplib.SMTP_SSL(url.hostname, port, timeout=30, context=context)
    else:
        connection = smtplib.SMTP(url.hostname, port, timeout=30)
    with connection as smtp:
        encrypted = url.scheme == "smtps"
        if url.scheme == "smtp":
            smtp.ehlo()
            if smtp.has_extn("starttls"):
                smtp.starttls(context=context)  # raises if the handshake fails: nothing is sent
                encrypted = True
        if url.username and not encrypted:
            # Sending the password in the clear (or to whoever stripped STARTTLS) is refused.
            log.error("SMTP server %s:%s does not offer STARTTLS; credentials not sent", url.hostname, port)
            raise MailSecurityError(
                f"SMTP server {url.hostname}:{port} offers no TLS (STARTTLS); refusing to send "
                "the credentials of MAIL_URL over an unencrypted connection"
            )
        if url.username:
            smtp.login(unquote(url.username), unquote(url.password or ""))
        smtp.send_message(message)
    return message["Message-ID"]


TRANSPORTS = {"file": _file_transport, "smtp": _smtp_transport, "smtps": _smtp_transport}


SUBJECT_PREFIX = "【OptiServe】"
_OLD_PREFIXES = ("【OptiServe】", "[OptiServe]")


def subject_with_prefix(subject: str) -> str:
    """Every subject starts with the one prefix, whatever the caller wrote."""
    subject = subject.strip()
    for prefix in _OLD_PREFIXES:
        if subject.startswith(prefix):
            subject = subject[len(prefix):].strip()
    return f"{SUBJECT_PREFIX}{subject}"


def public_url(path: str = "/") -> str:
    """An absolute link into the application (``PUBLIC_BASE_URL`` + ``path``)."""
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + "/" + path.lstrip("/")


def render(template: str, **context) -> tuple[str, str]:
    """``(subject, body)`` of ``app/templates/mail/<template>.txt``: its first line is the
    subject (without the prefix), the rest the body; every mail ends with the one footer
    (mail/_footer.txt). Japanese only: one template set for every mail."""
    text = current_app.jinja_env.get_template(f"mail/{template}.txt").render(
        base_url=current_app.config["PUBLIC_BASE_URL"].rstrip("/"), public_url=public_url, **context)
    subject, _, body = text.strip("\n").partition("\n")
    return subject_with_prefix(subject), body.strip("\n") + "\n"


def build_message(to: list[str], subject: str, body: str, body_en: str = "",
                  cc: list[str] | None = None) -> EmailMessage:
    """A plain-text Japanese message. ``body_en`` is accepted for old callers and not sent:
    the mails are Japanese only (issue 14)."""
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = ", ".join(to)
    if cc:
        message["Cc"] = ", ".join(cc)
    message["Subject"] = subject_with_prefix(subject)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain="optiserve")
    message.set_content(body, charset="utf-8")
    return message


def send_mail(to: list[str], subject: str, body: str, body_en: str = "",
              cc: list[str] | None = None) -> str | None:
    """Send one message; returns where it went (file path or message id), None if no recipient."""
    recipients = [address for address in to if address]
    if not recipients:
        return None
    copies = [address for address in (cc or []) if address and address not in recipients]
    url = urlparse(current_app.config["MAIL_URL"])
    transport = TRANSPORTS.get(url.scheme)
    if transport is None:
        raise ValueError(f"MAIL_URL scheme not supported: {url.scheme}")
    return transport(url, build_message(recipients, subject, body, cc=copies))


def outbox_messages() -> list[EmailMessage]:
    """The messages the file transport has written, oldest first (for tests and local use)."""
    from email import policy
    from email.parser import BytesParser

    url = urlparse(current_app.config["MAIL_URL"])
    if url.scheme != "file":
        return []
    folder = Path(url.path)
    paths = sorted(folder.glob("*.eml"), key=lambda p: (p.stat().st_mtime_ns, p.name))
    return [BytesParser(policy=policy.default).parse(p.open("rb")) for p in paths]
