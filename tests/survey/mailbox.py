"""A real SMTP server on localhost (aiosmtpd) that keeps what it receives, for tests that
check the e-mails the app sends, and that can refuse.

Recipients whose local part starts with ``bounce`` are refused for good (550), ``later`` for now
(451) at RCPT; ``refuse-end`` is refused after the message's final line (554).
"""

from __future__ import annotations

import re
import socket
import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest


class Inbox:
    """The aiosmtpd handler: every message that arrives, parsed."""

    def __init__(self):
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        local = address.split("@")[0]
        if local.startswith("bounce"):
            return "550 5.1.1 no such mailbox"
        if local.startswith("later"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        if any(rcpt.startswith("refuse-end") for rcpt in envelope.rcpt_tos):
            return "554 5.6.0 message refused"
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        with self.lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        """The first ``count`` messages, waiting for mail sent in the background."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        if len(self.messages) < count:
            raise AssertionError(f"{len(self.messages)} messages arrived, expected {count}")
        return self.messages[:count]

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if m["To"] == address]


def link_in(message: EmailMessage) -> str:
    match = re.search(r"https?://\S+", message.get_content())
    if match is None:
        raise AssertionError("no link in the message")
    return match.group(0)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class MailServer:
    """Start with ``with MailServer() as server:``; ``server.url`` is an ``SMTP_URL`` and
    ``server.mailbox`` what arrived."""

    def __init__(self, sender: str = "survey@clinic.example.org"):
        controller_module = pytest.importorskip("aiosmtpd.controller")
        self.mailbox = Inbox()
        self.port = free_port()
        self.url = f"smtp+plain://127.0.0.1:{self.port}?from={sender}"
        self.controller = controller_module.Controller(
            self.mailbox, hostname="127.0.0.1", port=self.port
        )

    def __enter__(self) -> MailServer:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()


def running_smtp_server():
    """(inbox, SMTP_URL) of a server listening on localhost; a generator for a fixture."""
    with MailServer(sender="survey@clinic.example") as server:
        yield server.mailbox, server.url
