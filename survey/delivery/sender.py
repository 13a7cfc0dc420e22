"""The sender: takes due messages from the outbox in small batches and hands them to SMTP over
one connection that stays open for the whole pass.

Exactly-once, as close as SMTP allows. A batch of due messages is claimed by one query that also
reads everything the messages need (invitation, clinician, clinic, dyad, encrypted contact); on
PostgreSQL it locks them (``FOR UPDATE SKIP LOCKED``), so other senders pass them by. Then one
message at a time: its body goes to the server WITHOUT the final ``.`` line; in the same
transaction the row is marked sent by an UPDATE that only matches a row still queued; that is
committed; only then is the ``.`` sent, which is what makes the server accept the message.

- Killed before the commit: the database rolls the open transaction back, so the message and the
  rest of the batch are queued and unlocked again; the server discards the unfinished message
  when the connection drops. It is sent again, once.
- Killed after the commit: the message is marked sent and its final line is a few bytes away.
  The one window where a message can be lost is between the commit and those bytes being
  written: on PostgreSQL a few microseconds, because the final line is written right after the
  COMMIT is, without waiting for its answer (:func:`_commit_and_end`); on SQLite, from the
  commit's return. No window repeats a message.
- The commit also ends the locks on the rest of the batch. Before the next message the sender
  locks the rest again (still queued, still due, ``SKIP LOCKED``): a row another sender took or
  finished in between drops out of the batch. Even without the locks (SQLite has none), a message
  cannot go out twice: the UPDATE that marks it sent matches only a queued row, and a sender
  whose UPDATE matched nothing closes the connection instead of sending the final line.

With ``workers`` (PostgreSQL), one pass runs that many of these loops in threads, each with its
own database connection and SMTP connection: to the queue they are separate senders, so all of
the above holds for each.

benchmarks/delivery_benchmark.py measures it with ``kill -9``.
"""

from __future__ import annotations

import contextlib
import smtplib
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import Row, select, text, update

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
from survey.invitations.service import absolute_url, survey_url
from survey.models import (
    Clinic,
    Clinician,
    Dyad,
    Invitation,
    InvitationState,
    Wave,
    record_audit,
    utcnow,
)

MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=6)
# Messages claimed per query. Larger batches save claim queries but cost more re-locking after
# each commit (every remaining row of the batch is locked again); 20 keeps both small.
BATCH_SIZE = 20
OPEN_STATES = (InvitationState.PENDING, InvitationState.OPENED, InvitationState.STARTED)


class EmailOffError(RuntimeError):
    """``SMTP_URL`` is not set, so no message can leave."""


class UnconfirmedError(DeliveryError):
    """The final line was written but no answer came: the server may have accepted the message.
    It stays marked sent, since sending it again could repeat it."""

    def __init__(self, message: str):
        super().__init__(message, permanent=False)


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

    @property
    def tried(self) -> int:
        return self.sent + self.bounced + self.retried

    def add(self, other: SendReport) -> None:
        """Count another worker's sending in this report."""
        self.sent += other.sent
        self.retried += other.retried
        self.bounced += other.bounced
        self.cancelled += other.cancelled
        self.errors.extend(other.errors)

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


class Connection:
    """The SMTP connection a pass keeps open across messages; opened when first needed and
    again after trouble."""

    def __init__(self, settings: SmtpSettings):
        self.settings = settings
        self.server: smtplib.SMTP | None = None

    def open(self) -> smtplib.SMTP:
        if self.server is None:
            self.server = connect(self.settings)
        return self.server

    def drop(self) -> None:
        """Close at once, without QUIT: in the middle of DATA a QUIT would be read as message
        text, while a closed connection makes the server discard the unfinished message."""
        if self.server is not None:
            self.server.close()
            self.server = None

    def quit(self) -> None:
        if self.server is None:
            return
        try:
            self.server.quit()
        except (OSError, smtplib.SMTPException):
            self.server.close()
        self.server = None


def send_pending(
    *, limit: int | None = None, now: datetime | None = None, workers: int = 1
) -> SendReport:
    """One pass: erase closed contacts, queue due reminders, send every due message.

    ``workers`` (PostgreSQL only) sends over that many SMTP connections at once, each worker in
    a thread with its own database connection; they share the queue as separate senders do.
    """
    settings = smtp_settings()
    report = SendReport()
    report.contacts_erased = erase_closed_contacts(now)
    report.reminders_queued = schedule_reminders(now)
    if workers == 1 or limit is not None or not _is_postgresql():
        _drain(settings, report, limit, now)
        return report
    app = current_app._get_current_object()
    with ThreadPoolExecutor(workers) as pool:
        for part in pool.map(lambda _: _drain_in(app, settings, now), range(workers)):
            report.add(part)
    return report


def _drain(settings: SmtpSettings, report: SendReport, limit: int | None, now) -> None:
    """Claim and send batches until none is due (or ``limit`` messages were tried)."""
    connection = Connection(settings)
    try:
        while limit is None or report.tried < limit:
            size = BATCH_SIZE if limit is None else min(BATCH_SIZE, limit - report.tried)
            batch = _claim_batch(now or utcnow(), size)
            if not batch or not _send_batch(batch, connection, report, now or utcnow()):
                break
    finally:
        db.session.rollback()
        connection.quit()


def _drain_in(app, settings: SmtpSettings, now) -> SendReport:
    """:func:`_drain` in a worker thread, with a database session of its own."""
    report = SendReport()
    with app.app_context():
        try:
            _drain(settings, report, None, now)
        finally:
            db.session.remove()
    return report


def _run(statement):
    """Execute a Core statement in the session's transaction, past the ORM's bookkeeping: the
    sender changes rows by id and holds no ORM objects of them (a third of the work per
    statement)."""
    return db.session.connection().execute(statement)


def _is_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _claim_batch(now: datetime, size: int) -> list[Row]:
    """Lock up to ``size`` due messages, with all they need to be rendered, in one query; the
    transaction stays open for :func:`_send_batch`."""
    due = (
        select(
            OutboxMessage.id,
            OutboxMessage.kind,
            OutboxMessage.invitation_id,
            Invitation.state,
            Invitation.expires_at,
            Invitation.opted_out_at,
            Invitation.bounced_at,
            Invitation.sent_at.label("invitation_sent_at"),
            Invitation.language,
            Invitation.created_at.label("invited_on"),
            Clinician.name.label("clinician"),
            Clinic.name.label("clinic"),
            Dyad.reference,
            InvitationContact.id.label("contact_id"),
            InvitationContact.address_encrypted,
            InvitationContact.token_encrypted,
        )
        .join(Invitation, Invitation.id == OutboxMessage.invitation_id)
        .join(Clinician, Clinician.id == Invitation.clinician_id)
        .join(Clinic, Clinic.id == Clinician.clinic_id)
        .outerjoin(Wave, Wave.id == Invitation.wave_id)
        .outerjoin(Dyad, Dyad.id == Wave.dyad_id)
        .outerjoin(InvitationContact, InvitationContact.invitation_id == Invitation.id)
        .where(OutboxMessage.status == MessageStatus.QUEUED, OutboxMessage.due_at <= now)
        .order_by(OutboxMessage.due_at, OutboxMessage.id)
        .limit(size)
    )
    if _is_postgresql():
        due = due.with_for_update(skip_locked=True, of=OutboxMessage)
    batch = list(_run(due))
    if not batch:
        db.session.rollback()
    return batch


def _lock_again(pending: list[Row], now: datetime) -> list[Row]:
    """After a commit (which ended every lock), the batch's rows this sender may still send."""
    ids = [message.id for message in pending]
    mine = select(OutboxMessage.id).where(
        OutboxMessage.id.in_(ids),
        OutboxMessage.status == MessageStatus.QUEUED,
        OutboxMessage.due_at <= now,
    )
    if _is_postgresql():
        mine = mine.with_for_update(skip_locked=True)
    still = set(_run(mine).scalars())
    return [message for message in pending if message.id in still]


def _send_batch(
    batch: list[Row], connection: Connection, report: SendReport, now: datetime
) -> bool:
    """Send a claimed batch, one message per commit; False when the SMTP server is out of reach
    (the rest of the batch is left queued, untouched)."""
    pending = list(batch)
    while pending:
        message = pending.pop(0)
        if not _deliver(message, connection, report):
            db.session.rollback()
            return False
        if pending and not db.session().in_transaction():
            pending = _lock_again(pending, now)
    db.session.commit()  # cancellations that no later message's commit carried
    return True


def _still_wanted(message: Row, now: datetime) -> bool:
    return (
        message.contact_id is not None
        and message.state in OPEN_STATES
        and message.expires_at > now
        and message.opted_out_at is None
        and message.bounced_at is None
    )


def _deliver(message: Row, connection: Connection, report: SendReport) -> bool:
    """Send one claimed message; False only when no connection to the server can be opened.

    Every outcome but a cancellation commits; a cancellation rides along with the next commit
    (rolled back, it is simply found and cancelled again by the next pass).
    """
    now = utcnow()
    if not _still_wanted(message, now):
        _cancel(message.id)
        report.cancelled += 1
        return True
    try:
        address, token = read_contact(message)
    except ContactError as error:
        _give_up(message, str(error), report, bounce=False)
        return True
    try:
        server = connection.open()
    except DeliveryError as error:
        report.errors.append(str(error))
        return False
    body = render(_context(message, connection.settings, address, token))
    try:
        _transfer_without_end(server, connection.settings.sender, address, body)
    except DeliveryError as error:
        if not error.permanent:  # the connection is in doubt: open a new one
            connection.drop()
        _record_failure(message, error, report)
        return True
    if not _mark_sent(message, now):
        # Another sender marked it first (possible only without row locks): abandon this copy.
        db.session.rollback()
        connection.drop()
        return True
    try:
        _commit_and_end(message, server, now)
        _await_acceptance(server)
    except UnconfirmedError as error:
        connection.drop()
        _set_status(message.id, MessageStatus.SENT, last_error=str(error)[:500])
        db.session.commit()
        report.errors.append(f"message {message.id}: {error}")
    except DeliveryError as error:
        if not error.permanent:
            connection.drop()
        _undo_sent(message, error, report)
        return True
    report.sent += 1
    return True


def _mark_sent(message: Row, now: datetime) -> bool:
    """Mark the message sent (not yet committed); False if it is no longer queued."""
    marked = _run(
        update(OutboxMessage)
        .where(OutboxMessage.id == message.id, OutboxMessage.status == MessageStatus.QUEUED)
        .values(
            status=MessageStatus.SENT,
            sent_at=now,
            last_error=None,
            attempts=OutboxMessage.attempts + 1,
        ),
    ).rowcount
    if marked != 1:
        return False
    if message.invitation_sent_at is None:
        _run(
            update(Invitation)
            .where(Invitation.id == message.invitation_id, Invitation.sent_at.is_(None))
            .values(sent_at=now),
        )
    return True


def _commit_and_end(message: Row, server: smtplib.SMTP, now: datetime) -> None:
    """Commit the mark "sent", then write the message's final line.

    With PostgreSQL (psycopg) the final line goes out as soon as COMMIT is written to the
    database's socket, without waiting for the answer: the database commits what it has received
    even if this process dies the next instant (a killed client's connection ends after the bytes
    it wrote). So the window in which ``kill -9`` loses a message is the few microseconds between
    two writes, not the commit's round trip and flush to disk. Should the COMMIT fail after all,
    the message has gone, and it is marked sent again in a transaction of its own.
    """
    bind = db.session.get_bind()
    if (bind.dialect.name, bind.dialect.driver) != ("postgresql", "psycopg"):
        db.session.commit()
        _write_end(server)
        return
    from psycopg import generators

    driver = db.session.connection().connection.driver_connection
    with driver.lock:
        driver.pgconn.send_query(b"COMMIT")
        driver.wait(generators.send(driver.pgconn))
    try:
        _write_end(server)
    finally:
        committed = _commit_answered(driver)
    if not committed:
        _set_status(message.id, MessageStatus.SENT, sent_at=now, last_error=None)
        db.session.commit()


def _commit_answered(driver) -> bool:
    """Read the answer to a COMMIT sent by :func:`_commit_and_end`; end the session's
    transaction to match (psycopg sees no transaction left, so it sends nothing more)."""
    from psycopg import generators
    from psycopg.pq import ExecStatus

    with driver.lock:
        results = driver.wait(generators.fetch_many(driver.pgconn))
    committed = [(result.status, result.command_status) for result in results] == [
        (ExecStatus.COMMAND_OK, b"COMMIT")
    ]
    if committed:
        db.session.commit()
    else:
        db.session.rollback()
    return committed


def _context(message: Row, settings: SmtpSettings, address: str, token: str) -> MessageContext:
    signature = optout_signature(current_app.config["SECRET_KEY"], message.invitation_id)
    return MessageContext(
        message_id=message.id,
        kind=message.kind,
        language=message.language,
        recipient=address,
        sender=settings.sender,
        clinic=message.clinic,
        clinician=message.clinician,
        patient_reference=message.reference,
        invited_on=message.invited_on,
        survey_url=survey_url(token),
        optout_url=absolute_url(f"/o/{message.invitation_id}/{signature}"),
        expires_at=message.expires_at,
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


def _write_end(server: smtplib.SMTP) -> None:
    """The final ``.`` line: from here on the server may accept the message."""
    try:
        server.send(b".\r\n")
    except (OSError, smtplib.SMTPException) as error:
        raise DeliveryError(f"the connection failed at the end: {error}", permanent=False) from None


def _await_acceptance(server: smtplib.SMTP) -> None:
    try:
        code, _ = server.getreply()
    except (OSError, smtplib.SMTPException) as error:
        raise UnconfirmedError(
            f"no answer after the end of the message ({error}): kept as sent, not repeated; "
            "it may not have arrived"
        ) from None
    if code != 250:
        raise DeliveryError(f"the server answered {code} at the end", permanent=500 <= code < 600)


def _reset(server: smtplib.SMTP) -> None:
    with contextlib.suppress(OSError, smtplib.SMTPException):
        server.rset()


def _set_status(message_id: int, status: MessageStatus, **values) -> None:
    _run(
        update(OutboxMessage).where(OutboxMessage.id == message_id).values(status=status, **values),
    )


def _cancel(message_id: int) -> None:
    """Cancel a message still queued (never one another sender has sent meanwhile)."""
    _run(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == MessageStatus.QUEUED)
        .values(status=MessageStatus.CANCELLED)
    )


def _record_failure(message: Row, error: DeliveryError, report: SendReport) -> None:
    """Count the try; retry later with backoff, or give up on a permanent error or the last try."""
    attempts = _run(
        update(OutboxMessage)
        .where(OutboxMessage.id == message.id)
        .values(attempts=OutboxMessage.attempts + 1)
        .returning(OutboxMessage.attempts),
    ).scalar_one()
    _after_failure(message, attempts, error, report)


def _after_failure(message: Row, attempts: int, error: DeliveryError, report: SendReport):
    if error.permanent or attempts >= MAX_ATTEMPTS:
        _give_up(message, str(error), report, bounce=error.permanent)
    else:
        _set_status(
            message.id,
            MessageStatus.QUEUED,
            due_at=utcnow() + retry_delay(attempts),
            last_error=str(error)[:500],
        )
        db.session.commit()
        report.retried += 1
    report.errors.append(f"message {message.id}: {error}")


def _give_up(message: Row, reason: str, report: SendReport, *, bounce: bool) -> None:
    """Mark a message failed; a refused address marks its invitation bounced and is erased."""
    _set_status(message.id, MessageStatus.FAILED, last_error=reason[:500])
    if bounce:
        _run(
            update(Invitation)
            .where(Invitation.id == message.invitation_id)
            .values(bounced_at=utcnow()),
        )
        erase_contact(message.invitation_id)
        record_audit("sender", "invitation.bounced", f"invitation:{message.invitation_id}")
        report.bounced += 1
    db.session.commit()


def _undo_sent(message: Row, error: DeliveryError, report: SendReport) -> None:
    """The server refused the message at its very end: it was not sent after all (the try was
    already counted when it was marked sent)."""
    attempts = _run(
        update(OutboxMessage)
        .where(OutboxMessage.id == message.id)
        .values(status=MessageStatus.QUEUED, sent_at=None)
        .returning(OutboxMessage.attempts),
    ).scalar_one()
    _after_failure(message, attempts, error, report)


def watch(
    *, interval: float, workers: int = 1, stop=lambda: False, on_pass=lambda report: None
) -> None:
    """Run :func:`send_pending` every ``interval`` seconds until ``stop()`` is true."""
    while not stop():
        on_pass(send_pending(workers=workers))
        db.session.remove()
        deadline = time.monotonic() + interval
        while not stop() and time.monotonic() < deadline:
            time.sleep(min(0.5, interval))


def database_ready() -> None:
    """Fail early, in one line, when the outbox table is missing."""
    db.session.execute(text("SELECT 1 FROM outbox_message WHERE 1 = 0"))
