"""The healing-survey CLI: clinics, clinicians, invitations and the demo clinic."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from items import load_bank
from survey.extensions import db
from survey.invitations import find_invitation
from survey.models import (
    Answer,
    Clinic,
    Clinician,
    Dyad,
    Invitation,
    Response,
    Wave,
    utcnow,
)


def invoke_json(runner, *args):
    result = runner.invoke(args=[*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_clinic_and_clinician_add_and_list(app, runner):
    clinic = invoke_json(runner, "clinic", "add", "Hillside Clinic")
    assert clinic["name"] == "Hillside Clinic"
    person = invoke_json(
        runner,
        "clinician",
        "add",
        "--clinic",
        "Hillside Clinic",
        "--name",
        "Dr. Ada",
        "--email",
        "ada@example.org",
    )
    assert person == {
        "id": person["id"],
        "clinic": "Hillside Clinic",
        "name": "Dr. Ada",
        "email": "ada@example.org",
        "retired_at": None,
    }
    listed = invoke_json(runner, "clinician", "list", "--clinic", "Hillside Clinic")
    assert [row["name"] for row in listed] == ["Dr. Ada"]
    assert invoke_json(runner, "clinic", "list") == [clinic]


def test_duplicates_and_unknown_names_are_clear_errors(app, runner):
    runner.invoke(args=["clinic", "add", "Hillside Clinic"])
    again = runner.invoke(args=["clinic", "add", "Hillside Clinic"])
    assert again.exit_code != 0
    assert "already exists" in again.output
    missing = runner.invoke(args=["clinician", "add", "--clinic", "Nowhere", "--name", "X"])
    assert missing.exit_code != 0
    assert "no clinic named 'Nowhere'" in missing.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Clinic)) == 1
        assert db.session.scalar(select(func.count()).select_from(Clinician)) == 0


def test_invite_prints_both_links_and_stores_one_wave(app, runner, clinician_id):
    links = invoke_json(runner, "invite", "--clinician", str(clinician_id))
    assert set(links) >= {"dyad", "wave", "patient_url", "clinician_url"}
    assert links["wave"] == 1
    base = "http://127.0.0.1:5000/s/"
    assert links["patient_url"].startswith(base) and links["clinician_url"].startswith(base)
    with app.app_context():
        patient = find_invitation(links["patient_url"].rsplit("/", 1)[1])
        clinician = find_invitation(links["clinician_url"].rsplit("/", 1)[1])
        assert (patient.form, clinician.form) == ("patient", "clinician-dyad")
        assert patient.wave_id == clinician.wave_id
        assert patient.wave.dyad_id == links["dyad"]


def test_invite_the_next_wave_of_a_dyad(app, runner, clinician_id):
    first = invoke_json(runner, "invite", "--clinician", str(clinician_id), "--reference", "P-17")
    second = invoke_json(runner, "invite", "--clinician", str(clinician_id), "--reference", "P-17")
    third = invoke_json(
        runner,
        "invite",
        "--clinician",
        str(clinician_id),
        "--dyad",
        str(first["dyad"]),
        "--wave",
        "5",
        "--expires-days",
        "7",
    )
    assert first["dyad"] == second["dyad"] == third["dyad"]
    assert [first["wave"], second["wave"], third["wave"]] == [1, 2, 5]
    repeat = runner.invoke(
        args=[
            "invite",
            "--clinician",
            str(clinician_id),
            "--dyad",
            str(first["dyad"]),
            "--wave",
            "5",
        ]
    )
    assert repeat.exit_code != 0 and "already has wave 5" in repeat.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Wave)) == 3
        assert db.session.scalar(select(func.count()).select_from(Invitation)) == 6


def test_invite_refuses_an_unknown_clinician_and_bad_numbers(app, runner, clinician_id):
    for args, message in (
        (["--clinician", "999"], "no clinician with id 999"),
        (["--clinician", str(clinician_id), "--wave", "0"], "wave numbers start at 1"),
        (["--clinician", str(clinician_id), "--expires-days", "-3"], "expected 1 to 3650"),
    ):
        result = runner.invoke(args=["invite", *args])
        assert result.exit_code != 0
        assert message in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Dyad)) == 0


def test_self_invite(app, runner, clinician_id):
    link = invoke_json(runner, "self-invite", "--clinician", str(clinician_id))
    with app.app_context():
        invitation = find_invitation(link["url"].rsplit("/", 1)[1])
        assert invitation.form == "clinician-self" and invitation.wave_id is None


def test_demo_seeds_a_clinic_that_follows_the_model(app, runner):
    summary = invoke_json(runner, "demo", "--dyads", "40", "--seed", "3")
    assert summary["dyads"] == 40 and summary["clinicians"] == 6
    assert summary["manager"] == "manager@demo.example" and len(summary["password"]) >= 12
    assert summary["waves"] >= 40
    with app.app_context():
        responses = db.session.scalar(select(func.count()).select_from(Response))
        assert responses == summary["responses"] > 40
        answers = db.session.scalar(select(func.count()).select_from(Answer))
        assert answers == summary["answers"]
        values = db.session.scalars(select(Answer.value).where(Answer.value.is_not(None))).all()
        assert set(values) <= {1, 2, 3, 4, 5} and len(set(values)) >= 4
        latest = db.session.scalar(select(func.max(Response.submitted_at)))
        assert latest < utcnow()
        item_ids = set(db.session.scalars(select(Answer.item_id).distinct()))
        bank_ids = {item.id for form in load_bank().forms.values() for item in form.items}
        assert item_ids <= bank_ids
    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0 and "nothing was added" in again.output


def test_console_script_help_lists_commands_without_importing_the_stack():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from survey.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = [m for m in ('sqlalchemy', 'alembic', 'flask_sqlalchemy', 'pandas', 'scipy')\n"
        "         if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    for command in ("clinic", "clinician", "db", "demo", "invite", "run", "self-invite"):
        assert f"  {command} " in result.stdout
    assert "HEAVY []" in result.stdout
