"""Information and consent: versioned texts per clinic and form, the consent question before
the first answer, a decline that stores nothing but a count, the version in every export, and
the staff page (managers for their own clinic only, every change audited)."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import func, select

from survey.consent import texts as consent
from survey.consent.models import ConsentDeclineCount, ConsentText
from survey.delivery.contacts import attach_contact
from survey.exports.service import ExportRequest, export_to_path
from survey.extensions import db
from survey.invitations import find_invitation, invite_dyad
from survey.models import Answer, AuditEvent, Clinic, Clinician, Response

from .conftest import Respondent, csrf_token
from .staff import add_staff, sign_in
from .test_respond import token_of


def texts(**changes) -> dict:
    words = {language: dict(consent.DEFAULT_TEXTS[language]) for language in consent.LANGUAGES}
    for key, value in changes.items():
        language, part = key.split("_", 1)
        words[language][part] = value
    return words


def clinic_of(app, clinician_id: int) -> int:
    with app.app_context():
        return db.session.get(Clinician, clinician_id).clinic_id


def set_text(app, clinic_id: int, *, ask: bool = True, form="patient", **changes) -> int:
    with app.app_context():
        text = consent.save_text(
            clinic_id,
            form,
            show_information=True,
            ask_consent=ask,
            texts=texts(**changes),
            actor="user:test",
        )
        return text.id


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_every_change_makes_a_new_version_and_incomplete_texts_are_refused(app, clinician_id):
    clinic_id = clinic_of(app, clinician_id)
    first = set_text(app, clinic_id)
    second = set_text(app, clinic_id, en_question="Will you answer our questions?")
    with app.app_context():
        rows = db.session.scalars(select(ConsentText).order_by(ConsentText.version)).all()
        assert [(r.id, r.version) for r in rows] == [(first, 1), (second, 2)]
        assert rows[0].texts["en"]["question"] == consent.DEFAULT_TEXTS["en"]["question"]
        assert consent.current_text(clinic_id, "patient").id == second
        assert consent.current_text(clinic_id, "clinician-dyad") is None
        with pytest.raises(consent.ConsentError, match="Nothing was changed"):
            consent.save_text(
                clinic_id,
                "patient",
                show_information=True,
                ask_consent=True,
                texts=texts(en_question="Will you answer our questions?"),
                actor="user:test",
            )
        with pytest.raises(consent.ConsentError, match="information text in Español is empty"):
            consent.save_text(
                clinic_id,
                "patient",
                show_information=True,
                ask_consent=False,
                texts=texts(es_information="  "),
                actor="user:test",
            )
        with pytest.raises(consent.ConsentError, match="consent question in English is empty"):
            consent.save_text(
                clinic_id,
                "patient",
                show_information=True,
                ask_consent=True,
                texts=texts(en_question=""),
                actor="user:test",
            )
        with pytest.raises(consent.ConsentError, match="needs the information page"):
            consent.save_text(
                clinic_id,
                "patient",
                show_information=False,
                ask_consent=True,
                texts=texts(),
                actor="user:test",
            )
        audited = db.session.scalars(
            select(AuditEvent.detail).where(AuditEvent.action == "consent.text")
        ).all()
        assert [d["version"] for d in audited] == [1, 2]


def test_without_a_text_the_form_starts_as_before(app, patient):
    page = patient.open()
    assert "Before you start" not in page.text and 'name="consent"' not in page.text
    patient.answer_all()
    assert patient.submit().status_code == 302
    with app.app_context():
        response = find_invitation(token_of(patient.url)).response
        assert (response.consent_text_id, response.consent_answer) == (None, None)


def test_questions_wait_for_consent_and_a_decline_keeps_only_a_count(app, patient, clinician_id):
    text_id = set_text(app, clinic_of(app, clinician_id))
    with app.app_context():
        token = token_of(patient.url)
        attach_contact(find_invitation(token), token=token, address="patient@example.org")
        db.session.commit()
    page = patient.open()
    assert consent.DEFAULT_TEXTS["en"]["question"] in page.text
    assert "Taking part is your choice." in page.text
    # No question, no answer saved, no review, no submission before consent.
    assert patient.client.get(patient.page_url(1)).location.endswith(token_of(patient.url))
    section = patient.form.sections[0]
    posted = patient.client.post(
        patient.page_url(1),
        data={"csrf_token": csrf_token(page.text), section.items[0].id: "4", "nav": "next"},
    )
    assert posted.status_code == 302 and count(app, Response) == 0
    submitted = patient.client.post(
        f"{patient.url}/submit", data={"csrf_token": csrf_token(page.text)}
    )
    assert submitted.status_code == 302 and count(app, Response) == 0

    # Neither yes nor no: the page says what to do, with the error tied to the question.
    unanswered = patient.client.post(
        f"{patient.url}/consent", data={"csrf_token": csrf_token(page.text), "text": text_id}
    )
    assert unanswered.status_code == 400
    assert 'aria-describedby="consent-error"' in unanswered.text

    declined = patient.client.post(
        f"{patient.url}/consent",
        data={"csrf_token": csrf_token(page.text), "text": text_id, "consent": "no"},
    )
    assert declined.status_code == 302
    assert "No answers were saved" in patient.client.get(declined.location).text
    assert count(app, Response) == 0 and count(app, Answer) == 0
    # Pressing No again on the same link does not count again.
    again = patient.client.post(
        f"{patient.url}/consent",
        data={"csrf_token": csrf_token(page.text), "text": text_id, "consent": "no"},
    )
    assert again.status_code == 302
    with app.app_context():
        assert db.session.get(ConsentDeclineCount, text_id).declines == 1
        invitation = find_invitation(token_of(patient.url))
        assert invitation.response is None and invitation.state in ("pending", "opened")
        from survey.delivery.models import InvitationContact

        assert db.session.scalar(select(func.count()).select_from(InvitationContact)) == 0
        # Nothing about this respondent went to the audit log either.
        actions = db.session.scalars(select(AuditEvent.action)).all()
        assert not [a for a in actions if "decline" in a]


def test_agreeing_records_the_version_and_later_versions_leave_it_alone(app, patient, clinician_id):
    clinic_id = clinic_of(app, clinician_id)
    first = set_text(app, clinic_id)
    page = patient.open()
    agreed = patient.client.post(
        f"{patient.url}/consent",
        data={"csrf_token": csrf_token(page.text), "text": first, "consent": "yes"},
    )
    assert agreed.status_code == 302 and agreed.location.endswith("/1")
    set_text(app, clinic_id, en_title="About this survey")  # version 2, mid-response
    patient.answer_all()
    assert patient.submit().status_code == 302
    with app.app_context():
        response = find_invitation(token_of(patient.url)).response
        assert (response.consent_text_id, response.consent_answer) == (first, "agreed")
        assert response.submitted_at is not None


def test_an_answer_to_an_outdated_version_is_asked_again(app, patient, clinician_id):
    clinic_id = clinic_of(app, clinician_id)
    first = set_text(app, clinic_id)
    page = patient.open()
    set_text(app, clinic_id, en_information="New information.")
    answer = patient.client.post(
        f"{patient.url}/consent",
        data={"csrf_token": csrf_token(page.text), "text": first, "consent": "yes"},
    )
    assert answer.status_code == 302 and count(app, Response) == 0
    assert "New information." in patient.client.get(answer.location).text


def test_an_information_page_without_question_is_recorded_as_informed(app, patient, clinician_id):
    text_id = set_text(app, clinic_of(app, clinician_id), ask=False)
    page = patient.open()
    assert "Taking part is your choice." in page.text and 'name="consent"' not in page.text
    patient.answer_all()
    patient.submit()
    with app.app_context():
        response = find_invitation(token_of(patient.url)).response
        assert (response.consent_text_id, response.consent_answer) == (text_id, "informed")


def test_the_information_is_shown_in_spanish(app, patient, clinician_id):
    set_text(app, clinic_of(app, clinician_id), es_title="Antes de empezar (clínica)")
    page = patient.client.get(f"{patient.url}?lang=es")
    assert "Antes de empezar (clínica)" in page.text
    assert consent.DEFAULT_TEXTS["es"]["question"] in page.text
    assert 'lang="es"' in page.text and "English" in page.text
    with app.app_context():
        invitation = find_invitation(token_of(patient.url))
        invitation.language = "es"
        db.session.commit()
    assert "Participar es su decisión." in patient.open().text


def _consented_submission(app, clinician_id, text_id):
    with app.app_context():
        links = invite_dyad(clinician_id)
    respondent = Respondent(app.test_client(), links.patient_url, "patient")
    page = respondent.open()
    respondent.client.post(
        f"{respondent.url}/consent",
        data={"csrf_token": csrf_token(page.text), "text": text_id, "consent": "yes"},
    )
    respondent.answer_all()
    assert respondent.submit().status_code == 302


@pytest.mark.parametrize("fmt", ["csv", "codebook", "sav", "dta"])
def test_exports_carry_the_consent_version(app, clinician_id, tmp_path, fmt):
    clinic_id = clinic_of(app, clinician_id)
    set_text(app, clinic_id)
    second = set_text(app, clinic_id, en_title="Version two")
    _consented_submission(app, clinician_id, second)
    out = tmp_path / f"export.{fmt}"
    with app.app_context():
        export_to_path(ExportRequest(form="patient", format=fmt), out, actor="test", secret_key="k")
    if fmt == "csv":
        row = next(csv.DictReader(io.StringIO(out.read_text())))
        assert (row["consent_version"], row["consent"]) == ("2", "agreed")
    elif fmt == "codebook":
        text = out.read_text()
        assert "consent_version" in text and "Version of the information" in text
    else:
        import pyreadstat

        read = pyreadstat.read_sav if fmt == "sav" else pyreadstat.read_dta
        frame, meta = read(str(out))
        assert frame["consent_version"].tolist() == [2]
        assert frame["consent"].tolist() == ["agreed"]
        assert "information" in meta.column_names_to_labels["consent_version"]


def test_deidentified_exports_carry_the_consent_version_too(app, clinician_id, tmp_path):
    clinic_id = clinic_of(app, clinician_id)
    text_id = set_text(app, clinic_id)
    _consented_submission(app, clinician_id, text_id)
    out = tmp_path / "deidentified.csv"
    with app.app_context():
        export_to_path(
            ExportRequest(form="patient", format="csv", deidentify=True),
            out,
            actor="test",
            secret_key="k",
        )
    row = next(csv.DictReader(io.StringIO(out.read_text())))
    assert (row["consent_version"], row["consent"]) == ("1", "agreed")


# --- the staff page ------------------------------------------------------------------------


@pytest.fixture
def staff(app):
    with app.app_context():
        return add_staff()


def _edit(client, clinic_id: int, form: str = "patient", **fields):
    page = client.get(f"/admin/clinics/{clinic_id}/consent?form={form}")
    data = {"csrf_token": csrf_token(page.text)}
    for language in consent.LANGUAGES:
        for part in consent.PARTS:
            data[f"{language}-{part}"] = consent.DEFAULT_TEXTS[language][part]
    data |= {"show_information": "on", "ask_consent": "on"} | fields
    return client.post(f"/admin/clinics/{clinic_id}/consent/{form}", data=data)


def test_a_manager_edits_their_clinics_text_audited(app, client, staff):
    assert sign_in(client, "manager@example.org").status_code == 302
    page = client.get("/admin/consent", follow_redirects=True)
    assert page.status_code == 200
    assert "Not set up yet" in page.text and "Taking part is your choice." in page.text
    assert 'aria-current="page"' in page.text  # the staff navigation marks Administration
    saved = _edit(client, staff.clinic_a, **{"en-title": "Before we begin"})
    assert saved.status_code == 302
    page = client.get(saved.location)
    assert "Saved as version 1" in page.text and "Save as version 2" in page.text
    again = _edit(client, staff.clinic_a, **{"en-title": "Before we begin", "ask_consent": ""})
    assert again.status_code == 302
    with app.app_context():
        text = consent.current_text(staff.clinic_a, "patient")
        assert (text.version, text.ask_consent, text.texts["en"]["title"]) == (
            2,
            False,
            "Before we begin",
        )
        manager_id = db.session.scalar(
            select(AuditEvent.actor).where(AuditEvent.action == "consent.text")
        )
        assert manager_id.startswith("user:")
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "consent.text")
        ).all()
        assert [(e.target, e.detail["version"]) for e in events] == [
            (f"clinic:{staff.clinic_a}", 1),
            (f"clinic:{staff.clinic_a}", 2),
        ]
    bad = _edit(client, staff.clinic_a, **{"es-information": ""})
    assert bad.status_code == 400 and "Español is empty" in bad.text
    assert 'aria-describedby="consent-message"' in bad.text


def test_a_manager_of_another_clinic_and_other_roles_are_refused(app, client, staff):
    assert sign_in(client, "manager@example.org").status_code == 302
    assert client.get(f"/admin/clinics/{staff.clinic_b}/consent").status_code == 403
    token = csrf_token(client.get(f"/admin/clinics/{staff.clinic_a}/consent").text)
    foreign = client.post(
        f"/admin/clinics/{staff.clinic_b}/consent/patient",
        data={"csrf_token": token, "show_information": "on", "en-information": "x"},
    )
    assert foreign.status_code == 403
    period = client.post(
        f"/admin/clinics/{staff.clinic_b}/withdrawal",
        data={"csrf_token": token, "withdrawal_days": "1"},
    )
    assert period.status_code == 403
    assert client.get(f"/admin/clinics/{staff.clinic_a}/consent?form=nope").status_code == 404
    assert client.get("/admin/clinics/999/consent").status_code == 404
    # Without the CSRF token nothing is saved.
    assert client.post(f"/admin/clinics/{staff.clinic_a}/withdrawal", data={}).status_code == 400
    for email in ("a1@example.org", "researcher@example.org"):
        other = app.test_client()
        sign_in(other, email)
        assert other.get(f"/admin/clinics/{staff.clinic_a}/consent").status_code == 403
    assert app.test_client().get("/admin/consent").status_code == 302  # to sign in
    assert count(app, ConsentText) == 0
    with app.app_context():
        assert db.session.get(Clinic, staff.clinic_b).withdrawal_days == 30


def test_an_admin_edits_any_clinic_and_sets_the_withdrawal_period(app, client, staff):
    assert sign_in(client, "admin@example.org").status_code == 302
    listing = client.get("/admin/consent")
    assert "Alder Clinic" in listing.text and "Birch Clinic" in listing.text
    assert _edit(client, staff.clinic_b, form="clinician-dyad").status_code == 302
    page = client.get(f"/admin/clinics/{staff.clinic_b}/consent")
    token = csrf_token(page.text)
    changed = client.post(
        f"/admin/clinics/{staff.clinic_b}/withdrawal",
        data={"csrf_token": token, "withdrawal_days": "14"},
    )
    assert changed.status_code == 302
    for bad in ("two weeks", "-1", "366"):
        refused = client.post(
            f"/admin/clinics/{staff.clinic_b}/withdrawal",
            data={"csrf_token": token, "withdrawal_days": bad},
        )
        assert refused.status_code == 400 and "days" in refused.text
    with app.app_context():
        assert db.session.get(Clinic, staff.clinic_b).withdrawal_days == 14
        assert consent.current_text(staff.clinic_b, "clinician-dyad").version == 1
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "clinic.withdrawal_days")
        )
        assert event.detail == {"days": 14, "before": 30}


def test_a_question_switched_on_mid_response_is_asked_and_a_decline_deletes_the_answers(
    app, patient, clinician_id
):
    section = patient.form.sections[0]
    patient.open()
    assert patient.post_page(1, {item.id: "3" for item in section.items}).status_code == 302
    assert count(app, Answer) == len(section.items)
    text_id = set_text(app, clinic_of(app, clinician_id))
    page = patient.open()
    assert 'name="consent"' in page.text and "Continue where you stopped" not in page.text
    assert patient.client.get(patient.page_url(2)).status_code == 302  # back to the question
    patient.client.post(
        f"{patient.url}/consent",
        data={"csrf_token": csrf_token(page.text), "text": text_id, "consent": "no"},
    )
    assert count(app, Response) == 0 and count(app, Answer) == 0
    with app.app_context():
        assert db.session.get(ConsentDeclineCount, text_id).declines == 1
