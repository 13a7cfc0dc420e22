"""A random clinic for the privacy tests, built as a list of events (a form submitted, a link
expiring) that a test applies one at a time, to look at every view before and after each."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import insert

from items import load_bank
from survey.extensions import db
from survey.invitations import hash_token, new_token
from survey.models import (
    Answer,
    Clinic,
    Clinician,
    Dyad,
    Invitation,
    InvitationState,
    Response,
    Wave,
)

FIRST_DAY = datetime(2025, 1, 3, tzinfo=UTC)
FAR_FUTURE = datetime(2099, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Event:
    """Submit ``invitation_id`` at ``at`` with ``answers`` in ``language``, or (answers None)
    let it expire."""

    invitation_id: int
    at: datetime
    answers: dict[str, int] | None
    language: str = "en"


@dataclass
class RandomClinic:
    clinic_id: int
    clinician_ids: list[int]
    events: list[Event] = field(default_factory=list)
    months: list[str] = field(default_factory=list)
    max_wave: int = 1


def build_clinic(
    name: str, seed: int, *, dyads: int = 40, months: int = 5, spanish: float = 0.0
) -> RandomClinic:
    """Clinicians with dyads in up to three waves, every link open; the returned events answer
    most links (about 85% of patients, 70% of clinicians) and let the rest expire, except a few
    left open for good, spread over ``months`` months. About one response in twelve leaves a
    construct mostly unanswered, so that its score is missing.

    A share ``spanish`` of the patients answer in Spanish; half of those were invited in
    Spanish, the others' invitations name no language, as do the English patients' (so a dyad
    wave whose patient does not answer is of an unknown language, or Spanish)."""
    rng = np.random.default_rng(seed)
    # Its own random stream, so that the rest of the clinic does not depend on ``spanish``.
    speakers = np.random.default_rng(seed + 1_000_003)
    bank = load_bank()
    clinic = Clinic(name=name)
    clinicians = [
        Clinician(clinic=clinic, name=f"{name} {i + 1}") for i in range(int(rng.integers(2, 4)))
    ]
    db.session.add_all([clinic, *clinicians])
    db.session.flush()
    planned: list[tuple[Invitation, datetime, dict | None]] = []
    max_wave = 1
    for k in range(dyads):
        clinician = clinicians[int(rng.integers(len(clinicians)))]
        dyad = Dyad(clinician=clinician, reference=f"{name}-{k}")
        db.session.add(dyad)
        language = "es" if speakers.random() < spanish else "en"
        invited_in = "es" if language == "es" and speakers.random() < 0.5 else None
        for number in range(1, int(rng.choice([1, 2, 3], p=[0.6, 0.3, 0.1])) + 1):
            max_wave = max(max_wave, number)
            wave = Wave(dyad=dyad, number=number, created_at=FIRST_DAY)
            day = float(rng.uniform(0, 30.4 * months - 3))
            for form, rate in (("patient", 0.85), ("clinician-dyad", 0.7)):
                invitation = Invitation(
                    form=form,
                    clinician=clinician,
                    wave=wave,
                    token_hash=hash_token(new_token()),
                    state=InvitationState.PENDING,
                    created_at=FIRST_DAY,
                    expires_at=FAR_FUTURE,
                    language=invited_in if form == "patient" else None,
                )
                db.session.add(invitation)
                at = FIRST_DAY + timedelta(days=day + float(rng.uniform(0, 2)))
                roll = rng.random()
                answered_in = language if form == "patient" else "en"
                if roll < rate:
                    answers = _answers(rng, bank.form(form))
                    planned.append((invitation, at, answers, answered_in))
                elif roll < rate + (1 - rate) * 0.8:
                    planned.append((invitation, at, None, answered_in))
    db.session.commit()
    events = [Event(inv.id, at, answers, lang) for inv, at, answers, lang in planned]
    events.sort(key=lambda e: e.at)
    seen = sorted({e.at.strftime("%Y-%m") for e in events})
    return RandomClinic(clinic.id, [c.id for c in clinicians], events, seen, max_wave)


def _answers(rng, form) -> dict[str, int]:
    answers = {item.id: int(rng.integers(1, 6)) for item in form.items}
    if rng.random() < 0.08:
        section = form.sections[int(rng.integers(len(form.sections)))]
        for item in section.items[1:]:
            answers.pop(item.id)
    return answers


def apply(event: Event) -> None:
    """Submit or expire one invitation, as the respondent flow or the clock would."""
    invitation = db.session.get(Invitation, event.invitation_id)
    if event.answers is None:
        invitation.expires_at = event.at
        db.session.commit()
        return
    invitation.state = InvitationState.SUBMITTED
    invitation.opened_at = event.at - timedelta(minutes=10)
    invitation.submitted_at = event.at
    response = Response(
        invitation=invitation,
        form=invitation.form,
        bank_version=load_bank().version,
        language=event.language,
        user_agent_class="phone",
        started_at=event.at - timedelta(minutes=10),
        last_saved_at=event.at,
        submitted_at=event.at,
        duration_seconds=600,
    )
    db.session.add(response)
    db.session.flush()
    db.session.execute(
        insert(Answer),
        [
            {
                "response_id": response.id,
                "item_id": item,
                "bank_version": response.bank_version,
                "value": value,
            }
            for item, value in event.answers.items()
        ],
    )
    db.session.commit()
