"""The SMTP connection named by ``SMTP_URL``: parse it once, open it, send one message.

``SMTP_URL`` takes the forms ``smtp://[user:password@]host[:port]`` (STARTTLS when the server
offers it; port 587 by default), ``smtps://...`` (TLS from the first byte; port 465) and
``smtp+plain://host:port`` (no TLS at all: only for a relay on the same machine or in tests).
Query arguments: ``from`` (the sender address, default ``healing-survey@<host>``).
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

SCHEMES = {"smtp": 587, "smtps": 465, "smtp+plain": 25}
TIMEOUT_SECONDS = 30


class SmtpConfigError(ValueError):
    """``SMTP_URL`` cannot be used; the message names the part that is wrong (never a password)."""


class DeliveryError(Exception):
    """A message could not be handed to the SMTP server.

    ``permanent`` is true when trying again cannot help (the server refused the address: 5xx),
    false for trouble that may pass (no connection, 4xx, a timeout).
    """

    def __init__(self, message: str, *, permanent: bool):
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class SmtpSettings:
    scheme: str
    host: str
    port: int
    username: str | None
    password: str | None
    sender: str

    def __repr__(self) -> str:  # never print the password
        user = f"{self.username}@" if self.username else ""
        return f"SmtpSettings({self.scheme}://{user}{self.host}:{self.port}, from={self.sender})"

    @classmethod
    def from_url(cls, url: str) -> SmtpSettings:
        """Read ``SMTP_URL``.

        Examples
        --------
        >>> SmtpSettings.from_url("smtp://mailer:s3cret@mail.example.org?from=survey@example.org")
        SmtpSettings(smtp://mailer@mail.example.org:587, from=survey@example.org)
        >>> SmtpSettings.from_url("smtp+plain://127.0.0.1:8025").sender
        'healing-survey@127.0.0.1'
        """
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise SmtpConfigError(
                "SMTP_URL is not a URL of the form smtp://user:password@host:587"
            ) from None
        if parts.scheme not in SCHEMES:
            raise SmtpConfigError(
                f"SMTP_URL scheme {parts.scheme!r}: expected one of {', '.join(SCHEMES)}"
            )
        if not parts.hostname:
            raise SmtpConfigError("SMTP_URL names no host: expected smtp://host:587")
        query = parse_qs(parts.query)
        sender = query.get("from", [f"healing-survey@{parts.hostname}"])[0]
        if "@" not in sender:
            raise SmtpConfigError(f"SMTP_URL from={sender!r}: expected an e-mail address")
        return cls(
            scheme=parts.scheme,
            host=parts.hostname,
            port=port or SCHEMES[parts.scheme],
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            sender=sender,
        )


def connect(settings: SmtpSettings) -> smtplib.SMTP:
    """An open, authenticated connection; raises :class:`DeliveryError` (transient) if none."""
    try:
        if settings.scheme == "smtps":
            context = ssl.create_default_context()
            server = smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=TIMEOUT_SECONDS, context=context
            )
        else:
            server = smtplib.SMTP(settings.host, settings.port, timeout=TIMEOUT_SECONDS)
            if settings.scheme == "smtp":
                server.ehlo()
                if server.has_extn("starttls"):
                    server.starttls(context=ssl.create_default_context())
                    server.ehlo()
        if settings.username:
            server.login(settings.username, settings.password or "")
        _without_nagle(server)
    except smtplib.SMTPAuthenticationError as error:
        raise DeliveryError(
            f"the SMTP server {settings.host} refused the user name or password"
            f" ({error.smtp_code})",
            permanent=False,
        ) from None
    except (OSError, smtplib.SMTPException) as error:
        raise DeliveryError(
            f"cannot reach the SMTP server {settings.host}:{settings.port}: {error}",
            permanent=False,
        ) from None
    return server


def _without_nagle(server: smtplib.SMTP) -> None:
    """Send small writes at once. The sender writes a message's final ``.`` line on its own,
    right after the body (see :mod:`survey.delivery.sender`); with Nagle's algorithm the kernel
    holds those three bytes until the server acknowledges the body, and a server that delays its
    acknowledgements (Linux: up to 40 ms) then adds that wait to every message."""
    server.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def send(server: smtplib.SMTP, message: EmailMessage) -> None:
    """Hand one message to an open connection; classify a failure as permanent or transient."""
    try:
        refused = server.send_message(message)
    except smtplib.SMTPRecipientsRefused as error:
        codes = [code for code, _ in error.recipients.values()]
        raise DeliveryError(
            f"the server refused the recipient ({', '.join(map(str, codes))})",
            permanent=all(500 <= code < 600 for code in codes),
        ) from None
    except smtplib.SMTPResponseException as error:
        raise DeliveryError(
            f"the server answered {error.smtp_code}", permanent=500 <= error.smtp_code < 600
        ) from None
    except (OSError, smtplib.SMTPException) as error:
        raise DeliveryError(
            f"the connection failed while sending: {error}", permanent=False
        ) from None
    if refused:
        raise DeliveryError("the server refused the recipient", permanent=True)
