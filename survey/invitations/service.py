"""Invitations: one single-use link per form, stored only as a hash of its token; creating a
dyad wave (with an optional e-mail address to deliver it), and revoking, extending and
reissuing links.

Links are absolute: every URL the app prints or shows starts with ``BASE_URL``.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import gettext
from sqlalchemy import delete, func, select

from survey.delivery.contacts import ContactError, attach_contact, erase_contact, normalise_address
from survey.delivery.models import InvitationContact, MessageKind, OutboxMessage
from survey.delivery.sealed import seal
from survey.extensions import db
from survey.i18n import respondent_languages
from survey.models import (
    OPEN_STATES,
    Clinician,
    Dyad,
    Invitation,
    InvitationCard,
    InvitationState,
    Wave,
    record_audit,
    utcnow,
)

TOKEN_BYTES = 24  # 192 bits of randomness; DESIGN.md asks for at least 128.
DYAD_FORMS = ("patient", "clinician-dyad")
DEFAULT_EXPIRES_DAYS = 30
MAX_EXPIRES_DAYS = 3650
MAX_REFERENCE_LENGTH = 64


class InvitationError(ValueError):
    """A request for an invitation that cannot be met (unknown clinician, bad wave...).

    The messages a staff page can show go through gettext (the page's language); the CLI has
    no request, so it always gets English.
    """


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def survey_path(token: str) -> str:
    return f"/s/{token}"


def absolute_url(path: str) -> str:
    """``path`` under ``BASE_URL``: how every link the app prints or shows is written."""
    return current_app.config["BASE_URL"].rstrip("/") + path


def survey_url(token: str) -> str:
    return absolute_url(survey_path(token))


def find_invitation(token: str) -> Invitation | None:
    """The invitation a token opens, or None; a malformed token is simply unknown."""
    if not token or len(token) > 100:
        return None
    return db.session.scalar(select(Invitation).where(Invitation.token_hash == hash_token(token)))


def languages() -> tuple[str, ...]:
    """The languages an invitation may name: those a form can be answered in."""
    return respondent_languages()


def check_language(language: str | None) -> str | None:
    if language is None or not language.strip():
        return None
    language = language.strip().lower()
    if language not in languages():
        raise InvitationError(
            gettext(
                "language %(language)s: expected one of %(languages)s",
                language=repr(language),
                languages=", ".join(languages()),
            )
        )
    return language


def check_reference(reference: str | None) -> str | None:
    if reference is None:
        return None
    reference = reference.strip()
    if not reference:
        return None
    if len(reference) > MAX_REFERENCE_LENGTH:
        raise InvitationError(
            gettext(
                "reference %(reference)s...: longer than %(limit)s characters",
                reference=repr(reference[:20]),
                limit=MAX_REFERENCE_LENGTH,
            )
        )
    return reference


def check_expires_days(expires_days: int) -> int:
    if not 1 <= expires_days <= MAX_EXPIRES_DAYS:
        raise InvitationError(
            gettext(
                "expires days %(days)s: expected 1 to %(maximum)s (the default is %(default)s)",
                days=expires_days,
                maximum=MAX_EXPIRES_DAYS,
                default=DEFAULT_EXPIRES_DAYS,
            )
        )
    return expires_days


def is_retired(clinician: Clinician) -> bool:
    """A retired clinician, or one of a retired clinic, keeps their history and gets no new
    invitations."""
    return clinician.retired_at is not None or clinician.clinic.retired_at is not None


@dataclass(frozen=True)
class DyadWaveLinks:
    dyad: int
    wave: int
    reference: str | None
    patient_url: str
    clinician_url: str
    expires_at: str
    patient_invitation: int | None = None
    clinician_invitation: int | None = None
    note: str | None = None  # e.g. that an explicit wave number leaves a gap

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class SelfAssessmentLink:
    clinician: int
    url: str
    expires_at: str

    def to_dict(self) -> dict:
        return asdict(self)


def _clinician(clinician_id: int) -> Clinician:
    clinician = db.session.get(Clinician, clinician_id)
    if clinician is None:
        raise InvitationError(
            f"there is no clinician with id {clinician_id};"
            " 'healing-survey clinician list' shows them"
        )
    if clinician.retired_at is not None:
        raise InvitationError(
            gettext(
                "clinician %(id)s (%(name)s) is retired and gets no new invitations",
                id=clinician.id,
                name=clinician.name,
            )
        )
    if clinician.clinic.retired_at is not None:
        raise InvitationError(
            gettext(
                "the clinic %(name)s is retired and gets no new invitations",
                name=repr(clinician.clinic.name),
            )
        )
    return clinician


def _expiry(expires_days: int) -> datetime:
    return utcnow() + timedelta(days=check_expires_days(expires_days))


def _add_invitation(
    form: str,
    clinician: Clinician,
    wave: Wave | None,
    expires_at: datetime,
    language: str | None = None,
) -> tuple[Invitation, str]:
    token = new_token()
    invitation = Invitation(
        form=form,
        clinician=clinician,
        wave=wave,
        token_hash=hash_token(token),
        state=InvitationState.PENDING,
        expires_at=expires_at,
        language=language,
    )
    db.session.add(invitation)
    return invitation, token


def queue_message(invitation: Invitation, kind: str) -> None:
    """Queue the invitation's first message; the outbox sender delivers it."""
    db.session.add(OutboxMessage(kind=kind, invitation=invitation, sequence=0))


def deliver_by_email(invitation: Invitation, token: str, address: str, kind: str) -> None:
    """Keep the address (encrypted) and queue the message, in the caller's transaction."""
    attach_contact(invitation, token=token, address=address)
    queue_message(invitation, kind)


def _dyad_for(clinician: Clinician, dyad_id: int | None, reference: str | None) -> Dyad:
    if dyad_id is not None:
        dyad = db.session.get(Dyad, dyad_id)
        if dyad is None or dyad.clinician_id != clinician.id:
            raise InvitationError(
                f"there is no dyad {dyad_id} of clinician {clinician.id} ({clinician.name})"
            )
        return dyad
    if reference is not None:
        existing = db.session.scalar(
            select(Dyad).where(Dyad.clinician_id == clinician.id, Dyad.reference == reference)
        )
        if existing is not None:
            return existing
    dyad = Dyad(clinician=clinician, reference=reference)
    db.session.add(dyad)
    return dyad


def _latest_wave_number(dyad: Dyad) -> int:
    if dyad.id is None:
        return 0
    return db.session.scalar(select(func.max(Wave.number)).where(Wave.dyad_id == dyad.id)) or 0


def gap_note(latest: int, number: int) -> str | None:
    """What to tell the user when an explicit wave number skips waves.

    Examples
    --------
    >>> gap_note(2, 3) is None
    True
    >>> gap_note(1, 3)
    'wave 3 leaves a gap: this dyad has no wave 2'
    """
    if number <= latest + 1:
        return None
    missing = f"wave {latest + 1}" if number == latest + 2 else f"waves {latest + 1}-{number - 1}"
    return f"wave {number} leaves a gap: this dyad has no {missing}"


@dataclass(frozen=True)
class DyadWaveRequest:
    """One dyad wave to create, checked by :func:`check_request` (or the batch validator)."""

    clinician: Clinician
    reference: str | None
    wave: int | None = None
    dyad_id: int | None = None
    email: str | None = None
    language: str | None = None
    appointment_on: date | None = None
    email_clinician: bool = False


def add_dyad_wave(request: DyadWaveRequest, expires_at: datetime) -> tuple[DyadWaveLinks, str]:
    """Add one dyad wave to the session (no commit); returns its links and the patient token."""
    dyad = _dyad_for(request.clinician, request.dyad_id, request.reference)
    latest = _latest_wave_number(dyad)
    number = request.wave if request.wave is not None else latest + 1
    if number < 1:
        raise InvitationError(f"wave {number}: wave numbers start at 1")
    if dyad.id is not None and db.session.scalar(
        select(Wave.id).where(Wave.dyad_id == dyad.id, Wave.number == number)
    ):
        raise InvitationError(f"dyad {dyad.id} already has wave {number}")
    wave_row = Wave(dyad=dyad, number=number, appointment_on=request.appointment_on)
    db.session.add(wave_row)
    patient, patient_token = _add_invitation(
        "patient", request.clinician, wave_row, expires_at, request.language
    )
    clinician_inv, clinician_token = _add_invitation(
        "clinician-dyad", request.clinician, wave_row, expires_at
    )
    if request.email:
        deliver_by_email(patient, patient_token, request.email, MessageKind.INVITATION)
    if request.email_clinician and request.clinician.email:
        deliver_by_email(
            clinician_inv,
            clinician_token,
            request.clinician.email,
            MessageKind.CLINICIAN_INVITATION,
        )
    db.session.flush()
    links = DyadWaveLinks(
        dyad=dyad.id,
        wave=number,
        reference=dyad.reference,
        patient_url=survey_url(patient_token),
        clinician_url=survey_url(clinician_token),
        expires_at=expires_at.isoformat(timespec="seconds"),
        patient_invitation=patient.id,
        clinician_invitation=clinician_inv.id,
        note=gap_note(latest, number),
    )
    return links, patient_token


def invite_dyad(
    clinician_id: int,
    *,
    wave: int | None = None,
    dyad_id: int | None = None,
    reference: str | None = None,
    expires_days: int = DEFAULT_EXPIRES_DAYS,
    email: str | None = None,
    language: str | None = None,
    email_clinician: bool = False,
    actor: str = "cli",
) -> DyadWaveLinks:
    """Create one wave of a dyad with a patient link and a clinician-dyad link, and commit.

    Without ``dyad_id`` or a known ``reference`` a new dyad is made; ``wave`` defaults to the
    dyad's next wave number (an explicit number may leave a gap: ``note`` says so). With
    ``email`` the patient's invitation is queued for e-mail; with ``email_clinician`` the
    clinician's link goes to the clinician's address on file, if any.
    """
    clinician = _clinician(clinician_id)
    expires_at = _expiry(expires_days)
    if email is not None:
        try:
            email = normalise_address(email) if email.strip() else None
        except ContactError as error:
            raise InvitationError(str(error)) from None
    request = DyadWaveRequest(
        clinician=clinician,
        reference=check_reference(reference),
        wave=wave,
        dyad_id=dyad_id,
        email=email,
        language=check_language(language),
        email_clinician=email_clinician,
    )
    links, _ = add_dyad_wave(request, expires_at)
    record_audit(
        actor,
        "invitation.create",
        f"dyad:{links.dyad}",
        wave=links.wave,
        forms=DYAD_FORMS,
        email=bool(email),
    )
    db.session.commit()
    return links


def invite_self_assessment(
    clinician_id: int, *, expires_days: int = DEFAULT_EXPIRES_DAYS, actor: str = "cli"
) -> SelfAssessmentLink:
    """Create a clinician's self-assessment link (the four competencies)."""
    clinician = _clinician(clinician_id)
    expires_at = _expiry(expires_days)
    _, token = _add_invitation("clinician-self", clinician, None, expires_at)
    record_audit(actor, "invitation.create", f"clinician:{clinician.id}", forms=["clinician-self"])
    db.session.commit()
    return SelfAssessmentLink(
        clinician=clinician.id,
        url=survey_url(token),
        expires_at=expires_at.isoformat(timespec="seconds"),
    )


# -- states and the actions on one invitation ------------------------------------------------


def state_of(invitation: Invitation, now: datetime | None = None) -> str:
    """The state a person reads: created, sent, opened, started, submitted, expired, revoked,
    bounced or opted out (closed states first, then how far the respondent got)."""
    if invitation.state == InvitationState.REVOKED:
        return "revoked"
    if invitation.state == InvitationState.SUBMITTED:
        return "submitted"
    if invitation.opted_out_at is not None:
        return "opted out"
    if invitation.is_expired(now):
        return "expired"
    if invitation.bounced_at is not None:
        return "bounced"
    if invitation.state == InvitationState.STARTED:
        return "started"
    if invitation.state == InvitationState.OPENED:
        return "opened"
    if invitation.sent_at is not None:
        return "sent"
    return "created"


def invitation_for_action(invitation_id: int, clinic_id: int | None = None) -> Invitation:
    """The invitation to act on; ``clinic_id`` limits it to one clinic (a manager's)."""
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or (
        clinic_id is not None and invitation.clinician.clinic_id != clinic_id
    ):
        raise InvitationError(gettext("no invitation with id %(id)s", id=invitation_id))
    return invitation


def _state_words(invitation: Invitation) -> str:
    # The state names are msgids of the invitation list (survey.invitations.views.STATE_LABELS).
    return gettext(state_of(invitation))


def _must_be_open(invitation: Invitation) -> None:
    """Only an open link can be revoked."""
    if invitation.state not in OPEN_STATES or invitation.opted_out_at is not None:
        raise InvitationError(
            gettext(
                "invitation %(id)s is %(state)s: it cannot be revoked",
                id=invitation.id,
                state=_state_words(invitation),
            )
        )


def revoke(invitation_id: int, *, clinic_id: int | None = None, actor: str = "cli") -> Invitation:
    """Close the link for good; its contact and card are erased in the same transaction."""
    invitation = invitation_for_action(invitation_id, clinic_id)
    _must_be_open(invitation)
    invitation.state = InvitationState.REVOKED
    erase_contact(invitation.id)
    db.session.execute(delete(InvitationCard).where(InvitationCard.invitation_id == invitation.id))
    record_audit(actor, "invitation.revoke", f"invitation:{invitation.id}")
    db.session.commit()
    return invitation


def extend(
    invitation_id: int, days: int, *, clinic_id: int | None = None, actor: str = "cli"
) -> Invitation:
    """Give the link ``days`` more days from now (an expired link opens again)."""
    invitation = invitation_for_action(invitation_id, clinic_id)
    if invitation.state not in OPEN_STATES or invitation.opted_out_at is not None:
        raise InvitationError(
            gettext(
                "invitation %(id)s is %(state)s: it cannot be extended",
                id=invitation.id,
                state=_state_words(invitation),
            )
        )
    invitation.expires_at = _expiry(days)
    record_audit(
        actor,
        "invitation.extend",
        f"invitation:{invitation.id}",
        expires_at=invitation.expires_at.isoformat(timespec="seconds"),
    )
    db.session.commit()
    return invitation


@dataclass(frozen=True)
class Reissued:
    invitation: int
    url: str
    expires_at: str
    emailed: bool

    def to_dict(self) -> dict:
        return asdict(self)


def reissue(invitation_id: int, *, clinic_id: int | None = None, actor: str = "cli") -> Reissued:
    """A new link for the same invitation (same dyad wave, answers kept); the old one stops.

    With a contact on file its stored token is replaced and a new message is queued; a printed
    card's code stops working (print the card again).
    """
    invitation = invitation_for_action(invitation_id, clinic_id)
    if invitation.state not in OPEN_STATES:
        raise InvitationError(
            gettext(
                "invitation %(id)s is %(state)s: it cannot be reissued",
                id=invitation.id,
                state=_state_words(invitation),
            )
        )
    token = new_token()
    invitation.token_hash = hash_token(token)
    if invitation.is_expired():
        invitation.expires_at = _expiry(current_app.config["HEALING_SURVEY_INVITATION_DAYS"])
    db.session.execute(delete(InvitationCard).where(InvitationCard.invitation_id == invitation.id))
    contact = db.session.scalar(
        select(InvitationContact).where(InvitationContact.invitation_id == invitation.id)
    )
    emailed = contact is not None and invitation.opted_out_at is None
    if contact is not None:
        contact.token_encrypted = seal(token)
    if emailed:
        _queue_reissued_message(invitation)
    record_audit(actor, "invitation.reissue", f"invitation:{invitation.id}", emailed=emailed)
    db.session.commit()
    return Reissued(
        invitation=invitation.id,
        url=survey_url(token),
        expires_at=invitation.expires_at.isoformat(timespec="seconds"),
        emailed=emailed,
    )


def _queue_reissued_message(invitation: Invitation) -> None:
    # The outbox keeps one row per (invitation, kind, sequence): a reissue takes the next free
    # sequence number below zero so that it never collides with the reminders' 1, 2, ...
    kind = (
        MessageKind.CLINICIAN_INVITATION
        if invitation.form == "clinician-dyad"
        else MessageKind.INVITATION
    )
    lowest = db.session.scalar(
        select(func.min(OutboxMessage.sequence)).where(
            OutboxMessage.invitation_id == invitation.id, OutboxMessage.kind == kind
        )
    )
    sequence = 0 if lowest is None else min(lowest, 0) - 1
    db.session.add(OutboxMessage(kind=kind, invitation=invitation, sequence=sequence))
