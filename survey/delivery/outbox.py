"""Putting messages into the outbox: the invitation when it is created with an address, and the
reminders that fall due for invitations still unanswered.

Queuing is idempotent: a message is identified by (invitation, kind, sequence), so several
senders scheduling reminders at once queue each reminder once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import exists, func, select
from sqlalchemy.dialects import postgresql, sqlite

from survey.delivery.models import InvitationContact, MessageKind, OutboxMessage
from survey.extensions import db
from survey.models import Clinic, Clinician, Invitation, InvitationState, utcnow

MAX_REMINDERS = 5
MAX_REMINDER_DAY = 90


class ScheduleError(ValueError):
    """A reminder schedule that cannot be used; the message names it."""


def parse_reminder_days(raw: str) -> list[int]:
    """A clinic's reminder schedule: days after the invitation, e.g. ``"3,7"``; ``""`` for none.

    Examples
    --------
    >>> parse_reminder_days("3, 7")
    [3, 7]
    >>> parse_reminder_days("")
    []
    >>> parse_reminder_days("7,3")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ...
    survey.delivery.outbox.ScheduleError: reminder days must increase
    """
    text = (raw or "").replace(" ", "")
    if not text:
        return []
    try:
        days = [int(part) for part in text.split(",")]
    except ValueError:
        days = []
    valid = (
        days
        and len(days) <= MAX_REMINDERS
        and all(1 <= day <= MAX_REMINDER_DAY for day in days)
        and days == sorted(set(days))
    )
    if not valid:
        raise ScheduleError(
            f"reminder days {raw!r}: expected whole days in increasing order, from 1 to "
            f"{MAX_REMINDER_DAY}, at most {MAX_REMINDERS} of them (e.g. 3,7)"
        )
    return days


def _insert_once(rows: list[dict]) -> int:
    """Insert outbox rows, skipping any (invitation, kind, sequence) already queued."""
    if not rows:
        return 0
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(OutboxMessage).on_conflict_do_nothing(
        index_elements=["invitation_id", "kind", "sequence"]
    )
    return len(db.session.execute(statement.returning(OutboxMessage.id), rows).all())


def queue_message(invitation: Invitation, kind: MessageKind, *, sequence: int = 0) -> None:
    """Queue one message for ``invitation`` (the caller commits, with the invitation)."""
    db.session.add(
        OutboxMessage(invitation=invitation, kind=kind, sequence=sequence, due_at=utcnow())
    )


def schedule_reminders(now: datetime | None = None) -> int:
    """Queue every reminder that has fallen due; returns how many were queued.

    A reminder is due ``d`` days after the invitation was first sent, for each ``d`` of the
    clinic's schedule, while the invitation is open (not submitted, revoked, expired, bounced or
    opted out) and still has an address.
    """
    now = now or utcnow()
    last_reminder = (
        select(func.coalesce(func.max(OutboxMessage.sequence), 0))
        .where(
            OutboxMessage.invitation_id == Invitation.id,
            OutboxMessage.kind == MessageKind.REMINDER,
        )
        .scalar_subquery()
    )
    open_with_contact = (
        select(Invitation.id, Invitation.sent_at, Clinic.reminder_days, last_reminder)
        .join(Clinician, Clinician.id == Invitation.clinician_id)
        .join(Clinic, Clinic.id == Clinician.clinic_id)
        .where(
            Invitation.state.in_(
                [InvitationState.PENDING, InvitationState.OPENED, InvitationState.STARTED]
            ),
            Invitation.sent_at.is_not(None),
            Invitation.expires_at > now,
            Invitation.bounced_at.is_(None),
            Invitation.opted_out_at.is_(None),
            exists().where(InvitationContact.invitation_id == Invitation.id),
        )
    )
    rows = []
    schedules: dict[str, list[int]] = {}
    for invitation_id, sent_at, reminder_days, last in db.session.execute(open_with_contact):
        if reminder_days not in schedules:
            try:
                schedules[reminder_days] = parse_reminder_days(reminder_days)
            except ScheduleError:
                schedules[reminder_days] = []
        due_count = sum(sent_at + timedelta(days=day) <= now for day in schedules[reminder_days])
        # Only the newest reminder that fell due: a sender that was down for a week sends one
        # reminder, not two at once.
        if due_count > last:
            rows.append(
                {
                    "invitation_id": invitation_id,
                    "kind": MessageKind.REMINDER,
                    "sequence": due_count,
                    "status": "queued",
                    "due_at": now,
                    "attempts": 0,
                    "channel": "email",
                    "created_at": now,
                }
            )
    queued = _insert_once(rows)
    db.session.commit()
    return max(queued, 0)
