"""The sender: takes due messages from the outbox one at a time and hands them to SMTP.

Exactly-once, as close as SMTP allows. Each message is claimed by an UPDATE inside a transaction
that stays open while the message is transferred (PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so
several senders share the queue; SQLite: the UPDATE takes the database's write lock, so senders
take turns). The body goes to the server WITHOUT its final ``.`` line; the row is committed as
sent; only then is the ``.`` sent, which is what makes the server accept the message. A sender
killed before the commit leaves a message the server discards and a row still queued (it is sent
again, once); killed after the commit, the message is already marked sent and its final line is
a few bytes away. The one window where a message can be lost is between the commit returning and
those bytes being written; no window repeats a message. benchmarks/delivery_benchmark.py
measures it with ``kill -9``.
"""

from __future__ import annotations

import contextlib
import smtplib
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.policy import SMTP as SMTP_POLICY

from flask import current_app
from sqlalchemy import select, text, update

from survey.delivery.contacts import (
    ContactError,
    erase_closed_contacts,
    erase_contact,
    read_contact,
)
from survey.delivery.messages import MessageContext, optout_signature, render
from survey.delivery.models import InvitationContact, MessageStatus, OutboxMessage
from survey.delivery.outbox import schedule_reminders
from survey.delivery.smtp import DeliveryError, SmtpSettings, connect
from survey.extensions import db
from survey.models import Invitation, InvitationState, record_audit, utcnow

MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=6)


class EmailOffError(RuntimeError):
    """``SMTP_URL`` is not set, so no message can leave."""


@dataclass
class SendReport:
    """What one pass of the sender did."""

    sent: int = 0
    retried: int = 0
    bounced: int = 0
    cancelled: int = 0
    reminders_queued: int = 0
    contacts_erased: int = 0
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "sent": self.sent,
            "retried": self.retried,
            "bounced": self.bounced,
            "cancelled": self.cancelled,
            "reminders_queued": self.reminders_queued,
            "contacts_erased": self.contacts_erased,
            "errors": self.errors,
        }


def smtp_settings() -> SmtpSettings:
    raw = current_app.config.get("SMTP_URL")
    if not raw:
        raise EmailOffError(
            "e-mail is off: set SMTP_URL (e.g. smtp://user:password@mail.example.org:587) "
            "and run this again"
        )
    return SmtpSettings.from_url(raw)


def retry_delay(attempts: int) -> timedelta:
    """Backoff after ``attempts`` failed tries: 1, 2, 4 ... minutes, at most 6 hours.

    Examples
    --------
    >>> [int(retry_delay(n).total_seconds() // 60) for n in (1, 2, 3, 10)]
    [1, 2, 4, 360]
    """
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_RETRY)


def send_pending(*, limit: int | None = None, now: datetime | None = None) -> SendReport:
    """One pass: erase closed contacts, queue due reminders, send every due message."""
    settings = smtp_settings()
    report = SendReport()
    report.contacts_erased = erase_closed_contacts(now)
    report.reminders_queued = schedule_reminders(now)
    server = None
    try:
        while limit is None or report.sent + report.bounced + report.retried < limit:
            claimed = _claim_next(now or utcnow())
            if claimed is None:
                break
            if server is None:
                try:
                    server = connect(settings)
                except DeliveryError as error:
                    db.session.rollback()
                    report.errors.append(str(error))
                    break
            kept = _deliver(claimed, server, settings, report)
            if kept is None:  # the connection is in doubt after a failure: open a new one
                _quit(server)
            server = kept
    finally:
        db.session.rollback()
        if server is not None:
            _quit(server)
    return report


def _claim_next(now: datetime) -> OutboxMessage | None:
    """Lock the next due message in a transaction left open for :func:`_deliver`."""
    due = (
        select(OutboxMessage.id)
        .where(OutboxMessage.status == MessageStatus.QUEUED, OutboxMessage.due_at <= now)
        .order_by(OutboxMessage.due_at, OutboxMessage.id)
        .limit(1)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    claimed_id = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == due.scalar_subquery(), OutboxMessage.status == "queued")
        .values(attempts=OutboxMessage.attempts + 1)
        .returning(OutboxMessage.id)
    ).scalar()
    if claimed_id is None:
        db.session.rollback()
        return None
    return db.session.get(OutboxMessage, claimed_id)


def _still_wanted(message: OutboxMessage, now: datetime) -> bool:
    invitation = message.invitation
    return (
        invitation.state
        in (InvitationState.PENDING, InvitationState.OPENED, InvitationState.STARTED)
        and invitation.expires_at > now
        and invitation.opted_out_at is None
        and invitation.bounced_at is None
    )


def _deliver(message, server, settings, report):
    """Send one claimed message and finish its transaction; returns the connection to reuse."""
    now = utcnow()
    contact = db.session.scalar(
        select(InvitationContact).where(InvitationContact.invitation_id == message.invitation_id)
    )
    if contact is None or not _still_wanted(message, now):
        message.status = MessageStatus.CANCELLED
        db.session.commit()
        report.cancelled += 1
        return server
    try:
        address, token = read_contact(contact)
    except ContactError as error:
        _give_up(message, str(error), report, bounce=False)
        return server
    email = render(_context(message, settings, address, token))
    body = email.as_bytes(policy=SMTP_POLICY)
    try:
        _transfer_without_end(server, settings.sender, address, body)
    except DeliveryError as error:
        return _after_failure(message, error, report, server)
    message.status = MessageStatus.SENT
    message.sent_at = now
    message.last_error = None
    if message.invitation.sent_at is None:
        message.invitation.sent_at = now
    db.session.commit()
    try:
        _end_transfer(server)
    except DeliveryError as error:
        _undo_sent(message.id, error, report)
        return None if not error.permanent else server
    report.sent += 1
    return server


def _context(message, settings, address, token) -> MessageContext:
    invitation: Invitation = message.invitation
    base = current_app.config["BASE_URL"]
    signature = optout_signature(current_app.config["SECRET_KEY"], invitation.id)
    wave = invitation.wave
    return MessageContext(
        message_id=message.id,
        kind=message.kind,
        language=invitation.language,
        recipient=address,
        sender=settings.sender,
        clinic=invitation.clinician.clinic.name,
        clinician=invitation.clinician.name,
        patient_reference=wave.dyad.reference if wave is not None else None,
        invited_on=invitation.created_at,
        survey_url=f"{base}/s/{token}",
        optout_url=f"{base}/o/{invitation.id}/{signature}",
        expires_at=invitation.expires_at,
    )


def _transfer_without_end(server: smtplib.SMTP, sender: str, recipient: str, body: bytes):
    """MAIL, RCPT, DATA and the body, but not the final ``.`` that makes the server accept it."""
    try:
        server.ehlo_or_helo_if_needed()
        code, reply = server.mail(sender)
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, reply, sender)
        code, reply = server.rcpt(recipient)
        if code not in (250, 251):
            raise smtplib.SMTPRecipientsRefused({recipient: (code, reply)})
        server.putcmd("data")
        code, reply = server.getreply()
        if code != 354:
            raise smtplib.SMTPDataError(code, reply)
        quoted = smtplib._quote_periods(body)
        if not quoted.endswith(b"\r\n"):
            quoted += b"\r\n"
        server.send(quoted)
    except smtplib.SMTPRecipientsRefused as error:
        codes = [code for code, _ in error.recipients.values()]
        _reset(server)
        raise DeliveryError(
            f"the server refused the recipient ({', '.join(map(str, codes))})",
            permanent=all(500 <= code < 600 for code in codes),
        ) from None
    except smtplib.SMTPResponseException as error:
        _reset(server)
        raise DeliveryError(
            f"the server answered {error.smtp_code}", permanent=500 <= error.smtp_code < 600
        ) from None
    except (OSError, smtplib.SMTPException) as error:
        raise DeliveryError(f"the connection failed: {error}", permanent=False) from None


def _end_transfer(server: smtplib.SMTP) -> None:
    try:
        server.send(b".\r\n")
        code, _ = server.getreply()
    except (OSError, smtplib.SMTPException) as error:
        raise DeliveryError(f"the connection failed at the end: {error}", permanent=False) from None
    if code != 250:
        raise DeliveryError(f"the server answered {code} at the end", permanent=500 <= code < 600)


def _reset(server: smtplib.SMTP) -> None:
    with contextlib.suppress(OSError, smtplib.SMTPException):
        server.rset()


def _quit(server: smtplib.SMTP) -> None:
    try:
        server.quit()
    except (OSError, smtplib.SMTPException):
        server.close()


def _after_failure(message, error: DeliveryError, report: SendReport, server):
    if error.permanent or message.attempts >= MAX_ATTEMPTS:
        _give_up(message, str(error), report, bounce=error.permanent)
    else:
        message.due_at = utcnow() + retry_delay(message.attempts)
        message.last_error = str(error)[:500]
        db.session.commit()
        report.retried += 1
    report.errors.append(f"message {message.id}: {error}")
    return server if error.permanent else None


def _give_up(message, reason: str, report: SendReport, *, bounce: bool) -> None:
    """Mark a message failed; a refused address marks its invitation bounced and is erased."""
    message.status = MessageStatus.FAILED
    message.last_error = reason[:500]
    if bounce:
        message.invitation.bounced_at = utcnow()
        erase_contact(message.invitation_id)
        record_audit("sender", "invitation.bounced", f"invitation:{message.invitation_id}")
        report.bounced += 1
    db.session.commit()


def _undo_sent(message_id: int, error: DeliveryError, report: SendReport) -> None:
    """The server refused the message at its very end: it was not sent after all."""
    message = db.session.get(OutboxMessage, message_id)
    message.status = MessageStatus.QUEUED
    message.sent_at = None
    db.session.commit()
    _after_failure(message, error, report, None)


def watch(*, interval: float, stop=lambda: False, on_pass=lambda report: None) -> None:
    """Run :func:`send_pending` every ``interval`` seconds until ``stop()`` is true."""
    while not stop():
        on_pass(send_pending())
        db.session.remove()
        deadline = time.monotonic() + interval
        while not stop() and time.monotonic() < deadline:
            time.sleep(min(0.5, interval))


def database_ready() -> None:
    """Fail early, in one line, when the outbox table is missing."""
    db.session.execute(text("SELECT 1 FROM outbox_message WHERE 1 = 0"))
