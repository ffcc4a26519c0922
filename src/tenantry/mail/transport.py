"""How a message leaves: SMTP (aiosmtplib) when TENANTRY_SMTP_HOST is set, otherwise the log."""

from __future__ import annotations

import logging
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Protocol

import aiosmtplib

from tenantry.config import Settings
from tenantry.lib.clock import utcnow
from tenantry.mail.outbox import Claimed

logger = logging.getLogger("tenantry.mail")


class Transport(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


def to_mime(message: Claimed, *, mail_from: str) -> EmailMessage:
    """Multipart: a plain-text body and its HTML alternative."""
    mime = EmailMessage()
    mime["From"] = mail_from
    mime["To"] = message.to_address
    mime["Subject"] = message.subject
    mime["Date"] = format_datetime(utcnow())
    # The outbox id in the Message-ID: a receiving side can tell a retry from a new message.
    mime["Message-ID"] = make_msgid(idstring=message.id.hex, domain="tenantry.invalid")
    mime.set_content(message.text_body)
    mime.add_alternative(message.html_body, subtype="html")
    return mime


class SmtpTransport:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def send(self, message: EmailMessage) -> None:
        s = self.settings
        await aiosmtplib.send(
            message,
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_username or None,
            password=s.smtp_password or None,
            use_tls=s.smtp_tls == "tls",
            start_tls=True if s.smtp_tls == "starttls" else False,  # noqa: SIM210 - None would mean "maybe"
            timeout=30,
        )


class LogTransport:
    """No SMTP server configured: the message goes to the log (and stays in the outbox as sent)."""

    async def send(self, message: EmailMessage) -> None:
        body = message.get_body(("plain",))
        logger.info("Email to %s — %s\n%s", message["To"], message["Subject"], body.get_content() if body else "")


def transport_for(settings: Settings) -> Transport:
    return SmtpTransport(settings) if settings.smtp_host else LogTransport()
