"""Notification e-mail over SMTP, configured by the settings (SMTP_HOST empty: no e-mail)."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid, parseaddr

from shared.config import Settings

Send = Callable[[EmailMessage], None]


@dataclass(frozen=True)
class Mailer:
    host: str
    port: int
    sender: str
    starttls: bool = False
    username: str = ""
    password: str = field(default="", repr=False)
    timeout: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Mailer | None:
        """The configured mailer, or None when no SMTP server is set (inbox only)."""
        if not settings.smtp_host:
            return None
        return cls(host=settings.smtp_host, port=settings.smtp_port, sender=settings.mail_from,
                   starttls=settings.smtp_starttls, username=settings.smtp_username,
                   password=settings.smtp_password)

    def message(self, *, to_name: str, to_address: str, subject: str,
                body: str) -> EmailMessage:
        """A plain-text message from the configured sender."""
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = formataddr((to_name, to_address))
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False)
        domain = parseaddr(self.sender)[1].rpartition("@")[2] or "localhost"
        message["Message-ID"] = make_msgid(domain=domain)
        message.set_content(body)
        return message

    @contextmanager
    def connection(self) -> Iterator[Send]:
        """One SMTP session; yields a function sending one message. Raises OSError or
        smtplib.SMTPException when the server cannot be reached or refuses us."""
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password)

            def send(message: EmailMessage) -> None:
                smtp.send_message(message)

            yield send
