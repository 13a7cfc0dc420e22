"""Each clinic chooses how its forms name the clinician: on the CLI, on the admin pages
(admins, and a manager for their own clinic, audited), and in every form rendered for it."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from survey.clinics import ClinicError, form_bank
from survey.extensions import db
from survey.models import AuditEvent, Clinic, Invitation

from .conftest import csrf_token
from .staff import add_staff, sign_in


@pytest.fixture
def staff(app):
    with app.app_context():
        return add_staff()


def _term(app, clinic_id: int) -> str:
    with app.app_context():
        return db.session.get(Clinic, clinic_id).clinician_term


def _audit(app) -> list[AuditEvent]:
    with app.app_context():
        query = select(AuditEvent).where(AuditEvent.action == "clinic.clinician_term")
        return list(db.session.scalars(query))


def test_the_cli_sets_the_term_on_add_and_later(app, runner):
    added = runner.invoke(args=["clinic", "add", "Oak Clinic", "--clinician-term", "doctor"])
    assert added.exit_code == 0, added.output
    assert "the forms say 'your doctor'" in added.output
    changed = runner.invoke(
        args=["clinic", "set", "Oak Clinic", "--clinician-term", "nurse_practitioner", "--json"]
    )
    assert changed.exit_code == 0, changed.output
    assert json.loads(changed.stdout)["clinician_term"] == "nurse_practitioner"
    listed = runner.invoke(args=["clinic", "list"])
    assert "Oak Clinic\tnurse_practitioner" in listed.output
    [event] = _audit(app)
    assert (event.actor, event.detail) == ("cli", {"old": "doctor", "new": "nurse_practitioner"})


@pytest.mark.parametrize(
    "args",
    [
        ["clinic", "add", "Elm Clinic", "--clinician-term", "dentist"],
        ["clinic", "set", "Elm Clinic", "--clinician-term", "Doctor"],
    ],
)
def test_an_unknown_term_is_named_with_the_known_ones(app, runner, args):
    runner.invoke(args=["clinic", "add", "Elm Clinic"])
    result = runner.invoke(args=args)
    assert result.exit_code != 0
    assert "is not one the forms know; expected one of: clinician, doctor, nurse_practitioner" in (
        result.output
    )
    assert "Traceback" not in result.output


def test_set_without_a_change_says_what_to_give(app, runner):
    runner.invoke(args=["clinic", "add", "Elm Clinic"])
    result = runner.invoke(args=["clinic", "set", "Elm Clinic"])
    assert result.exit_code != 0 and "give --clinician-term" in result.output


def _post_term(client, clinic_id: int, term: str):
    page = client.get(f"/admin/clinics/{clinic_id}/clinician-term")
    assert page.status_code == 200
    return client.post(
        f"/admin/clinics/{clinic_id}/clinician-term",
        data={"term": term, "csrf_token": csrf_token(page.text)},
    )


def test_a_manager_sets_their_own_clinics_term_and_it_is_audited(app, staff):
    client = app.test_client()
    assert sign_in(client, "manager@example.org").status_code == 302
    page = client.get(f"/admin/clinics/{staff.clinic_a}/clinician-term").text
    # Every choice shows an item as patients would read it, in every language.
    assert "My nurse practitioner treats me as a person who matters." in page
    assert "Mi médico me trata como una persona que importa." in page
    assert _post_term(client, staff.clinic_a, "doctor").status_code == 302
    assert _term(app, staff.clinic_a) == "doctor"
    [event] = _audit(app)
    assert event.target == f"clinic:{staff.clinic_a}" and event.actor.startswith("user:")
    assert "your doctor" in client.get(f"/admin/clinics/{staff.clinic_a}/clinician-term").text


def test_a_manager_may_not_touch_another_clinic(app, staff):
    client = app.test_client()
    assert sign_in(client, "manager@example.org").status_code == 302
    own = client.get(f"/admin/clinics/{staff.clinic_a}/clinician-term")
    other = client.get(f"/admin/clinics/{staff.clinic_b}/clinician-term")
    assert other.status_code == 403
    posted = client.post(
        f"/admin/clinics/{staff.clinic_b}/clinician-term",
        data={"term": "doctor", "csrf_token": csrf_token(own.text)},
    )
    assert posted.status_code == 403
    assert _term(app, staff.clinic_b) == "clinician" and _audit(app) == []


@pytest.mark.parametrize("email", ["a1@example.org", "researcher@example.org"])
def test_clinicians_and_researchers_may_not_change_it(app, staff, email):
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    assert client.get(f"/admin/clinics/{staff.clinic_a}/clinician-term").status_code == 403


def test_an_admin_changes_it_from_the_clinics_table(app, staff):
    client = app.test_client()
    assert sign_in(client, "admin@example.org").status_code == 302
    table = client.get("/admin/clinics").text
    assert "How the forms of Birch Clinic name the clinician" in table
    response = client.post(
        f"/admin/clinics/{staff.clinic_b}/clinician-term",
        data={"term": "nurse_practitioner", "back": "clinics", "csrf_token": csrf_token(table)},
    )
    assert response.status_code == 302 and response.location.endswith("/admin/clinics")
    assert _term(app, staff.clinic_b) == "nurse_practitioner"
    bad = _post_term(client, staff.clinic_b, "healer")
    assert bad.status_code == 400 and "&#39;healer&#39; is not one the forms know" in bad.text
    assert _term(app, staff.clinic_b) == "nurse_practitioner"


def test_form_bank_words_the_form_for_the_clinic(app, staff):
    with app.app_context():
        clinic = db.session.get(Clinic, staff.clinic_a)
        clinic.clinician_term = "nurse_practitioner"
        english = form_bank(clinic).form("patient")
        spanish = form_bank(clinic, "es").form("patient")
        assert english.item("pt_val_1").text == (
            "My nurse practitioner treats me as a person who matters."
        )
        assert spanish.item("pt_val_1").text.startswith("Mi enfermero practicante ")
        assert form_bank(None).form("patient").item("pt_val_1").text.startswith("My clinician ")
        with pytest.raises(ClinicError, match="no language 'fr'"):
            form_bank(clinic, "fr")


def test_the_patients_pages_name_the_clinician_as_the_clinic_chose(app, patient, dyad_links):
    with app.app_context():
        invitation = db.session.get(Invitation, dyad_links.patient_invitation)
        invitation.clinician.clinic.clinician_term = "doctor"
        db.session.commit()
    first = patient.client.get(patient.page_url(1)).text
    assert "My doctor treats me as a person who matters." in first
    assert "My clinician " not in first
    # The error summary reads the same labels as the questions.
    item_ids = [item.id for item in patient.form.sections[0].items]
    shown = patient.post_page(1, {item_ids[0]: "9"}).text
    assert "My doctor treats me" in shown and "My clinician " not in shown
    spanish = patient.client.get(f"{patient.page_url(1)}?lang=es").text
    assert "Mi médico " in spanish
