"""A demo clinic with synthetic answers that follow the healing relationship model.

Each dyad has a latent relationship quality (shared by its clinician's patients through a
clinician effect); the three processes load on it, and the outcomes follow from the processes.
The clinician's view of a dyad tracks the patient's but runs higher on some constructs, as the
comparison dashboard should be able to show. Answers come from an ordinal model with thresholds,
so the item statistics and factor structure look like real Likert data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import insert, select

from items import NOT_APPLICABLE, SKIPPED, Form, load_bank
from survey.extensions import db
from survey.invitations import hash_token, new_token, survey_url
from survey.models import (
    Answer,
    Clinic,
    Clinician,
    Dyad,
    Invitation,
    InvitationState,
    Response,
    Wave,
    record_audit,
    utcnow,
)

DEMO_CLINIC = "Demo Family Practice"
DEMO_CLINICIANS = (
    "Dr. Amara Okafor",
    "Dr. Lukas Brandt",
    "Dr. Mei Lin Tan",
    "Dr. Rosa Delgado",
    "Nurse Practitioner Sam Whitfield",
    "Dr. Yusuf Haddad",
)
PROCESSES = ("valuing", "appreciating_power", "abiding")
OUTCOMES = ("trust", "hope", "known")
# How much higher than their patients clinicians rate each construct, on the latent scale.
CLINICIAN_OPTIMISM = {
    "valuing": 0.15,
    "appreciating_power": 0.45,
    "abiding": 0.1,
    "trust": 0.2,
    "hope": 0.05,
    "known": 0.5,
}
# Latent cut points for a 5-point item: most patients agree, as in real patient surveys.
THRESHOLDS = (-2.3, -1.5, -0.7, 0.5)


class DemoError(ValueError):
    """The demo cannot be created as asked."""


class DemoExists(DemoError):
    """The demo clinic is already in the database."""


@dataclass(frozen=True)
class DemoSummary:
    clinic: str
    clinicians: int
    dyads: int
    waves: int
    responses: int
    answers: int
    patient_url: str
    clinician_url: str

    def to_dict(self) -> dict:
        return self.__dict__.copy()


def create_demo(*, dyads: int = 300, seed: int = 2008) -> DemoSummary:
    """Seed the demo clinic; raise DemoError if it exists already."""
    import numpy as np

    if dyads < 1:
        raise DemoError(f"--dyads {dyads}: expected at least 1")
    if db.session.scalar(select(Clinic).where(Clinic.name == DEMO_CLINIC)) is not None:
        raise DemoExists(f"the demo clinic {DEMO_CLINIC!r} already exists")
    rng = np.random.default_rng(seed)
    bank = load_bank()
    clinic = Clinic(name=DEMO_CLINIC)
    clinicians = [Clinician(clinic=clinic, name=name) for name in DEMO_CLINICIANS]
    db.session.add_all([clinic, *clinicians])
    db.session.flush()
    seeder = _Seeder(rng=rng, version=bank.version)
    clinician_effect = rng.normal(0.0, 0.4, len(clinicians))
    counts = {"dyads": 0, "waves": 0}
    for index in range(dyads):
        which = int(rng.integers(len(clinicians)))
        clinician = clinicians[which]
        dyad = Dyad(clinician=clinician, reference=f"DEMO-{index + 1:05d}")
        db.session.add(dyad)
        quality = clinician_effect[which] + rng.normal(0.0, 1.0)
        n_waves = int(rng.choice([1, 2, 3], p=[0.35, 0.4, 0.25]))
        # Waves 90-200 days apart, the last one at least a week ago: nothing lies in the future.
        gaps = rng.integers(90, 200, n_waves - 1)
        start = utcnow() - timedelta(days=int(rng.integers(7, 300) + gaps.sum()))
        for number in range(1, n_waves + 1):
            wave = Wave(dyad=dyad, number=number, created_at=start)
            db.session.add(wave)
            latent = _dyad_constructs(rng, quality + 0.15 * (number - 1))
            seeder.add_dyad_wave(
                bank.form("patient"), bank.form("clinician-dyad"), wave, clinician, latent, start
            )
            if number < n_waves:
                start += timedelta(days=int(gaps[number - 1]))
            counts["waves"] += 1
        counts["dyads"] += 1
    for which, clinician in enumerate(clinicians):
        seeder.add_self_assessments(bank.form("clinician-self"), clinician, clinician_effect[which])
    seeder.flush_answers()
    patient_token, clinician_token = _open_invitations(clinicians[0])
    record_audit("cli", "demo.create", f"clinic:{clinic.id}", dyads=dyads, seed=seed)
    db.session.commit()
    return DemoSummary(
        clinic=DEMO_CLINIC,
        clinicians=len(clinicians),
        dyads=counts["dyads"],
        waves=counts["waves"],
        responses=seeder.responses,
        answers=seeder.answers,
        patient_url=survey_url(patient_token),
        clinician_url=survey_url(clinician_token),
    )


def _dyad_constructs(rng, quality: float) -> dict[str, float]:
    processes = {name: 0.8 * quality + 0.6 * rng.normal() for name in PROCESSES}
    process_mean = sum(processes.values()) / len(processes)
    outcomes = {name: 0.75 * process_mean + 0.55 * rng.normal() for name in OUTCOMES}
    return processes | outcomes


def _open_invitations(clinician: Clinician) -> tuple[str, str]:
    """One fresh dyad wave with links left open, so a visitor can try both forms."""
    dyad = Dyad(clinician=clinician, reference="DEMO-TRY-IT")
    wave = Wave(dyad=dyad, number=1)
    tokens = (new_token(), new_token())
    for form, token in zip(("patient", "clinician-dyad"), tokens, strict=True):
        db.session.add(
            Invitation(
                form=form,
                clinician=clinician,
                wave=wave,
                token_hash=hash_token(token),
                expires_at=utcnow() + timedelta(days=365),
            )
        )
    db.session.add(dyad)
    return tokens


class _Seeder:
    """Adds invitations and responses as ORM rows and answers in bulk inserts."""

    def __init__(self, *, rng, version: str):
        self.rng = rng
        self.version = version
        self.pending_answers: list[tuple[Response, list[dict]]] = []
        self.responses = 0
        self.answers = 0

    def add_dyad_wave(self, patient_form, clinician_form, wave, clinician, latent, start):
        patient_view = latent
        clinician_view = {
            name: 0.6 * value + 0.5 * self.rng.normal() + CLINICIAN_OPTIMISM[name]
            for name, value in latent.items()
        }
        for form, view, submit_rate in (
            (patient_form, patient_view, 0.85),
            (clinician_form, clinician_view, 0.75),
        ):
            self._add_response(form, clinician, wave, view, start, submit_rate)

    def add_self_assessments(self, form: Form, clinician: Clinician, effect: float):
        start = utcnow() - timedelta(days=700)
        for quarter in range(6):
            latent = {
                section.construct.id: 0.5 * effect + 0.1 * quarter + 0.6 * self.rng.normal()
                for section in form.sections
            }
            when = start + timedelta(days=120 * quarter)
            self._add_response(form, clinician, None, latent, when, 1.0)

    def _add_response(self, form, clinician, wave, latent, when, submit_rate):
        rng = self.rng
        roll = rng.random()
        if roll >= submit_rate + (1 - submit_rate) * 0.5:
            state = InvitationState.PENDING
        elif roll >= submit_rate:
            state = InvitationState.STARTED
        else:
            state = InvitationState.SUBMITTED
        opened = when + timedelta(hours=float(rng.uniform(1, 72)))
        duration = timedelta(seconds=float(rng.gamma(4.0, 80.0)))
        invitation = Invitation(
            form=form.id,
            clinician=clinician,
            wave=wave,
            token_hash=hash_token(new_token()),
            state=state,
            created_at=when,
            expires_at=when + timedelta(days=30),
            opened_at=None if state == InvitationState.PENDING else opened,
            submitted_at=opened + duration if state == InvitationState.SUBMITTED else None,
        )
        db.session.add(invitation)
        if state == InvitationState.PENDING:
            return
        response = Response(
            invitation=invitation,
            form=form.id,
            bank_version=self.version,
            language="en",
            user_agent_class=str(rng.choice(["phone", "phone", "tablet", "desktop"])),
            started_at=opened,
            last_saved_at=opened + duration,
            submitted_at=invitation.submitted_at,
            duration_seconds=round(duration.total_seconds()),
            resume_section=len(form.sections) - 1,
        )
        db.session.add(response)
        answers = self._answers(form, latent, complete=state == InvitationState.SUBMITTED)
        self.pending_answers.append((response, answers))
        self.responses += 1
        if len(self.pending_answers) >= 200:
            self.flush_answers()

    def _answers(self, form: Form, latent: dict[str, float], *, complete: bool) -> list[dict]:
        import numpy as np

        rng = self.rng
        items = form.items
        if not complete:
            items = items[: int(rng.integers(1, len(items)))]
        construct = np.array([latent[item.construct] for item in items])
        loading = rng.uniform(0.7, 0.95, len(items))
        latent_item = loading * construct + rng.normal(0.0, 0.6, len(items))
        reverse = np.array([item.reverse_keyed for item in items])
        latent_item = np.where(reverse, -latent_item, latent_item)
        values = 1 + np.searchsorted(THRESHOLDS, latent_item)
        not_applicable = rng.random(len(items)) < 0.12
        skipped = rng.random(len(items)) < 0.01
        rows = []
        for item, value, na, skip in zip(items, values, not_applicable, skipped, strict=True):
            if item.not_applicable and na:
                rows.append({"item_id": item.id, "value": None, "code": NOT_APPLICABLE})
            elif skip and complete:
                rows.append({"item_id": item.id, "value": None, "code": SKIPPED})
            else:
                rows.append({"item_id": item.id, "value": int(value), "code": None})
        return rows

    def flush_answers(self) -> None:
        db.session.flush()
        rows = [
            {"response_id": response.id, "bank_version": self.version, **answer}
            for response, answers in self.pending_answers
            for answer in answers
        ]
        if rows:
            db.session.execute(insert(Answer), rows)
        self.answers += len(rows)
        self.pending_answers.clear()
