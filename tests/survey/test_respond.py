"""The respondent flow end to end through Flask's test client, checking the stored rows."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from items import NOT_APPLICABLE, SKIPPED, load_bank
from survey.extensions import db
from survey.invitations import find_invitation, hash_token
from survey.models import Answer, AuditEvent, Invitation, Response, utcnow

from .conftest import Respondent, csrf_token

PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Mobile/15E148 Safari/604.1"


def token_of(url: str) -> str:
    return url.rsplit("/", 1)[-1]


def stored_answers(app, url: str) -> dict[str, tuple[int | None, str | None]]:
    with app.app_context():
        invitation = find_invitation(token_of(url))
        if invitation.response is None:
            return {}
        rows = db.session.execute(
            select(Answer.item_id, Answer.value, Answer.code).where(
                Answer.response_id == invitation.response.id
            )
        )
        return {item_id: (value, code) for item_id, value, code in rows}


def checked_value(html: str, item_id: str) -> str | None:
    """The value of the checked radio button of an item in a rendered page, if any."""
    for tag in re.findall(rf'<input[^>]*name="{re.escape(item_id)}"[^>]*>', html):
        if re.search(r"\bchecked\b", tag):
            return re.search(r'value="([^"]*)"', tag).group(1)
    return None


def answer_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Answer))


def test_welcome_says_who_sees_the_answers(patient):
    page = patient.open()
    assert page.status_code == 200
    assert patient.form.who_sees in page.text
    assert f"{urlsplit(patient.url).path}/1" in page.text


@pytest.mark.parametrize("who", ["patient", "clinician_respondent"])
def test_a_respondent_completes_the_form(app, who, request):
    respondent: Respondent = request.getfixturevalue(who)
    respondent.client.environ_base["HTTP_USER_AGENT"] = PHONE
    respondent.open()
    respondent.answer_all(lambda item: str(1 + len(item.id) % 5))
    review = respondent.client.get(f"{respondent.url}/review")
    assert review.status_code == 200
    assert "Check your answers" in review.text
    done = respondent.submit()
    assert done.status_code == 302 and done.location.endswith("/thanks")
    assert "Thank you" in respondent.client.get(done.location).text

    items = respondent.form.items
    answers = stored_answers(app, respondent.url)
    assert answers == {item.id: (1 + len(item.id) % 5, None) for item in items}
    with app.app_context():
        invitation = find_invitation(token_of(respondent.url))
        response = invitation.response
        assert invitation.state == "submitted"
        assert response.submitted_at is not None and response.duration_seconds >= 0
        assert response.bank_version == load_bank().version
        assert response.form == respondent.form_id
        assert response.user_agent_class == "phone"
        assert response.language == "en"
        versions = set(db.session.scalars(select(Answer.bank_version)))
        assert versions == {load_bank().version}
        audit = db.session.scalars(select(AuditEvent.action)).all()
        assert "response.submit" in audit


def test_each_item_is_a_fieldset_with_legend_and_labelled_radios(patient):
    page = patient.client.get(patient.page_url(1)).text
    section = patient.form.sections[0]
    assert page.count("<fieldset") == len(section.items)
    assert page.count("<legend>") == len(section.items)
    for item in section.items:
        for option in item.scale.options:
            assert f'id="{item.id}-{option.value - 1}"' in page
        assert f'for="{item.id}-0"' in page
    assert f"Part 1 of {len(patient.form.sections)}" in page


def test_self_assessment_covers_the_four_competencies(app, client, self_link):
    respondent = Respondent(client, self_link.url, "clinician-self")
    constructs = [section.construct.id for section in respondent.form.sections]
    assert constructs == [
        "self_confidence",
        "emotional_self_management",
        "mindfulness",
        "knowledge",
    ]
    respondent.answer_all()
    assert respondent.submit().status_code == 302
    assert len(stored_answers(app, self_link.url)) == len(respondent.form.items)


def test_resume_after_a_break_shows_saved_answers(app, patient):
    first, second = patient.form.sections[:2]
    patient.post_page(1, {item.id: "5" for item in first.items})
    patient.post_page(2, {second.items[0].id: "2"})

    # A new browser session: the tab was closed, only the link is left.
    later = Respondent(app.test_client(), patient.url, "patient")
    welcome = later.open().text
    assert "Continue where you stopped" in welcome
    assert f"{urlsplit(patient.url).path}/3" in welcome
    page_two = later.client.get(later.page_url(2)).text
    assert checked_value(page_two, second.items[0].id) == "2"
    assert checked_value(page_two, second.items[1].id) is None
    later.answer_all()
    assert later.submit().status_code == 302
    assert stored_answers(app, patient.url)[second.items[1].id] == (4, None)


def test_resume_at_part_one_offers_a_single_way_in(patient):
    first = patient.form.sections[0]
    patient.post_page(1, {first.items[0].id: "4"}, nav="back")
    welcome = patient.open().text
    assert "Continue where you stopped" in welcome
    assert "Start again from part 1" not in welcome


def test_enter_in_a_radio_button_goes_forward(patient):
    # Implicit submission (Enter in a field) uses the form's first submit button.
    page = patient.client.get(patient.page_url(2)).text
    first_button = re.search(
        r'<(?:button|input)[^>]*type="submit"[^>]*>', page.split("<form", 1)[1]
    )[0]
    assert 'name="nav"' in first_button and 'value="next"' in first_button


def test_back_saves_the_page_and_goes_to_the_previous_one(app, patient):
    second = patient.form.sections[1]
    response = patient.post_page(2, {second.items[0].id: "3"}, nav="back")
    assert response.status_code == 302 and response.location == urlsplit(patient.page_url(1)).path
    assert stored_answers(app, patient.url) == {second.items[0].id: (3, None)}


def test_skipped_and_not_applicable_are_stored_as_codes(app, patient):
    form = patient.form
    optional = next(item for item in form.items if item.not_applicable)
    for page, section in enumerate(form.sections, start=1):
        answers = {item.id: "4" for item in section.items[1:]}
        if optional in section.items:
            answers[optional.id] = NOT_APPLICABLE
        patient.post_page(page, answers)
    review = patient.client.get(f"{patient.url}/review").text
    assert "blank" in review
    patient.submit()
    stored = stored_answers(app, patient.url)
    assert stored[optional.id] == (None, NOT_APPLICABLE)
    for section in form.sections:
        if section.items[0] != optional:
            assert stored[section.items[0].id] == (None, SKIPPED)


def test_not_applicable_is_refused_where_the_item_does_not_offer_it(app, patient):
    item = next(item for item in patient.form.sections[0].items if not item.not_applicable)
    response = patient.post_page(1, {item.id: NOT_APPLICABLE})
    assert response.status_code == 400
    assert answer_count(app) == 0


@pytest.mark.parametrize("value", ["7", "0", "-1", "3.5", "abc", ""])
def test_a_value_out_of_range_is_refused_and_nothing_changes(app, patient, value):
    items = patient.form.sections[0].items
    patient.post_page(1, {item.id: "4" for item in items})
    before = stored_answers(app, patient.url)
    response = patient.post_page(1, {items[0].id: "2", items[1].id: value})
    if value == "":
        # An empty choice is a blank answer, not an error: the saved answer stays.
        assert response.status_code == 302
        assert stored_answers(app, patient.url)[items[1].id] == before[items[1].id]
        return
    assert response.status_code == 400
    assert "Please check your answers" in response.text
    assert items[1].text in response.text
    assert stored_answers(app, patient.url) == before


def test_an_item_not_on_the_page_is_refused(app, patient):
    items = patient.form.sections[0].items
    other = patient.form.sections[1].items[0]
    response = patient.post_page(1, {items[0].id: "4", other.id: "4", "pt_bogus_9": "1"})
    assert response.status_code == 400
    assert "pt_bogus_9" in response.text and other.id in response.text
    assert answer_count(app) == 0


def test_a_repeated_answer_is_refused(app, patient):
    item = patient.form.sections[0].items[0]
    token = csrf_token(patient.client.get(patient.page_url(1)).text)
    response = patient.client.post(
        patient.page_url(1),
        data={item.id: ["4", "5"], "csrf_token": token, "nav": "next"},
    )
    assert response.status_code == 400
    assert answer_count(app) == 0


@pytest.mark.parametrize("csrf", [None, "not-the-token"])
def test_a_missing_or_wrong_csrf_token_is_refused(app, patient, csrf):
    item = patient.form.sections[0].items[0]
    patient.open()
    extra = {} if csrf is None else {"csrf_token": csrf}
    response = patient.post_page(1, {item.id: "4"}, token=False, extra=extra)
    assert response.status_code == 400
    assert "nothing was saved" in response.text
    assert "Traceback" not in response.text
    assert answer_count(app) == 0


def test_an_oversized_body_is_refused(app, patient):
    item = patient.form.sections[0].items[0]
    response = patient.post_page(1, {item.id: "4"}, extra={"padding": "x" * 200_000})
    assert response.status_code == 413
    assert "nothing was saved" in response.text
    assert answer_count(app) == 0


def test_after_submission_the_link_says_already_submitted(app, patient):
    patient.answer_all()
    patient.submit()
    for path in (patient.url, patient.page_url(1), f"{patient.url}/review"):
        page = patient.client.get(path)
        assert page.status_code == 200
        assert "already submitted" in page.text


def test_posting_to_a_submitted_invitation_is_a_conflict(app, patient):
    item = patient.form.sections[0].items[0]
    token = csrf_token(patient.client.get(patient.page_url(1)).text)
    patient.answer_all()
    patient.submit()
    before = stored_answers(app, patient.url)
    page = patient.client.post(
        patient.page_url(1), data={item.id: "1", "csrf_token": token, "nav": "next"}
    )
    assert page.status_code == 409
    assert "already submitted" in page.text
    assert "Back button" not in page.text
    again = patient.client.post(f"{patient.url}/submit", data={"csrf_token": token})
    assert again.status_code == 409
    assert stored_answers(app, patient.url) == before


def expire(app, url: str) -> None:
    with app.app_context():
        invitation = find_invitation(token_of(url))
        invitation.expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()


def test_an_expired_link_gets_a_friendly_410(app, patient):
    item = patient.form.sections[0].items[0]
    token = csrf_token(patient.client.get(patient.page_url(1)).text)
    expire(app, patient.url)
    page = patient.open()
    assert page.status_code == 410
    assert "expired" in page.text
    post = patient.client.post(
        patient.page_url(1), data={item.id: "4", "csrf_token": token, "nav": "next"}
    )
    assert post.status_code == 410
    assert "ask your clinic for a new link" in post.text
    assert "Back button" not in post.text
    assert answer_count(app) == 0


@pytest.mark.parametrize("path", ["/s/no-such-token", "/s/no-such-token/1", "/s/x/review"])
def test_an_unknown_link_gets_a_friendly_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert "could not find this page" in response.text


def test_a_page_number_outside_the_form_is_404(patient):
    assert patient.client.get(patient.page_url(0)).status_code == 404
    assert patient.client.get(patient.page_url(99)).status_code == 404


def test_an_unexpected_error_shows_a_friendly_page(app, patient, monkeypatch):
    from survey.respond import flow

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(flow, "save_page", broken)
    item = patient.form.sections[0].items[0]
    response = patient.post_page(1, {item.id: "4"})
    assert response.status_code == 500
    assert "Traceback" not in response.text and "database went away" not in response.text
    assert "Nothing saved before was lost" in response.text


def test_tokens_are_stored_only_as_hashes(app, dyad_links):
    token = token_of(dyad_links.patient_url)
    assert len(token) >= 32
    with app.app_context():
        hashes = set(db.session.scalars(select(Invitation.token_hash)))
    assert hash_token(token) in hashes
    assert token not in hashes


def test_opening_the_link_marks_the_invitation_opened(app, patient):
    patient.open()
    with app.app_context():
        invitation = find_invitation(token_of(patient.url))
        assert invitation.state == "opened" and invitation.opened_at is not None
        assert db.session.scalar(select(func.count()).select_from(Response)) == 0


def test_the_clinician_form_names_the_patient_reference_and_the_patient_form_does_not(
    app, clinician_id
):
    from survey.invitations import invite_dyad

    with app.app_context():
        links = invite_dyad(clinician_id, reference="MRN-PSEUDO-77")
    client = app.test_client()
    assert "MRN-PSEUDO-77, wave 1" in client.get(links.clinician_url).text
    assert "MRN-PSEUDO-77" not in client.get(links.patient_url).text
