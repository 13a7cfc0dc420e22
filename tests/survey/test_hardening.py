"""Hardening: security headers on every response, bad input answered 400 (never 500), FHIR
answers that are not integers, opaque API cursors, survey tokens out of logs."""

from __future__ import annotations

import json
import logging
import re

import pytest
from sqlalchemy import func, select

from survey.extensions import db
from survey.models import Answer, Clinician, Invitation, Response
from survey.security import SurveyTokenFilter, mask_survey_tokens

from .exchange import add_user, api_token, seed_demo
from .staff import add_staff, sign_in
from .test_fhir import FORM, answers_for, post, response_resource, token_of

NESTED = "[" * 30_000 + "]" * 30_000  # 60 KB of nested arrays


@pytest.fixture
def staff(app):
    with app.app_context():
        return add_staff()


@pytest.fixture
def admin(app, staff):
    client = app.test_client()
    assert sign_in(client, "admin@example.org").status_code == 302
    return client


def assert_hardened(response, path: str) -> None:
    headers = response.headers
    assert headers["X-Frame-Options"] == "DENY", path
    assert headers["X-Content-Type-Options"] == "nosniff", path
    assert headers["Referrer-Policy"] == "no-referrer", path
    policy = headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy, path
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy, path


def test_every_kind_of_response_has_the_security_headers(app, admin, staff, dyad_links):
    anonymous = app.test_client()
    pages = {
        "/": anonymous,
        "/sign-in": anonymous,
        "/no-such-page": anonymous,
        dyad_links.patient_url: anonymous,
        f"{dyad_links.patient_url}/1": anonymous,
        f"{dyad_links.patient_url}/review": anonymous,
        "/s/unknown-token": anonymous,
        "/api/v1/openapi.json": anonymous,
        "/api/v1/forms": anonymous,  # 401
        "/fhir/Questionnaire/patient": anonymous,
        "/dashboard/clinics": admin,
        f"/dashboard/clinics/{staff.clinic_a}": admin,
        "/exports/": admin,
    }
    for path, client in pages.items():
        response = client.get(path)
        assert_hardened(response, path)
        if response.mimetype == "text/html":
            # The policy forbids inline script and style: the pages must need neither. A script
            # is only ever a same-origin file (the respondent pages' autosave.js).
            scripts = re.findall(r"<script[^>]*>", response.text)
            assert all(
                re.fullmatch(r'<script src="/static/[a-z]+\.js" defer>', s) for s in scripts
            ), path
            assert "<style" not in response.text and " style=" not in response.text, path
            assert " style=" not in response.text and "<style" not in response.text, path


@pytest.mark.parametrize("suffix", ["", "/1", "/review", "/thanks"])
def test_respondent_pages_are_never_cached(client, dyad_links, suffix):
    response = client.get(dyad_links.patient_url + suffix)
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("wave", ["²", "١", "9" * 5000, "-1", "1.0"])
def test_a_wave_that_is_not_a_whole_number_is_a_400(admin, staff, wave):
    for path in (
        f"/dashboard/clinics/{staff.clinic_a}",
        f"/dashboard/clinics/{staff.clinic_a}/comparison",
        f"/dashboard/clinics/{staff.clinic_a}/scores.csv",
        f"/dashboard/clinicians/{staff.clinician_a1}",
    ):
        assert admin.get(path, query_string={"wave": wave}).status_code == 400, path
    assert (
        admin.get(
            f"/dashboard/clinics/{staff.clinic_a}", query_string={"from": "٢٠٢٦-٠١"}
        ).status_code
        == 400
    )


@pytest.fixture
def api_admin(app):
    seed_demo(app, dyads=6)
    add_user(app, "admin@example.org", "admin")
    return {"Authorization": f"Bearer {api_token(app, 'admin@example.org')}"}


def test_a_nul_byte_in_an_api_reference_is_a_400(app, client, api_admin):
    with app.app_context():
        invitations = db.session.scalar(select(func.count(Invitation.id)))
        clinician_id = db.session.scalar(select(Clinician.id).limit(1))
    response = client.post(
        "/api/v1/invitations",
        json={"clinician_id": clinician_id, "reference": "P-\x00-1"},
        headers=api_admin,
    )
    assert response.status_code == 400
    assert "reference" in response.json["error"]["message"]
    with app.app_context():
        assert db.session.scalar(select(func.count(Invitation.id))) == invitations


def test_deeply_nested_json_to_the_api_is_a_400(client, api_admin):
    response = client.post(
        "/api/v1/invitations", data=NESTED, headers=api_admin, content_type="application/json"
    )
    assert response.status_code == 400
    assert "nested too deeply" in response.json["error"]["message"]


def test_deeply_nested_json_to_fhir_is_a_400_operation_outcome(app, client, dyad_links):
    response = post(client, token_of(dyad_links.patient_url), NESTED)
    assert response.status_code == 400
    assert response.json["resourceType"] == "OperationOutcome"
    assert "nested too deeply" in response.json["issue"][0]["diagnostics"]
    with app.app_context():
        assert db.session.scalar(select(func.count(Response.id))) == 0


@pytest.mark.parametrize("value", [True, False, 3.0, 2.5, "3"])
def test_a_fhir_answer_that_is_not_an_integer_is_refused(app, client, dyad_links, value):
    resource = response_resource(answers_for(FORM))
    first = resource["item"][0]["item"][0]
    first["answer"] = [{"valueInteger": value}]
    response = post(client, token_of(dyad_links.patient_url), json.dumps(resource))
    assert response.status_code == 422, response.text
    diagnostics = response.json["issue"][0]["diagnostics"]
    assert first["linkId"] in diagnostics and "not an integer" in diagnostics
    with app.app_context():
        assert db.session.scalar(select(func.count(Answer.id))) == 0
        assert db.session.scalar(select(Invitation.state).limit(1)) == "pending"


def test_response_pages_use_an_opaque_cursor(app, client, api_admin):
    headers = api_admin
    with app.app_context():
        ids = {str(i) for i in db.session.scalars(select(Response.id))}
    first = client.get("/api/v1/responses?form=patient&limit=2", headers=headers)
    cursor = first.json["next_after"]
    assert isinstance(cursor, str) and cursor not in ids and len(cursor) >= 32
    # The same position gives a different cursor each time: nothing to correlate.
    again = client.get("/api/v1/responses?form=patient&limit=2", headers=headers)
    assert again.json["next_after"] != cursor
    second = client.get(f"/api/v1/responses?form=patient&limit=2&after={cursor}", headers=headers)
    assert second.status_code == 200
    assert not {r["response"] for r in first.json["responses"]} & {
        r["response"] for r in second.json["responses"]
    }
    for bad in ("5", "0", cursor[:-2] + ("AA" if cursor[-2:] != "AA" else "BB"), "\x00"):
        refused = client.get(
            "/api/v1/responses", query_string={"form": "patient", "after": bad}, headers=headers
        )
        assert refused.status_code == 400, bad
    # A cursor of one form's listing is not one of another's.
    other = client.get(
        "/api/v1/responses",
        query_string={"form": "clinician-dyad", "after": cursor},
        headers=headers,
    )
    assert other.status_code == 400


def test_survey_tokens_are_masked_in_the_request_log(dyad_links):
    token = dyad_links.patient_url.rsplit("/", 1)[1]
    record = logging.LogRecord(
        "werkzeug",
        logging.INFO,
        __file__,
        1,
        '%s - - [%s] "%s" %s %s',
        ("127.0.0.1", "now", f"GET /s/{token}/review HTTP/1.1", "200", "-"),
        None,
    )
    assert SurveyTokenFilter().filter(record)
    assert token not in record.getMessage()
    assert "/s/<token>/review" in record.getMessage()
    assert mask_survey_tokens(f"POST /s/{token}/submit") == "POST /s/<token>/submit"


def test_the_gunicorn_access_log_masks_survey_tokens(tmp_path, dyad_links):
    from datetime import timedelta

    from gunicorn.config import Config

    from survey.deploy import TokenMaskingLogger

    token = dyad_links.patient_url.rsplit("/", 1)[1]
    config = Config()
    config.set("accesslog", str(tmp_path / "access.log"))
    logger = TokenMaskingLogger(config)

    class Sent:
        status, sent, headers = "302 FOUND", 0, [("Location", f"/s/{token}/2")]

    environ = {
        "REQUEST_METHOD": "POST",
        "RAW_URI": f"/s/{token}/1",
        "PATH_INFO": f"/s/{token}/1",
        "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_REFERER": f"http://127.0.0.1/s/{token}",
    }
    logger.access(Sent(), environ, environ, timedelta(seconds=0.2))
    logger.error("Error handling request /s/%s/submit", token)
    for handler in logger.access_log.handlers:
        handler.flush()
    written = (tmp_path / "access.log").read_text()
    assert '"POST /s/<token>/1 HTTP/1.1" 302' in written
    assert token not in written


def test_an_id_beyond_the_database_integers_is_a_404(app, admin, staff, client):
    for path in (
        "/dashboard/clinics/99999999999999999999",
        "/dashboard/clinics/2147483648/scores.csv",
        "/dashboard/clinicians/2147483648",
    ):
        assert admin.get(path).status_code == 404, path
    headers = {"Authorization": f"Bearer {api_token(app, 'admin@example.org')}"}
    response = client.get("/api/v1/invitations/99999999999999999999", headers=headers)
    assert response.status_code == 404 and response.json["error"]["status"] == 404
