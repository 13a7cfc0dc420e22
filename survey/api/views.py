"""Routes of the JSON API at ``/api/v1``.

Every request but the OpenAPI document carries ``Authorization: Bearer <API token>``; the
token's account and its role decide what it may see, by the dashboard's rules
(:mod:`survey.auth.access`). Every error is JSON: ``{"error": {"status": .., "message": ..}}``.
"""

from __future__ import annotations

import json
import re
from datetime import date

from flask import Blueprint, current_app, g, jsonify, request
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from items import load_bank
from survey.api.cursor import CursorError, decode_cursor, encode_cursor
from survey.auth.access import may_see_clinic, may_see_names
from survey.extensions import csrf, db
from survey.models import Clinician, Invitation, Role, User, record_audit

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)
MAX_PAGE = 500
MAX_ID = 2**31 - 1  # the database's integer columns end here; a larger id names nothing
INVITATION_STATES = ("pending", "opened", "started", "submitted", "revoked")
# Control characters in a stored text: PostgreSQL refuses NUL, and none belongs in a reference.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def _error(status: int, message: str, *, allow: list[str] | None = None):
    response = jsonify({"error": {"status": status, "message": message}})
    response.status_code = status
    if allow:
        response.headers["Allow"] = ", ".join(sorted(allow))
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="healing-survey"'
    return response


@bp.errorhandler(ApiError)
def api_error(error: ApiError):
    return _error(error.status, error.message)


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException):
    allow = getattr(error, "valid_methods", None)
    return _error(error.code or 400, error.description or error.name, allow=allow)


@bp.errorhandler(Exception)
def unexpected_error(error: Exception):
    current_app.logger.exception("API error", exc_info=error)
    return _error(500, "something went wrong on our side; nothing was changed")


def is_api_path(path: str) -> bool:
    return path == "/api/v1" or path.startswith("/api/v1/")


@bp.app_errorhandler(404)
@bp.app_errorhandler(405)
def api_routing_error(error: HTTPException):
    """Unknown URLs and methods under /api/v1 answer JSON too, under /fhir an
    OperationOutcome; elsewhere the usual page."""
    if request.path.startswith("/fhir/"):
        from survey.fhir.views import routing_outcome

        return routing_outcome(error)
    if is_api_path(request.path):
        message = (
            f"no API endpoint {request.path}"
            if error.code == 404
            else f"{request.method} is not allowed on {request.path}"
        )
        return _error(error.code, message, allow=getattr(error, "valid_methods", None))
    from survey.errors import http_error as page_error

    return page_error(error)


# --- authentication and parameters -----------------------------------------------------------


@bp.before_request
def authenticate():
    if request.endpoint == "api.openapi":
        return None
    from survey.api.tokens import account_for_token

    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "send an API token as 'Authorization: Bearer <token>'")
    account = account_for_token(token.strip())
    if account is None:
        raise ApiError(401, "the API token is unknown, revoked, or its account is deactivated")
    g.api_account = account
    return None


def _account() -> User:
    return g.api_account


def _allow(*roles: str) -> User:
    account = _account()
    if account.role not in roles:
        record_audit(f"user:{account.id}", "access.denied", request.path[:200], role=account.role)
        db.session.commit()
        raise ApiError(403, f"the role {account.role!r} may not use {request.path}")
    return account


def _int_arg(name: str, *, default: int | None = None, low: int = 1, high: int = MAX_ID):
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"{name}={raw!r} is not a whole number") from None
    if not low <= value <= high:
        raise ApiError(400, f"{name}={value}: expected {low} to {high}")
    return value


def _cursor_arg(name: str, *, scope: str, secret_key: str) -> int:
    """The row id behind an opaque cursor (0 without one); 400 for a cursor we did not give."""
    raw = request.args.get(name)
    if not raw:
        return 0
    try:
        return decode_cursor(raw, scope=scope, secret_key=secret_key)
    except CursorError as error:
        raise ApiError(400, f"{name}: {error}; start again without it") from None


def _choice_arg(name: str, choices: tuple[str, ...], default: str | None = None):
    value = request.args.get(name, default)
    if value is not None and value not in choices:
        raise ApiError(400, f"{name}={value!r}: expected one of {', '.join(choices)}")
    return value


def _date_arg(name: str) -> date | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ApiError(400, f"{name}={raw!r} is not a date (YYYY-MM-DD)") from None


def _form_id(form_id: str) -> str:
    forms = load_bank().forms
    if form_id not in forms:
        raise ApiError(404, f"no form {form_id!r}; forms: {', '.join(forms)}")
    return form_id


# --- the instrument ------------------------------------------------------------------------


@bp.get("/openapi.json")
def openapi():
    from survey.api.openapi import openapi_document

    return jsonify(openapi_document())


@bp.get("/forms")
def list_forms():
    bank = load_bank()
    return jsonify(
        {
            "version": bank.version,
            "forms": [
                {
                    "id": form.id,
                    "title": form.title,
                    "audience": form.audience,
                    "items": len(form.items),
                }
                for form in bank.forms.values()
            ],
        }
    )


@bp.get("/forms/<form_id>")
def read_form(form_id: str):
    """One form, its texts in ``?language=`` (the bank's own by default) with that
    translation's status."""
    form_id = _form_id(form_id)
    language = _choice_arg("language", tuple(load_bank().languages))
    bank = load_bank(language=language)
    return jsonify(
        {
            "version": bank.version,
            "language": bank.language,
            "translation": bank.languages[bank.language],
            **bank.form(form_id).to_dict(),
        }
    )


@bp.get("/forms/<form_id>/report")
def form_report(form_id: str):
    """The psychometric workup of a form's responses (the JSON of ``analyze --json``)."""
    from analysis.workup import run_workup_from_moments
    from survey.analyze import form_moments

    account = _allow(Role.ADMIN, Role.RESEARCHER)
    moments, spec = form_moments(_form_id(form_id))
    min_cell = current_app.config["HEALING_SURVEY_MIN_CELL"]
    needed = max(min_cell, len(moments.items) + 1)
    if moments.n_rows < needed:
        raise ApiError(
            409,
            f"the {form_id!r} form has {moments.n_rows} submitted responses; "
            f"the report needs at least {needed}",
        )
    workup = run_workup_from_moments(moments, spec)
    record_audit(f"user:{account.id}", "api.report", f"form:{form_id}", n=moments.n_rows)
    db.session.commit()
    return jsonify(workup.to_dict())


# --- invitations -----------------------------------------------------------------------------


def _invitation_record(invitation: Invitation) -> dict:
    wave = invitation.wave
    return {
        "id": invitation.id,
        "form": invitation.form,
        "clinician_id": invitation.clinician_id,
        "dyad_id": None if wave is None else wave.dyad_id,
        "wave": None if wave is None else wave.number,
        "state": invitation.state,
        "created_at": invitation.created_at.isoformat(timespec="seconds"),
        "expires_at": invitation.expires_at.isoformat(timespec="seconds"),
        "submitted_at": None
        if invitation.submitted_at is None
        else invitation.submitted_at.isoformat(timespec="seconds"),
    }


def _invitation_managers() -> User:
    return _allow(Role.ADMIN, Role.MANAGER)


def _clinic_scope(account: User) -> int | None:
    return account.clinic_id if account.role == Role.MANAGER else None


@bp.get("/invitations")
def list_invitations():
    account = _invitation_managers()
    limit = _int_arg("limit", default=100, high=MAX_PAGE)
    after = _int_arg("after", default=0, low=0)
    clinician_id = _int_arg("clinician_id")
    state = _choice_arg("state", INVITATION_STATES)
    form = _choice_arg("form", tuple(load_bank().forms))
    query = (
        select(Invitation)
        .join(Clinician, Invitation.clinician_id == Clinician.id)
        .where(Invitation.id > after)
        .order_by(Invitation.id)
        .limit(limit)
    )
    scope = _clinic_scope(account)
    if scope is not None:
        query = query.where(Clinician.clinic_id == scope)
    if clinician_id is not None:
        query = query.where(Invitation.clinician_id == clinician_id)
    if state is not None:
        query = query.where(Invitation.state == state)
    if form is not None:
        query = query.where(Invitation.form == form)
    rows = [_invitation_record(invitation) for invitation in db.session.scalars(query)]
    next_after = rows[-1]["id"] if len(rows) == limit else None
    return jsonify({"invitations": rows, "next_after": next_after})


def _visible_invitation(account: User, invitation_id: int) -> Invitation:
    invitation = db.session.get(Invitation, invitation_id) if invitation_id <= MAX_ID else None
    scope = _clinic_scope(account)
    if invitation is None or (scope is not None and invitation.clinician.clinic_id != scope):
        raise ApiError(404, f"no invitation {invitation_id}")
    return invitation


@bp.get("/invitations/<int:invitation_id>")
def read_invitation(invitation_id: int):
    account = _invitation_managers()
    return jsonify(_invitation_record(_visible_invitation(account, invitation_id)))


def _body() -> dict:
    try:
        body = json.loads(request.get_data(cache=False))
    except RecursionError:
        raise ApiError(400, "the JSON body is nested too deeply; expected a flat object") from None
    except ValueError as error:  # not UTF-8, or not JSON
        raise ApiError(400, f"the body is not JSON: {error}") from None
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object")
    return body


def _body_text(body: dict, name: str, *, max_length: int) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ApiError(400, f"{name} must be a string")
    if _CONTROL.search(value) or len(value) > max_length:
        raise ApiError(
            400, f"{name}={value[:80]!r}: expected at most {max_length} printable characters"
        )
    return value


def _body_int(body: dict, name: str, *, required: bool = False, low: int = 1) -> int | None:
    value = body.get(name)
    if value is None:
        if required:
            raise ApiError(400, f"{name} is required")
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= MAX_ID:
        raise ApiError(400, f"{name}={value!r}: expected a whole number from {low}")
    return value


@bp.post("/invitations")
def create_invitation():
    """A dyad wave (patient and clinician-dyad links) or a clinician self-assessment link."""
    from survey.invitations import InvitationError, invite_dyad, invite_self_assessment

    account = _invitation_managers()
    body = _body()
    kind = body.get("kind", "dyad")
    if kind not in ("dyad", "self"):
        raise ApiError(400, f"kind={kind!r}: expected 'dyad' or 'self'")
    clinician_id = _body_int(body, "clinician_id", required=True)
    clinician = db.session.get(Clinician, clinician_id)
    scope = _clinic_scope(account)
    if clinician is None or (scope is not None and clinician.clinic_id != scope):
        raise ApiError(404, f"no clinician {clinician_id}")
    days = _body_int(body, "expires_days") or current_app.config["HEALING_SURVEY_INVITATION_DAYS"]
    if days > 3650:
        raise ApiError(400, f"expires_days={days}: expected at most 3650")
    reference = _body_text(body, "reference", max_length=200)
    actor = f"user:{account.id}"
    try:
        if kind == "self":
            link = invite_self_assessment(clinician_id, expires_days=days, actor=actor)
        else:
            link = invite_dyad(
                clinician_id,
                wave=_body_int(body, "wave"),
                dyad_id=_body_int(body, "dyad_id"),
                reference=reference,
                expires_days=days,
                actor=actor,
            )
    except InvitationError as error:
        db.session.rollback()
        raise ApiError(409, str(error)) from None
    return jsonify(link.to_dict()), 201


# --- responses and aggregates ----------------------------------------------------------------


@bp.get("/responses")
def list_responses():
    """Submitted responses, de-identified as in the research export, a page at a time."""
    from survey.dataset import ResponseFilter, iter_response_chunks
    from survey.exports.layout import layout_for

    account = _allow(Role.ADMIN, Role.MANAGER, Role.RESEARCHER)
    form = _choice_arg("form", tuple(load_bank().forms), "patient")
    if form == "clinician-self" and account.role == Role.MANAGER:
        # Clinicians were told managers see their self-assessments only combined.
        raise ApiError(403, "clinician self-assessments are not shown to managers one by one")
    limit = _int_arg("limit", default=100, high=MAX_PAGE)
    secret_key = current_app.config["SECRET_KEY"]
    scope = f"responses:{form}"
    after = _cursor_arg("after", scope=scope, secret_key=secret_key)
    layout = layout_for(form, deidentify=True, secret_key=secret_key)
    selection = ResponseFilter(form=form, clinic_id=_clinic_scope(account))
    chunk = next(iter(iter_response_chunks(selection, chunk_size=limit, after_id=after)), [])
    names = [column.name for column in layout.meta_columns]
    rows = [
        {**dict(zip(names, layout.meta_values(record), strict=True)), "answers": record.answers}
        for record in chunk
    ]
    next_after = (
        encode_cursor(chunk[-1].response_id, scope=scope, secret_key=secret_key)
        if len(chunk) == limit
        else None
    )
    record_audit(
        f"user:{account.id}", "api.responses", f"form:{form}", rows=len(rows), deidentified=True
    )
    db.session.commit()
    return jsonify({"form": form, "responses": rows, "next_after": next_after})


@bp.get("/clinics/<int:clinic_id>/summary")
def clinic_summary(clinic_id: int):
    """The dashboard's clinic aggregates, from the same release blocks."""
    from survey.aggregates import AggregateError
    from survey.aggregates import clinic_summary as summarize

    account = _account()
    if clinic_id > MAX_ID:
        raise ApiError(404, f"no clinic with id {clinic_id}")
    if not may_see_clinic(account, clinic_id):
        raise ApiError(403, f"the role {account.role!r} may not see clinic {clinic_id}")
    form = _choice_arg("form", ("patient", "clinician-dyad"), "patient")
    try:
        summary = summarize(
            clinic_id,
            form=form,
            wave=_int_arg("wave"),
            date_from=_date_arg("date_from"),
            date_to=_date_arg("date_to"),
            min_cell=current_app.config["HEALING_SURVEY_MIN_CELL"],
            show_names=may_see_names(account),
            language=_choice_arg("language", tuple(load_bank().languages)),
        )
    except AggregateError as error:
        status = 404 if "no clinic" in str(error) else 400
        raise ApiError(status, str(error)) from None
    return jsonify(summary)
