"""Seed a clinic with known answers for the dashboard tests: every value is returned, so a test
can recompute each statistic with analysis/ and compare."""

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

START = datetime(2025, 1, 10, tzinfo=UTC)


@dataclass
class SeededClinic:
    clinic_id: int
    clinician_ids: list[int]
    # One row per submitted response: form, clinician_id, dyad_id, wave, submitted_at, answers.
    responses: list[dict] = field(default_factory=list)


def seed_clinic(
    name: str,
    patients_per_clinician: list[int],
    *,
    seed: int = 1,
    clinician_rate: float = 1.0,
    unsubmitted: int = 0,
) -> SeededClinic:
    """Each clinician gets that many dyads with a submitted patient response (wave 1), and a
    clinician-dyad response with probability ``clinician_rate``; submissions one week apart."""
    rng = np.random.default_rng(seed)
    bank = load_bank()
    clinic = Clinic(name=name)
    clinicians = [
        Clinician(clinic=clinic, name=f"{name} clinician {i + 1}")
        for i in range(len(patients_per_clinician))
    ]
    db.session.add_all([clinic, *clinicians])
    db.session.flush()
    seeded = SeededClinic(clinic.id, [c.id for c in clinicians])
    pending: list[tuple[Response, dict]] = []
    when = START
    for index, (clinician, count) in enumerate(
        zip(clinicians, patients_per_clinician, strict=True)
    ):
        level = 3.0 + 0.3 * index
        for k in range(count):
            dyad = Dyad(clinician=clinician, reference=f"{name[:10]}-{index}-{k}")
            wave = Wave(dyad=dyad, number=1, created_at=when)
            db.session.add_all([dyad, wave])
            forms = ["patient"]
            if rng.random() < clinician_rate:
                forms.append("clinician-dyad")
            for form_id in forms:
                shift = 0.4 if form_id == "clinician-dyad" else 0.0
                form = bank.form(form_id)
                values = np.clip(np.rint(rng.normal(level + shift, 0.8, len(form.items))), 1, 5)
                answers = {item.id: int(v) for item, v in zip(form.items, values, strict=True)}
                response = _submitted(form_id, clinician, wave, when, bank.version)
                pending.append((response, answers))
                seeded.responses.append(
                    {
                        "form": form_id,
                        "clinician_id": clinician.id,
                        "dyad_id": None,
                        "wave": 1,
                        "submitted_at": when,
                        "answers": answers,
                        "_dyad": dyad,
                    }
                )
            when += timedelta(days=7)
    for _ in range(unsubmitted):
        db.session.add(
            Invitation(
                form="patient",
                clinician=clinicians[0],
                wave=Wave(dyad=Dyad(clinician=clinicians[0]), number=1),
                token_hash=hash_token(new_token()),
                state=InvitationState.PENDING,
                created_at=START,
                expires_at=START + timedelta(days=3650),
            )
        )
    db.session.flush()
    rows = [
        {"response_id": r.id, "item_id": item, "bank_version": r.bank_version, "value": v}
        for r, answers in pending
        for item, v in answers.items()
    ]
    db.session.execute(insert(Answer), rows)
    db.session.commit()
    for record in seeded.responses:
        record["dyad_id"] = record.pop("_dyad").id
    return seeded


def _submitted(form_id, clinician, wave, when, version) -> Response:
    invitation = Invitation(
        form=form_id,
        clinician=clinician,
        wave=wave,
        token_hash=hash_token(new_token()),
        state=InvitationState.SUBMITTED,
        created_at=when - timedelta(hours=2),
        expires_at=when + timedelta(days=3650),
        opened_at=when - timedelta(hours=1),
        submitted_at=when,
    )
    response = Response(
        invitation=invitation,
        form=form_id,
        bank_version=version,
        language="en",
        user_agent_class="phone",
        started_at=when - timedelta(minutes=10),
        last_saved_at=when,
        submitted_at=when,
        duration_seconds=600,
    )
    db.session.add_all([invitation, response])
    return response
