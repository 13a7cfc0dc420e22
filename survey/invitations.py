"""Invitations: one single-use link per form, stored only as a hash of its token."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select

from survey.extensions import db
from survey.models import (
    Clinician,
    Dyad,
    Invitation,
    InvitationState,
    Wave,
    record_audit,
    utcnow,
)

TOKEN_BYTES = 24  # 192 bits of randomness; DESIGN.md asks for at least 128.
DYAD_FORMS = ("patient", "clinician-dyad")


class InvitationError(ValueError):
    """A request for an invitation that cannot be met (unknown clinician, bad wave...)."""


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def survey_path(token: str) -> str:
    return f"/s/{token}"


def find_invitation(token: str) -> Invitation | None:
    """The invitation a token opens, or None; a malformed token is simply unknown."""
    if not token or len(token) > 100:
        return None
    return db.session.scalar(select(Invitation).where(Invitation.token_hash == hash_token(token)))


@dataclass(frozen=True)
class DyadWaveLinks:
    dyad: int
    wave: int
    reference: str | None
    patient_url: str
    clinician_url: str
    expires_at: str

    def to_dict(self) -> dict:
        return {
            "dyad": self.dyad,
            "wave": self.wave,
            "reference": self.reference,
            "patient_url": self.patient_url,
            "clinician_url": self.clinician_url,
            "expires_at": self.expires_at,
        }


@dataclass(frozen=True)
class SelfAssessmentLink:
    clinician: int
    url: str
    expires_at: str

    def to_dict(self) -> dict:
        return {"clinician": self.clinician, "url": self.url, "expires_at": self.expires_at}


def _clinician(clinician_id: int) -> Clinician:
    clinician = db.session.get(Clinician, clinician_id)
    if clinician is None:
        raise InvitationError(
            f"there is no clinician with id {clinician_id};"
            " 'healing-survey clinician list' shows them"
        )
    if clinician.retired_at is not None:
        raise InvitationError(
            f"clinician {clinician.id} ({clinician.name}) is retired and gets no new invitations"
        )
    if clinician.clinic.retired_at is not None:
        raise InvitationError(
            f"the clinic {clinician.clinic.name!r} is retired and gets no new invitations"
        )
    return clinician


def _expiry(expires_days: int):
    if expires_days < 1:
        raise InvitationError(f"--expires-days {expires_days}: expected 1 or more days")
    return utcnow() + timedelta(days=expires_days)


def _add_invitation(form: str, clinician: Clinician, wave: Wave | None, expires_at) -> str:
    token = new_token()
    db.session.add(
        Invitation(
            form=form,
            clinician=clinician,
            wave=wave,
            token_hash=hash_token(token),
            state=InvitationState.PENDING,
            expires_at=expires_at,
        )
    )
    return token


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


def _next_wave_number(dyad: Dyad) -> int:
    if dyad.id is None:
        return 1
    latest = db.session.scalar(select(func.max(Wave.number)).where(Wave.dyad_id == dyad.id))
    return (latest or 0) + 1


def invite_dyad(
    clinician_id: int,
    *,
    wave: int | None = None,
    dyad_id: int | None = None,
    reference: str | None = None,
    expires_days: int = 30,
    actor: str = "cli",
) -> DyadWaveLinks:
    """Create one wave of a dyad with a patient link and a clinician-dyad link.

    Without ``dyad_id`` or a known ``reference`` a new dyad is made; ``wave`` defaults to the
    dyad's next wave number.
    """
    clinician = _clinician(clinician_id)
    expires_at = _expiry(expires_days)
    if reference is not None:
        reference = reference.strip()
        if not reference or len(reference) > 64:
            raise InvitationError(f"reference {reference!r}: expected 1 to 64 characters")
    dyad = _dyad_for(clinician, dyad_id, reference)
    number = wave if wave is not None else _next_wave_number(dyad)
    if number < 1:
        raise InvitationError(f"--wave {number}: wave numbers start at 1")
    if dyad.id is not None and db.session.scalar(
        select(Wave).where(Wave.dyad_id == dyad.id, Wave.number == number)
    ):
        raise InvitationError(f"dyad {dyad.id} already has wave {number}")
    wave_row = Wave(dyad=dyad, number=number)
    db.session.add(wave_row)
    patient_token = _add_invitation("patient", clinician, wave_row, expires_at)
    clinician_token = _add_invitation("clinician-dyad", clinician, wave_row, expires_at)
    db.session.flush()
    record_audit(actor, "invitation.create", f"dyad:{dyad.id}", wave=number, forms=DYAD_FORMS)
    db.session.commit()
    return DyadWaveLinks(
        dyad=dyad.id,
        wave=number,
        reference=dyad.reference,
        patient_url=survey_path(patient_token),
        clinician_url=survey_path(clinician_token),
        expires_at=expires_at.isoformat(timespec="seconds"),
    )


def invite_self_assessment(
    clinician_id: int, *, expires_days: int = 30, actor: str = "cli"
) -> SelfAssessmentLink:
    """Create a clinician's self-assessment link (the four competencies)."""
    clinician = _clinician(clinician_id)
    expires_at = _expiry(expires_days)
    token = _add_invitation("clinician-self", clinician, None, expires_at)
    record_audit(actor, "invitation.create", f"clinician:{clinician.id}", forms=["clinician-self"])
    db.session.commit()
    return SelfAssessmentLink(
        clinician=clinician.id,
        url=survey_path(token),
        expires_at=expires_at.isoformat(timespec="seconds"),
    )
