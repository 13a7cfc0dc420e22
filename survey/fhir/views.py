"""FHIR endpoints: read a form as a Questionnaire, and send in a QuestionnaireResponse.

``POST /fhir/QuestionnaireResponse`` takes the invitation token as a bearer token
(``Authorization: Bearer <token>``, the token of the ``/s/<token>`` link), so the token never
appears in a URL or a server log. The resource is checked in full before anything is stored;
then it is stored through the respondent flow, exactly as a web submission. Every error is an
``OperationOutcome``. Identity elements (``subject``, ``author``, ``source``) are never stored.
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, request
from werkzeug.exceptions import HTTPException

from items import load_bank
from survey.clinics import form_bank
from survey.extensions import csrf
from survey.fhir.resources import (
    FhirError,
    ResponseContext,
    check_integer_answers,
    fhir_datetime,
    operation_outcome,
    questionnaire,
    questionnaire_response,
    read_answers,
)
from survey.invitations import find_invitation
from survey.respond.flow import FlowError

bp = Blueprint("fhir", __name__, url_prefix="/fhir")
csrf.exempt(bp)
FHIR_JSON = "application/fhir+json"
ISSUE_CODES = {400: "invalid", 401: "login", 404: "not-found", 405: "not-supported"}


def _fhir(resource: dict, status: int = 200) -> Response:
    return Response(json.dumps(resource), status=status, mimetype=FHIR_JSON)


def _outcome(message: str, status: int, code: str | None = None) -> Response:
    return _fhir(
        operation_outcome(message, code=code or ISSUE_CODES.get(status, "invalid")), status
    )


@bp.get("/Questionnaire/<form_id>")
def read_questionnaire(form_id: str):
    """The form in ``?language=`` (the bank's own by default), every other language in
    translation extensions."""
    bank = load_bank()
    if form_id not in bank.forms:
        return _outcome(f"no Questionnaire {form_id!r}", 404)
    language = request.args.get("language") or None
    if language is not None and language not in bank.languages:
        return _outcome(
            f"language {language!r}: expected one of {', '.join(bank.languages)}", 400, "value"
        )
    return _fhir(questionnaire(form_id, language=language))


def _bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise FhirError(
            "send the invitation token as 'Authorization: Bearer <token>'", status=401, code="login"
        )
    return token.strip()


def _structure(body: bytes) -> dict:
    from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
    from pydantic import ValidationError

    try:
        resource = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise FhirError(f"the body is not JSON: {error}", status=400) from None
    if not isinstance(resource, dict) or resource.get("resourceType") != "QuestionnaireResponse":
        kind = resource.get("resourceType") if isinstance(resource, dict) else type(resource)
        raise FhirError(f"expected a QuestionnaireResponse, got {kind!r}", status=400)
    check_integer_answers(resource)
    try:
        QuestionnaireResponse.model_validate(resource)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in issue['loc'])}: {issue['msg']}"
            for issue in error.errors()[:5]
        )
        raise FhirError(
            f"not a valid FHIR R4 QuestionnaireResponse: {problems}", status=400
        ) from None
    return resource


@bp.post("/QuestionnaireResponse")
def receive_questionnaire_response():
    from survey.imports import store_answers
    from survey.respond import flow

    invitation = find_invitation(_bearer_token())
    if invitation is None:
        return _outcome("no open invitation has this token", 404)
    flow.check_open(invitation)
    try:
        resource = _structure(request.get_data(cache=False))
        answers = read_answers(resource, form_id=invitation.form)
    except RecursionError:
        raise FhirError(
            "the body is nested too deeply to be a QuestionnaireResponse of this questionnaire",
            status=400,
            code="structure",
        ) from None
    language = _response_language(resource)
    response = store_answers(invitation, answers, language=language)
    bank = form_bank(invitation.clinician.clinic, language)
    stored = questionnaire_response(
        bank.form(invitation.form),
        flow.saved_answers(invitation),
        context=ResponseContext(
            id=str(response.id),
            clinician=str(invitation.clinician_id),
            dyad=None if invitation.wave is None else str(invitation.wave.dyad_id),
            wave=None if invitation.wave is None else invitation.wave.number,
            authored=fhir_datetime(response.submitted_at, month_only=False),
            language=response.language,
        ),
        version=response.bank_version,
    )
    return _fhir(stored, 201)


def _response_language(resource: dict) -> str:
    """The language the response was given in: its ``language`` (a base language of the bank,
    "es-MX" counting as "es"), or the bank's own when it names none."""
    bank = load_bank()
    given = resource.get("language")
    if given is None:
        return bank.language
    base = str(given).split("-")[0].lower()
    if base not in bank.languages:
        raise FhirError(
            f"language {given!r}: the questionnaire exists in {', '.join(bank.languages)}",
            code="value",
        )
    return base


@bp.errorhandler(FhirError)
def fhir_error(error: FhirError):
    return _outcome(str(error), error.status, error.code)


@bp.errorhandler(FlowError)
def flow_error(error: FlowError):
    return _outcome(str(error), error.status, "conflict" if error.status == 409 else "processing")


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException):
    return _outcome(error.description or error.name, error.code or 400)


@bp.errorhandler(Exception)
def unexpected_error(error: Exception):
    from flask import current_app

    current_app.logger.exception("FHIR error", exc_info=error)
    return _outcome("something went wrong on our side; nothing was stored", 500, "exception")


def routing_outcome(error: HTTPException) -> Response:
    """An unknown path or method under /fhir, for the app's routing error handler."""
    message = f"no FHIR endpoint {request.method} {request.path}"
    response = _outcome(message, error.code or 404)
    if getattr(error, "valid_methods", None):
        response.headers["Allow"] = ", ".join(sorted(error.valid_methods))
    return response
