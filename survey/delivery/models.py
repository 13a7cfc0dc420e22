"""What delivery stores: the encrypted contact of an open invitation, and the outbox.

A contact row is the only patient identity the system ever holds; it exists only while its
invitation is open and is deleted when the invitation closes. The outbox holds no address and no
text: a message is rendered when it is sent, from the invitation and its contact.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.extensions import db
from survey.models import Invitation, UTCDateTime, utcnow


class Channel(enum.StrEnum):
    EMAIL = "email"


class MessageKind(enum.StrEnum):
    INVITATION = "invitation"
    REMINDER = "reminder"
    CLINICIAN_INVITATION = "clinician-invitation"


class MessageStatus(enum.StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"  # permanent: the address bounced, or retries ran out
    CANCELLED = "cancelled"  # the invitation closed before the message was due


class InvitationContact(db.Model):
    """Where to reach one invitation's respondent, encrypted; deleted when the invitation closes.

    ``token_encrypted`` keeps the link's token (stored elsewhere only as a hash) so that the
    invitation and its reminders can carry the link; it goes with the address.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int] = mapped_column(
        ForeignKey("invitation.id", ondelete="CASCADE"), unique=True
    )
    channel: Mapped[str] = mapped_column(String(16), default=Channel.EMAIL)
    address_encrypted: Mapped[str] = mapped_column(Text)
    token_encrypted: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    invitation: Mapped[Invitation] = relationship()

    __table_args__ = (CheckConstraint("channel IN ('email')", name="known_channel"),)


class OutboxMessage(db.Model):
    """One message to send: which invitation, what kind, when it is due, and how it went.

    ``sequence`` numbers the reminders of one invitation (0 for the invitation itself), so that
    a message can be queued only once whatever number of senders schedule at the same time.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), default=Channel.EMAIL)
    kind: Mapped[str] = mapped_column(String(32))
    invitation_id: Mapped[int] = mapped_column(ForeignKey("invitation.id", ondelete="CASCADE"))
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default=MessageStatus.QUEUED)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    invitation: Mapped[Invitation] = relationship()

    __table_args__ = (
        UniqueConstraint("invitation_id", "kind", "sequence"),
        Index("ix_outbox_message_due", "status", "due_at"),
        CheckConstraint("channel IN ('email')", name="known_channel"),
        CheckConstraint(
            "kind IN ('invitation', 'reminder', 'clinician-invitation')", name="known_kind"
        ),
        CheckConstraint("status IN ('queued', 'sent', 'failed', 'cancelled')", name="known_status"),
    )
