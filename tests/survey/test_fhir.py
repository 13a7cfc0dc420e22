"""FHIR R4: Questionnaire and QuestionnaireResponse resources, our own checks, and the endpoint
that takes a QuestionnaireResponse for an invitation."""

from __future__ import annotations

import copy
import json

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from sqlalchemy import func, select

from items import load_bank
from survey.extensions import db
from survey.fhir.resources import (
    ITEM_WEIGHT,
    FhirError,
    ResponseContext,
    check_questionnaire,
    questionnaire,
    questionnaire_response,
    read_answers,
)
from survey.invitations import find_invitation, invite_dyad
from survey.models import AuditEvent, Invitation, Response

from .conftest import Respondent
from .exchange import stored_answers

BANK = load_bank()
FORM = BANK.form("patient")


def answers_for(form) -> dict[str, int | str]:
    """A mix of values, a "does not apply" and a skipped item."""
    answers = {item.id: 1 + i % 5 for i, item in enumerate(form.items)}
    answers["pt_abi_3"] = "not_applicable"
    del answers["pt_val_2"]
    return answers


def response_resource(answers, form_id="patient") -> dict:
    context = ResponseContext(id="1", clinician="1", dyad="1", wave=1, authored="2026-11-01")
    return questionnaire_response(
        BANK.form(form_id), answers, context=context, version=BANK.version
    )


@pytest.mark.parametrize("form_id", list(BANK.forms))
def test_questionnaire_is_valid_r4(form_id):
    resource = questionnaire(form_id)
    model = Questionnaire.model_validate(resource)
    check_questionnaire(resource)
    assert model.version == BANK.version and model.status == "active"
    form = BANK.form(form_id)
    assert [group.linkId for group in model.item] == [s.construct.id for s in form.sections]
    choices = [child for group in model.item for child in group.item if child.type == "choice"]
    assert [child.linkId for child in choices] == [item.id for item in form.items]
    first = choices[0].answerOption[0]
    assert first.valueCoding.code == "1" and first.valueCoding.display == "Strongly disagree"
    assert first.extension[0].url == ITEM_WEIGHT and first.extension[0].valueDecimal == 1


def test_own_checks_catch_what_fhir_resources_accepts():
    duplicate = questionnaire("patient")
    duplicate["item"][1]["item"].append(copy.deepcopy(duplicate["item"][0]["item"][1]))
    Questionnaire.model_validate(duplicate)  # structure only: it passes
    with pytest.raises(FhirError, match="duplicate linkId 'pt_val_1'"):
        check_questionnaire(duplicate)
    unknown = questionnaire("patient")
    unknown["item"][0]["item"][1]["type"] = "likert"
    Questionnaire.model_validate(unknown)
    with pytest.raises(FhirError, match="type 'likert'"):
        check_questionnaire(unknown)


def test_response_resource_is_valid_and_reads_back():
    answers = answers_for(FORM)
    resource = response_resource(answers)
    QuestionnaireResponse.model_validate(resource)
    assert read_answers(resource, form_id="patient") == answers


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda r: r.update(questionnaire="urn:healing-survey:questionnaire:clinician-self"),
            "not 'clinician-self'",
        ),
        (
            lambda r: r.update(questionnaire="urn:healing-survey:questionnaire:patient|1999.1"),
            "does not match the item bank",
        ),
        (lambda r: r.update(status="in-progress"), "only 'completed'"),
        (
            lambda r: r["item"][0]["item"].append(copy.deepcopy(r["item"][0]["item"][0])),
            "duplicate linkId",
        ),
        (
            lambda r: r["item"][0]["item"][0]["answer"][0]["valueCoding"].update(code="6"),
            "not one of its answer options",
        ),
        (
            lambda r: r["item"][0]["item"][0]["answer"][0]["valueCoding"].update(
                code="not_applicable"
            ),
            "not one of its answer options",
        ),
        (lambda r: r["item"][0]["item"][0].update(linkId="pt_zzz_1"), "has no item 'pt_zzz_1'"),
        (lambda r: r["item"][0]["item"][0]["answer"].append({"valueInteger": 2}), "takes one"),
        (
            lambda r: r["item"][0]["item"][0].update(answer=[{"valueString": "yes"}]),
            "valueCoding or valueInteger",
        ),
    ],
)
def test_read_answers_refuses(change, message):
    resource = response_resource(answers_for(FORM))
    change(resource)
    with pytest.raises(FhirError, match=message):
        read_answers(resource, form_id="patient")


# --- the endpoint -------------------------------------------------------------------------


def post(client, token, resource, **headers):
    body = resource if isinstance(resource, str | bytes) else json.dumps(resource)
    headers = {"Authorization": f"Bearer {token}", **headers}
    return client.post(
        "/fhir/QuestionnaireResponse",
        data=body,
        headers=headers,
        content_type="application/fhir+json",
    )


def token_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


def test_endpoint_stores_exactly_what_a_web_submission_stores(app, client, clinician_id):
    with app.app_context():
        first = invite_dyad(clinician_id)
        second = invite_dyad(clinician_id)
    answers = answers_for(FORM)
    response = post(client, token_of(first.patient_url), response_resource(answers))
    assert response.status_code == 201, response.text
    assert response.content_type == "application/fhir+json"
    QuestionnaireResponse.model_validate(response.json)

    web = Respondent(app.test_client(), second.patient_url, "patient")
    web.answer_all(lambda item: str(answers[item.id]) if item.id in answers else "")
    assert web.submit().status_code == 302

    with app.app_context():
        by_fhir = find_invitation(token_of(first.patient_url))
        by_web = find_invitation(token_of(second.patient_url))
        assert by_fhir.state == by_web.state == "submitted"
        fhir_answers = stored_answers(by_fhir.response.id)
        assert fhir_answers == stored_answers(by_web.response.id)
        assert fhir_answers == answers | {"pt_val_2": "skipped"}
        for field in ("form", "bank_version", "language", "resume_section"):
            assert getattr(by_fhir.response, field) == getattr(by_web.response, field)
        submits = db.session.scalar(
            select(func.count()).where(AuditEvent.action == "response.submit")
        )
        assert submits == 2
    again = post(client, token_of(first.patient_url), response_resource(answers))
    assert again.status_code == 409
    assert again.json["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize(
    ("body", "headers", "status", "text"),
    [
        ("{not json", {}, 400, "not JSON"),
        (json.dumps({"resourceType": "Patient"}), {}, 400, "expected a QuestionnaireResponse"),
        (
            json.dumps(
                {
                    "resourceType": "QuestionnaireResponse",
                    "status": "completed",
                    "item": "everything",
                }
            ),
            {},
            400,
            "not a valid FHIR R4 QuestionnaireResponse",
        ),
        ("clinician-form", {}, 422, "for the 'patient' form"),
        ("value-7", {}, 422, "not one of its answer options"),
        ("ok", {"Authorization": "Bearer unknown-token"}, 404, "no open invitation"),
        ("ok", {"Authorization": ""}, 401, "Authorization: Bearer"),
    ],
)
def test_endpoint_refuses_and_stores_nothing(app, client, dyad_links, body, headers, status, text):
    resource = response_resource(answers_for(FORM))
    if body == "clinician-form":
        other = BANK.form("clinician-dyad")
        body = response_resource({item.id: 3 for item in other.items}, "clinician-dyad")
    elif body == "value-7":
        resource["item"][0]["item"][0]["answer"][0]["valueCoding"]["code"] = "7"
        body = resource
    elif body == "ok":
        body = resource
    response = post(client, token_of(dyad_links.patient_url), body, **headers)
    assert response.status_code == status
    outcome = response.json
    assert outcome["resourceType"] == "OperationOutcome"
    assert text in outcome["issue"][0]["diagnostics"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Response)) == 0
        states = db.session.scalars(select(Invitation.state)).all()
        assert set(states) == {"pending"}


def test_questionnaire_endpoint(client):
    response = client.get("/fhir/Questionnaire/clinician-self")
    assert response.status_code == 200 and response.json["url"].endswith("clinician-self")
    missing = client.get("/fhir/Questionnaire/nurse")
    assert missing.status_code == 404 and missing.json["resourceType"] == "OperationOutcome"
    unknown = client.get("/fhir/Patient/1")
    assert unknown.status_code == 404 and unknown.json["resourceType"] == "OperationOutcome"
    wrong = client.get("/fhir/QuestionnaireResponse")
    assert wrong.status_code == 405 and wrong.headers["Allow"] == "OPTIONS, POST"
    assert wrong.json["issue"][0]["code"] == "not-supported"


def test_bundle_export_round_trip(app, client, clinician_id, tmp_path):
    """Export responses as a Bundle, send each QuestionnaireResponse in: the same answers."""
    from survey.exports.service import ExportRequest, export_to_path

    with app.app_context():
        sources = [invite_dyad(clinician_id) for _ in range(3)]
        targets = [invite_dyad(clinician_id) for _ in range(3)]
    for n, links in enumerate(sources):
        web = Respondent(app.test_client(), links.patient_url, "patient")
        web.answer_all(
            lambda item, n=n: "not_applicable" if item.not_applicable and n else str(n + 2)
        )
        assert web.submit().status_code == 302
    path = tmp_path / "bundle.json"
    with app.app_context():
        export_to_path(ExportRequest(format="fhir-bundle"), path, actor="test", secret_key="k")
    bundle = json.loads(path.read_text())
    Bundle.model_validate(bundle)
    assert len(bundle["entry"]) == 3
    for entry, links in zip(bundle["entry"], targets, strict=True):
        assert post(client, token_of(links.patient_url), entry["resource"]).status_code == 201
    with app.app_context():
        for source, target in zip(sources, targets, strict=True):
            original = find_invitation(token_of(source.patient_url)).response.id
            copied = find_invitation(token_of(target.patient_url)).response.id
            assert stored_answers(original) == stored_answers(copied)
