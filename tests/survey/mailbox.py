"""A real SMTP server on localhost (aiosmtpd) that keeps what it receives, for tests that
check the e-mails the app sends."""

from __future__ import annotations

import email
import re
import socket
import time
from email import policy
from email.message import EmailMessage

import pytest


class Inbox:
    """The aiosmtpd handler: every message that arrives, parsed."""

    def __init__(self):
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
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


def running_smtp_server():
    """(inbox, SMTP_URL) of a server listening on localhost; a generator for a fixture."""
    controller_module = pytest.importorskip("aiosmtpd.controller")
    inbox = Inbox()
    port = free_port()
    controller = controller_module.Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, f"smtp+plain://127.0.0.1:{port}?from=survey@clinic.example"
    controller.stop()
