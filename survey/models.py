"""The survey's stored records: clinics, clinicians, dyads measured in waves, invitations,
responses with one row per answer, and the audit log.

Patient identity is never stored: a dyad carries at most a pseudonymous reference that the clinic
controls. Tokens are stored only as hashes.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from survey.extensions import db


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware UTC datetime")
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class InvitationState(enum.StrEnum):
    PENDING = "pending"
    OPENED = "opened"
    STARTED = "started"
    SUBMITTED = "submitted"
    REVOKED = "revoked"


OPEN_STATES = (InvitationState.PENDING, InvitationState.OPENED, InvitationState.STARTED)


class Clinic(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Days after the invitation went out on which a reminder goes to those who have not answered.
    reminder_days: Mapped[str] = mapped_column(String(64), default="3,7", server_default="3,7")
    # A retired clinic keeps its history and gets no new invitations.
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # How long answers are kept, and whether they are then deleted or kept only de-identified
    # (see survey.operations.retention).
    retention_years: Mapped[int] = mapped_column(default=10, server_default="10")
    retention_mode: Mapped[str] = mapped_column(
        String(16), default="delete", server_default="delete"
    )
    # How the forms name the clinician: a key of the item bank's clinician_terms ("clinician",
    # "doctor", "nurse_practitioner"), worded in each language by the bank (survey.clinics).
    clinician_term: Mapped[str] = mapped_column(
        String(32), default="clinician", server_default="clinician"
    )
    # Days after submission during which a patient may withdraw their answers from their link
    # (0: no withdrawal). Each response keeps the deadline it was given (withdrawable_until).
    withdrawal_days: Mapped[int] = mapped_column(default=30, server_default="30")

    clinicians: Mapped[list[Clinician]] = relationship(back_populates="clinic")

    __table_args__ = (
        CheckConstraint("retention_years >= 1", name="retention_years_positive"),
        CheckConstraint("retention_mode IN ('delete', 'deidentify')", name="known_retention_mode"),
        CheckConstraint(
            "withdrawal_days >= 0 AND withdrawal_days <= 365", name="withdrawal_days_in_range"
        ),
    )


class Clinician(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A retired clinician keeps their history and gets no new invitations.
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    clinic: Mapped[Clinic] = relationship(back_populates="clinicians")
    dyads: Mapped[list[Dyad]] = relationship(back_populates="clinician")

    __table_args__ = (UniqueConstraint("clinic_id", "name"),)


class Dyad(db.Model):
    """One patient-clinician relationship. The patient is known only by ``reference``."""

    id: Mapped[int] = mapped_column(primary_key=True)
    clinician_id: Mapped[int] = mapped_column(ForeignKey("clinician.id"), index=True)
    reference: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    clinician: Mapped[Clinician] = relationship(back_populates="dyads")
    waves: Mapped[list[Wave]] = relationship(back_populates="dyad", order_by="Wave.number")

    __table_args__ = (UniqueConstraint("clinician_id", "reference"),)


class Wave(db.Model):
    """One measurement occasion of a dyad; abiding is about time, so a dyad has several."""

    id: Mapped[int] = mapped_column(primary_key=True)
    dyad_id: Mapped[int] = mapped_column(ForeignKey("dyad.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set once, when the dyad wave joins a release block (survey.release); never changed after.
    release_block_id: Mapped[int | None] = mapped_column(ForeignKey("release_block.id"), index=True)
    # The appointment this wave follows (from an appointment list); the tablet shows today's.
    appointment_on: Mapped[date | None] = mapped_column(Date, index=True)

    dyad: Mapped[Dyad] = relationship(back_populates="waves")
    invitations: Mapped[list[Invitation]] = relationship(back_populates="wave")

    __table_args__ = (
        UniqueConstraint("dyad_id", "number"),
        CheckConstraint("number >= 1", name="wave_number_positive"),
    )


class Invitation(db.Model):
    """A single-use link to one form. ``wave`` is empty for a clinician self-assessment."""

    id: Mapped[int] = mapped_column(primary_key=True)
    form: Mapped[str] = mapped_column(String(32))
    clinician_id: Mapped[int] = mapped_column(ForeignKey("clinician.id"), index=True)
    wave_id: Mapped[int | None] = mapped_column(ForeignKey("wave.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    state: Mapped[str] = mapped_column(String(16), default=InvitationState.PENDING)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Delivery: the language messages and the form start in, when the first message left,
    # when the address bounced, when the patient asked for no more messages.
    language: Mapped[str | None] = mapped_column(String(16))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    bounced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When this link first declined the consent question: one link counts one decline however
    # often No is pressed (the decline counts are what an ethics board reads).
    consent_declined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    clinician: Mapped[Clinician] = relationship()
    wave: Mapped[Wave | None] = relationship(back_populates="invitations")
    response: Mapped[Response | None] = relationship(back_populates="invitation")

    __table_args__ = (
        CheckConstraint(
            "form IN ('patient', 'clinician-dyad', 'clinician-self')", name="known_form"
        ),
        CheckConstraint(
            "state IN ('pending', 'opened', 'started', 'submitted', 'revoked')", name="known_state"
        ),
        CheckConstraint(
            "(form = 'clinician-self') = (wave_id IS NULL)", name="wave_unless_self_assessment"
        ),
    )

    def is_expired(self, now: datetime | None = None) -> bool:
        return (now or utcnow()) >= self.expires_at


class Response(db.Model):
    """One respondent's pass through one invitation's form."""

    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int] = mapped_column(ForeignKey("invitation.id"), unique=True)
    form: Mapped[str] = mapped_column(String(32))
    bank_version: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(16))
    user_agent_class: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_saved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    resume_section: Mapped[int] = mapped_column(Integer, default=0)
    # Set when retention kept this response only de-identified (dates coarsened to the year).
    deidentified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The information text shown before the first question (survey.consent), and what the
    # respondent did with it: "agreed" to the consent question, or "informed" (no question).
    consent_text_id: Mapped[int | None] = mapped_column(ForeignKey("consent_text.id"), index=True)
    consent_answer: Mapped[str | None] = mapped_column(String(16))
    # Until when the patient may withdraw these answers; fixed at submission from the clinic's
    # period, so a later change of the period never reopens a released response.
    withdrawable_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    invitation: Mapped[Invitation] = relationship(back_populates="response")
    answers: Mapped[list[Answer]] = relationship(
        back_populates="response", cascade="all, delete-orphan"
    )

    __table_args__ = (
        CheckConstraint(
            "consent_answer IS NULL OR consent_answer IN ('agreed', 'informed')",
            name="known_consent_answer",
        ),
        CheckConstraint(
            "(consent_answer IS NULL) = (consent_text_id IS NULL)", name="consent_with_its_text"
        ),
    )


class Answer(db.Model):
    """One item's answer: a scale value, or a code ("not_applicable", "skipped"), never both."""

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("response.id", ondelete="CASCADE"))
    item_id: Mapped[str] = mapped_column(String(64))
    bank_version: Mapped[str] = mapped_column(String(32))
    value: Mapped[int | None] = mapped_column(Integer)
    code: Mapped[str | None] = mapped_column(String(16))

    response: Mapped[Response] = relationship(back_populates="answers")

    __table_args__ = (
        UniqueConstraint("response_id", "item_id"),
        CheckConstraint("(value IS NULL) <> (code IS NULL)", name="value_or_code"),
        CheckConstraint("code IS NULL OR code IN ('not_applicable', 'skipped')", name="known_code"),
    )


class AuditEvent(db.Model):
    """Who did what, when: invitations, submissions, exports, sign-ins.

    Entries form a hash chain (``seq``, ``hash``), filled in when the entry is flushed; see
    survey.audit.chain.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[dict | None] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)
    seq: Mapped[int] = mapped_column(unique=True)
    hash: Mapped[str] = mapped_column(String(64))


def record_audit(actor: str, action: str, target: str | None = None, **detail) -> AuditEvent:
    """Add an audit event to the current session; the caller's commit stores it."""
    event = AuditEvent(actor=actor, action=action, target=target, detail=detail or None)
    db.session.add(event)
    return event


class Role(enum.StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    CLINICIAN = "clinician"
    RESEARCHER = "researcher"


class User(db.Model):
    """A staff account. Patients never have one; they answer through invitation links.

    A manager belongs to one clinic; a clinician account is tied to its clinician row; a
    researcher sees clinicians' names only where ``can_see_names`` was granted by an admin.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    clinic_id: Mapped[int | None] = mapped_column(ForeignKey("clinic.id"), index=True)
    clinician_id: Mapped[int | None] = mapped_column(ForeignKey("clinician.id"), unique=True)
    can_see_names: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    clinic: Mapped[Clinic | None] = relationship()
    clinician: Mapped[Clinician | None] = relationship()
    api_tokens: Mapped[list[ApiToken]] = relationship(back_populates="user")

    __table_args__ = (
        CheckConstraint(
            "role IN ('admin', 'manager', 'clinician', 'researcher')", name="known_role"
        ),
        CheckConstraint("role <> 'manager' OR clinic_id IS NOT NULL", name="manager_has_clinic"),
        CheckConstraint(
            "role <> 'clinician' OR clinician_id IS NOT NULL", name="clinician_has_clinician"
        ),
    )


class ApiToken(db.Model):
    """A bearer token for the JSON API, tied to an account and so to its role; hash only."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(back_populates="api_tokens")


class StaffSession(db.Model):
    """A signed-in browser session of a staff account, kept on the server so that signing out,
    a new password or a deactivated account ends it everywhere. The cookie holds a random token;
    only its hash is stored."""

    __tablename__ = "staff_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(16))

    user: Mapped[User] = relationship()


class SignInThrottle(db.Model):
    """Sign-in attempts per key (an account at an address, or an address), counted atomically.

    ``key`` is a SHA-256 hash, so no e-mail address or IP address is stored here. Times are Unix
    seconds so that one portable ``UPDATE ... SET not_before = now + delay`` works on every
    backend.
    """

    __tablename__ = "sign_in_throttle"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer)
    not_before: Mapped[float] = mapped_column(Float)
    updated: Mapped[float] = mapped_column(Float, index=True)


class ReleaseBlock(db.Model):
    """A fixed group of settled dyad waves whose answers are shown together (survey.release).

    One clinician, one wave number, one kind of dyad wave ("pair": both forms answered,
    "patient" or "clinician": only that one), one patient language, at least
    ``HEALING_SURVEY_MIN_CELL`` dyad waves.
    Every aggregate is a union of whole blocks; membership never changes after release.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    clinician_id: Mapped[int] = mapped_column(ForeignKey("clinician.id"), index=True)
    wave_number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    # The patient's language of every dyad wave in the block (what the dashboard's language
    # filter selects); None for a block whose members' language is unknown or mixed (released
    # before blocks were split by language), which only views without that filter take.
    language: Mapped[str | None] = mapped_column(String(16), index=True)
    released_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The month (YYYY-MM, UTC) of the newest submission in the block: what date filters select.
    period_month: Mapped[str] = mapped_column(String(7), index=True)
    dyad_waves: Mapped[int] = mapped_column(Integer)
    patient_responses: Mapped[int] = mapped_column(Integer)
    clinician_responses: Mapped[int] = mapped_column(Integer)
    complete_pairs: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        CheckConstraint("kind IN ('pair', 'patient', 'clinician')", name="known_kind"),
    )


class StaffLink(db.Model):
    """A one-time link e-mailed to a colleague: set up a new account, or reset a password.

    Only a hash of the token is stored; a link works once (``used_at``) and until ``expires_at``.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    __table_args__ = (CheckConstraint("purpose IN ('set-up', 'reset')", name="known_purpose"),)


class InvitationCard(db.Model):
    """A printed card's copy of an invitation's link, and the short code typed instead of it.

    The link's token is kept encrypted with the contact key (a card must be printable again),
    the short code only as a keyed hash. Deleted when the invitation is revoked or reissued.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int] = mapped_column(
        ForeignKey("invitation.id", ondelete="CASCADE"), unique=True
    )
    code_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    token_encrypted: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    invitation: Mapped[Invitation] = relationship()


class AttemptCounter(db.Model):
    """Attempts counted per key and minute (typed codes), shared by every app process."""

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    minute: Mapped[int] = mapped_column(Integer, primary_key=True)  # since the epoch
    count: Mapped[int] = mapped_column(Integer, default=0)


class InvitationUpload(db.Model):
    """An appointment list between its preview and its confirmation: encrypted, short-lived."""

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="CASCADE"))
    checksum: Mapped[str] = mapped_column(String(64))
    content_encrypted: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditChainHead(db.Model):
    """The audit chain's last link (one row): writers lock it, so the chain never forks, and
    ``audit verify`` compares it with the last entry, so deleting the newest entries shows."""

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
