"""The one place staff e-mails (set-up links, password resets) leave the app.

Today it speaks SMTP directly through :mod:`survey.delivery.smtp`; it can later hand its
messages to the delivery outbox instead without its callers changing.
"""

from __future__ import annotations

import contextlib
import smtplib
import threading
from email.message import EmailMessage

from flask import current_app

from survey.delivery.smtp import DeliveryError, SmtpSettings, connect, send


class MailOff(Exception):
    """``SMTP_URL`` is not set: this server sends no e-mail."""


def mail_is_on() -> bool:
    return bool(current_app.config.get("SMTP_URL"))


def _message(settings: SmtpSettings, to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    return message


def send_staff_mail(to: str, subject: str, body: str, *, background: bool = False) -> None:
    """Send one plain-text message to a member of staff.

    Raises :class:`MailOff` when ``SMTP_URL`` is unset and, unless ``background``,
    :class:`~survey.delivery.smtp.DeliveryError` when the server cannot take it. In the
    background the request does not wait for the server (so a page's timing does not depend on
    whether a message was sent); a failure is logged.
    """
    if not mail_is_on():
        raise MailOff("e-mail is off on this server (SMTP_URL is not set)")
    settings = SmtpSettings.from_url(current_app.config["SMTP_URL"])
    message = _message(settings, to, subject, body)
    if not background:
        _deliver(settings, message)
        return
    logger = current_app.logger
    thread = threading.Thread(target=_deliver_logged, args=(settings, message, logger), daemon=True)
    thread.start()


def _deliver(settings: SmtpSettings, message: EmailMessage) -> None:
    server = connect(settings)
    try:
        send(server, message)
    finally:
        with contextlib.suppress(OSError, smtplib.SMTPException):
            server.quit()


def _deliver_logged(settings: SmtpSettings, message: EmailMessage, logger) -> None:
    try:
        _deliver(settings, message)
    except DeliveryError as error:
        logger.error("staff e-mail %r not sent: %s", message["Subject"], error)
