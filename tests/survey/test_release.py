"""Release blocks: when a dyad wave settles, when a block is released, and that releasing is
race-free; and the issue's concrete attacks on the demo clinic now reveal nothing."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from survey.aggregates import clinic_summary, comparison_summary
from survey.extensions import db
from survey.invitations import invite_dyad
from survey.models import Clinic, Clinician, Invitation, ReleaseBlock, Wave, utcnow
from survey.release import PATIENCE, ReleaseError, release_blocks

from .privacy_clinic import Event, apply
from .staff import add_user, sign_in

MIN = 5


def answers_for(form_id: str, value: int = 4, *, drop: str | None = None) -> dict[str, int]:
    """Every item of the form answered ``value``; ``drop`` leaves one construct unanswered."""
    from items import load_bank

    form = load_bank().form(form_id)
    return {item.id: value for item in form.items if item.construct != drop}


def new_clinic(name: str = "Settle Clinic") -> tuple[int, int]:
    clinic = Clinic(name=name)
    clinician = Clinician(clinic=clinic, name=f"{name} clinician")
    db.session.add_all([clinic, clinician])
    db.session.commit()
    return clinic.id, clinician.id


def dyad_wave(clinician_id: int, *, patient=True, clinician=True, days_ago=3, drop=None) -> int:
    """A new dyad wave; each side answers (submitted ``days_ago``) or leaves its link open."""
    links = invite_dyad(clinician_id)
    wave = db.session.scalar(select(Wave).where(Wave.dyad_id == links.dyad))
    at = utcnow() - timedelta(days=days_ago)
    for form, answers in (("patient", patient), ("clinician-dyad", clinician)):
        if answers:
            invitation = invitation_of(wave.id, form)
            apply(Event(invitation.id, at, answers_for(form, drop=drop)))
    return wave.id


def invitation_of(wave_id: int, form: str) -> Invitation:
    return db.session.scalar(
        select(Invitation).where(Invitation.wave_id == wave_id, Invitation.form == form)
    )


def expire(wave_id: int, form: str) -> None:
    invitation = invitation_of(wave_id, form)
    apply(Event(invitation.id, utcnow() - timedelta(minutes=1), None))


def patient_n(clinic_id: int, **options) -> int:
    return clinic_summary(clinic_id, min_cell=MIN, **options)["overall"]["valuing"]["n"]


def test_an_open_clinician_link_holds_the_patients_answer_back_until_it_closes(app):
    with app.app_context():
        clinic_id, clinician_id = new_clinic()
        waves = [dyad_wave(clinician_id, clinician=False) for _ in range(MIN)]
        # The clinicians may still answer: nothing is settled, nothing shown.
        assert patient_n(clinic_id) == 0
        assert clinic_summary(clinic_id, min_cell=MIN)["held_back"] == MIN
        for wave_id in waves[:-1]:
            expire(wave_id, "clinician-dyad")
        assert patient_n(clinic_id) == 0  # four settled: not a block yet
        # The last clinician answers instead: now five settled dyad waves, but of two kinds
        # (four patient-only, one pair), and kinds are never mixed in a block.
        apply(
            Event(
                invitation_of(waves[-1], "clinician-dyad").id,
                utcnow(),
                answers_for("clinician-dyad"),
            )
        )
        assert patient_n(clinic_id) == 0
        sixth = dyad_wave(clinician_id, clinician=False)
        assert patient_n(clinic_id) == 0  # its clinician link is still open
        expire(sixth, "clinician-dyad")
        summary = clinic_summary(clinic_id, min_cell=MIN)
        assert summary["overall"]["valuing"]["n"] == MIN
        blocks = db.session.scalars(select(ReleaseBlock)).all()
        assert [(b.kind, b.dyad_waves, b.patient_responses, b.complete_pairs) for b in blocks] == [
            ("patient", MIN, MIN, 0)
        ]
        # The revoked state closes a link too; a wave nobody answered never joins a block.
        silent = invite_dyad(clinician_id)
        assert db.session.scalar(
            select(func.count()).select_from(Wave).where(Wave.dyad_id == silent.dyad)
        )
        release_blocks(clinic_id, min_cell=MIN)
        assert (
            db.session.scalar(select(Wave.release_block_id).where(Wave.dyad_id == silent.dyad))
            is None
        )


def test_the_withdrawal_window_keeps_answers_out_of_blocks_until_it_has_passed(app):
    with app.app_context():
        clinic_id, clinician_id = new_clinic()
        for _ in range(MIN):
            dyad_wave(clinician_id, days_ago=5)
        soon = release_blocks(clinic_id, min_cell=MIN, withdrawal_days=10)
        assert (soon.blocks, soon.held_back_dyad_waves) == (0, MIN)
        later = release_blocks(
            clinic_id, min_cell=MIN, withdrawal_days=10, now=utcnow() + timedelta(days=6)
        )
        assert (later.blocks, later.dyad_waves) == (1, MIN)
        with pytest.raises(ReleaseError, match="withdrawal_days -1"):
            release_blocks(clinic_id, min_cell=MIN, withdrawal_days=-1)
        with pytest.raises(ReleaseError, match="no clinic with id 999"):
            release_blocks(999, min_cell=MIN)
    # The page path reads the window from the configuration.
    app.config["HEALING_SURVEY_WITHDRAWAL_DAYS"] = 30
    with app.app_context():
        for _ in range(MIN):
            dyad_wave(clinician_id, days_ago=5)
        assert patient_n(clinic_id) == MIN  # the second five wait for their window


def test_withdrawal_days_come_from_the_environment(tmp_path, monkeypatch):
    from survey.config import ConfigError, from_environment

    monkeypatch.setenv("HEALING_SURVEY_WITHDRAWAL_DAYS", "14")
    assert from_environment(tmp_path)["HEALING_SURVEY_WITHDRAWAL_DAYS"] == 14
    monkeypatch.setenv("HEALING_SURVEY_WITHDRAWAL_DAYS", "two weeks")
    with pytest.raises(ConfigError, match="'two weeks'"):
        from_environment(tmp_path)
    monkeypatch.delenv("HEALING_SURVEY_WITHDRAWAL_DAYS")
    assert from_environment(tmp_path)["HEALING_SURVEY_WITHDRAWAL_DAYS"] == 0


def test_a_rarely_answered_construct_is_left_out_of_a_block_released_at_the_patience_limit(app):
    with app.app_context():
        clinic_id, clinician_id = new_clinic()
        # Only one patient in ten answers "abiding": one usable score, never 0 or 5.
        first = dyad_wave(clinician_id, clinician=False)
        expire(first, "clinician-dyad")
        for k in range(PATIENCE * MIN - 1):
            wave_id = dyad_wave(clinician_id, clinician=False, drop="abiding")
            expire(wave_id, "clinician-dyad")
            if k < PATIENCE * MIN - 2:
                assert patient_n(clinic_id) == 0  # waits for abiding to reach 0 or 5
        summary = clinic_summary(clinic_id, min_cell=MIN)
    assert summary["overall"]["valuing"]["n"] == PATIENCE * MIN
    # Released at the patience limit: the one abiding score is left out for good.
    assert summary["overall"]["abiding"]["n"] == 0


def test_a_construct_missing_in_a_few_responses_waits_for_the_block_to_grow(app):
    with app.app_context():
        clinic_id, clinician_id = new_clinic()
        # Both answered, but one clinician left "hope" unanswered: 4 usable pairs of 5.
        dyad_wave(clinician_id, drop="hope")
        for _ in range(MIN - 1):
            dyad_wave(clinician_id)
        assert patient_n(clinic_id) == 0
        dyad_wave(clinician_id)  # 5 usable pairs for hope, 6 for the rest
        summary = clinic_summary(clinic_id, min_cell=MIN)
        comparison = comparison_summary(clinic_id, min_cell=MIN)
    assert summary["overall"]["valuing"]["n"] == MIN + 1
    # In a pair, a construct is used only where both answered it, on every page alike.
    assert summary["overall"]["hope"]["n"] == MIN
    assert comparison["overall"]["hope"]["n"] == MIN
    assert comparison["overall"]["valuing"]["n"] == MIN + 1


def test_two_releases_at_once_never_put_a_dyad_wave_in_two_blocks(app, monkeypatch):
    import survey.release as release

    with app.app_context():
        clinic_id, clinician_id = new_clinic()
        for _ in range(3 * MIN):
            dyad_wave(clinician_id)
    barrier = threading.Barrier(2)
    real = release.settled_dyad_waves

    def settled_together(*args, **kwargs):
        found = real(*args, **kwargs)
        # Both processes read the same settled dyad waves before either stores a block (where
        # the database lets them: PostgreSQL's row lock makes the second one wait instead).
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=3)
        return found

    monkeypatch.setattr(release, "settled_dyad_waves", settled_together)
    reports, errors = [], []

    def run():
        try:
            with app.app_context():
                reports.append(release_blocks(clinic_id, min_cell=MIN))
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert sorted(r.blocks for r in reports) == [0, 3]
    with app.app_context():
        blocks = db.session.scalars(select(ReleaseBlock)).all()
        assert len(blocks) == 3
        for block in blocks:
            members = db.session.scalar(
                select(func.count()).select_from(Wave).where(Wave.release_block_id == block.id)
            )
            assert members == block.dyad_waves == MIN


def test_release_command(app, runner):
    with app.app_context():
        clinic_id, clinician_id = new_clinic("Cron Clinic")
        for _ in range(MIN + 2):
            dyad_wave(clinician_id)
    result = runner.invoke(args=["release", "--clinic", "Cron Clinic", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "clinics": 1,
        "blocks": 1,
        "dyad_waves": MIN,
        "held_back_dyad_waves": 2,
    }
    again = runner.invoke(args=["release"])
    assert again.exit_code == 0 and again.output.startswith("0 blocks released")
    unknown = runner.invoke(args=["release", "--clinic", "Nowhere"])
    assert unknown.exit_code != 0 and "no clinic named 'Nowhere'" in unknown.output
    assert "Traceback" not in unknown.output


# --- the attacks, on the demo clinic -----------------------------------------------


@pytest.fixture
def demo(app):
    from survey.demo import create_demo

    with app.app_context():
        create_demo(dyads=150, seed=3)
        clinic_id = db.session.scalar(select(Clinic.id))
        release_blocks(clinic_id, min_cell=MIN)
        add_user("boss@example.org", "manager", clinic_id=clinic_id)
        db.session.commit()
    client = app.test_client()
    assert sign_in(client, "boss@example.org").status_code == 302
    return clinic_id, client


def csv_counts(client, clinic_id: int, query: str = "") -> dict[tuple, int]:
    response = client.get(f"/dashboard/clinics/{clinic_id}/scores.csv{query}")
    assert response.status_code == 200
    rows = csv.DictReader(io.StringIO(response.text))
    return {(r["clinician"], r["construct"]): int(r["n"]) for r in rows if r["n"].isdigit()}


def differences(a: dict, b: dict) -> list[int]:
    return [a[key] - b[key] for key in a.keys() & b.keys()]


def test_the_demo_dashboard_is_populated(app, demo):
    clinic_id, client = demo
    with app.app_context():
        summary = clinic_summary(clinic_id, min_cell=MIN)
        comparison = comparison_summary(clinic_id, min_cell=MIN)
    for construct in ("valuing", "trust", "known"):
        assert summary["overall"][construct]["n"] >= 50
        assert all(c["constructs"][construct]["n"] >= MIN for c in summary["clinicians"])
        assert comparison["overall"][construct]["n"] >= 20
        assert summary["reliability"][construct]["icc1"] is not None
    assert sum(1 for entry in summary["trend"] if entry["constructs"]["valuing"]["n"]) >= 3
    page = client.get(f"/dashboard/clinics/{clinic_id}").text
    assert "numbers change only in whole groups of at least 5 responses" in " ".join(page.split())
    assert f"{summary['overall']['valuing']['mean']:.2f}" in page


def test_one_more_submission_never_moves_a_number_by_one(app, demo):
    clinic_id, client = demo
    with app.app_context():
        clinician_id = db.session.scalar(select(Clinician.id).order_by(Clinician.id))
    before = csv_counts(client, clinic_id)
    moved = 0
    for _ in range(2 * MIN):
        with app.app_context():
            dyad_wave(clinician_id)
        after = csv_counts(client, clinic_id)
        steps = differences(after, before)
        assert all(step == 0 or step >= MIN for step in steps), steps
        moved += any(steps)
        before = after
    assert moved >= 1  # numbers do move, a whole group at a time


def test_all_waves_minus_wave_one_reveals_nothing(app, demo):
    clinic_id, client = demo
    every = csv_counts(client, clinic_id)
    first = csv_counts(client, clinic_id, "?wave=1")
    steps = differences(every, first)
    assert steps and all(step == 0 or step >= MIN for step in steps), steps
    from survey.api.tokens import create_token

    with app.app_context():
        token = create_token("boss@example.org", "attack").token
    headers = {"Authorization": f"Bearer {token}"}
    for form in ("patient", "clinician-dyad"):
        url = f"/api/v1/clinics/{clinic_id}/summary?form={form}"
        every = client.get(url, headers=headers).json
        first = client.get(f"{url}&wave=1", headers=headers).json
        for a, b in zip(every["clinicians"], first["clinicians"], strict=True):
            for construct, cell in a["constructs"].items():
                step = cell["n"] - b["constructs"][construct]["n"]
                assert step == 0 or step >= MIN, step


def test_a_date_from_ladder_reveals_nothing(app, demo):
    clinic_id, client = demo
    with app.app_context():
        months = sorted({b for b in db.session.scalars(select(ReleaseBlock.period_month))})
    ladder = [csv_counts(client, clinic_id, f"?from={month}&period=month") for month in months]
    checked = 0
    for wider, narrower in zip(ladder, ladder[1:], strict=False):
        for step in differences(wider, narrower):
            assert step == 0 or step >= MIN, step
            checked += 1
    assert checked > 0 and len(months) >= 4
