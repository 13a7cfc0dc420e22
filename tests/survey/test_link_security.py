"""What guards a survey link: the final submission needs the page's CSRF token, and a stored
token hash never works as a token (for survey links, FHIR submissions and API tokens alike)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from survey.extensions import db
from survey.invitations import find_invitation, hash_token
from survey.models import ApiToken, Invitation, Response

from .conftest import csrf_token
from .exchange import add_user, api_token
from .test_fhir import FORM, answers_for, post, response_resource


def invitation_state(app) -> tuple[str, int]:
    with app.app_context():
        state = db.session.scalar(select(Invitation.state).where(Invitation.form == "patient"))
        submitted = db.session.scalar(
            select(func.count(Response.id)).where(Response.submitted_at.is_not(None))
        )
    return state, submitted


@pytest.mark.parametrize("token", [None, "", "not-the-token", "wrong"])
def test_a_submission_without_the_right_csrf_token_is_refused(app, patient, token):
    patient.answer_all()
    review = patient.client.get(f"{patient.url}/review")
    real = csrf_token(review.text)
    if token == "wrong":
        # A well-formed token of another browser session: signed, but not this session's.
        other = app.test_client()
        token = csrf_token(other.get(f"{patient.url}/review").text)
        assert token != real
    data = {} if token is None else {"csrf_token": token}
    response = patient.client.post(f"{patient.url}/submit", data=data)
    assert response.status_code == 400
    assert invitation_state(app) == ("started", 0)
    # The link stays open: the same browser submits with the right token afterwards.
    assert patient.client.get(f"{patient.url}/review").status_code == 200
    assert patient.submit().status_code == 302
    assert invitation_state(app) == ("submitted", 1)


def stored_hash(app, url: str) -> str:
    token = url.rsplit("/", 1)[1]
    with app.app_context():
        invitation = find_invitation(token)
        assert invitation is not None
        return invitation.token_hash


def test_a_stored_hash_is_never_a_survey_token(app, client, dyad_links):
    hashed = stored_hash(app, dyad_links.patient_url)
    assert hashed == hash_token(dyad_links.patient_url.rsplit("/", 1)[1])
    with app.app_context():
        assert find_invitation(hashed) is None
        assert find_invitation(hashed.upper()) is None
    for path in (f"/s/{hashed}", f"/s/{hashed}/1", f"/s/{hashed}/review"):
        assert client.get(path).status_code == 404, path
    refused = post(client, hashed, response_resource(answers_for(FORM)))
    assert refused.status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count(Response.id))) == 0


def test_a_stored_hash_is_never_an_api_token(app, client):
    add_user(app, "admin@example.org", "admin")
    token = api_token(app, "admin@example.org")
    assert client.get(
        "/api/v1/forms", headers={"Authorization": f"Bearer {token}"}
    ).status_code == (200)
    with app.app_context():
        hashed = db.session.scalar(select(ApiToken.token_hash))
    assert hashed == hash_token(token)
    for guess in (hashed, f"hs_{hashed}", hashed.upper()):
        response = client.get("/api/v1/forms", headers={"Authorization": f"Bearer {guess}"})
        assert response.status_code == 401, guess
