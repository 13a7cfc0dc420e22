"""The OpenAPI 3 document of the JSON API, served at ``/api/v1/openapi.json``."""

from __future__ import annotations

from items import load_bank

INVITATION_STATES = ["pending", "opened", "started", "submitted", "revoked"]


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict:
    return {str(code): {"$ref": f"#/components/responses/E{code}"} for code in codes}


def _int_param(name: str, where: str, description: str, *, minimum: int = 1, required=False):
    return {
        "name": name,
        "in": where,
        "required": required or where == "path",
        "description": description,
        "schema": {"type": "integer", "minimum": minimum, "maximum": 2**31 - 1},
    }


def _nullable(schema: dict) -> dict:
    return {**schema, "nullable": True}


def openapi_document() -> dict:
    forms = list(load_bank().forms)
    form_param = {
        "name": "form_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "enum": forms},
    }
    timestamp = {"type": "string", "format": "date-time"}
    schemas = {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["status", "message"],
                    "properties": {
                        "status": {"type": "integer"},
                        "message": {"type": "string"},
                    },
                }
            },
        },
        "FormList": {
            "type": "object",
            "required": ["version", "forms"],
            "properties": {
                "version": {"type": "string"},
                "forms": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["id", "title", "audience", "items"],
                        "properties": {
                            "id": {"type": "string", "enum": forms},
                            "title": {"type": "string"},
                            "audience": {"type": "string"},
                            "items": {"type": "integer"},
                        },
                    },
                },
            },
        },
        "Form": {
            "type": "object",
            "required": ["version", "id", "title", "sections"],
            "properties": {
                "version": {"type": "string"},
                "language": {"type": "string"},
                "translation": {"type": "string", "enum": ["source", "draft", "reviewed"]},
                "id": {"type": "string"},
                "title": {"type": "string"},
                "intro": {"type": "string"},
                "audience": {"type": "string"},
                "sections": {"type": "array", "items": {"type": "object"}},
            },
        },
        "Report": {
            "type": "object",
            "description": "The JSON of `healing-survey analyze --json` (documented in README).",
            "required": ["n", "scales"],
            "properties": {"n": {"type": "integer"}, "scales": {"type": "object"}},
        },
        "Invitation": {
            "type": "object",
            "required": ["id", "form", "clinician_id", "state", "created_at", "expires_at"],
            "properties": {
                "id": {"type": "integer"},
                "form": {"type": "string", "enum": forms},
                "clinician_id": {"type": "integer"},
                "dyad_id": _nullable({"type": "integer"}),
                "wave": _nullable({"type": "integer"}),
                "state": {"type": "string", "enum": INVITATION_STATES},
                "created_at": timestamp,
                "expires_at": timestamp,
                "submitted_at": _nullable(timestamp),
            },
        },
        "InvitationPage": {
            "type": "object",
            "required": ["invitations", "next_after"],
            "properties": {
                "invitations": {"type": "array", "items": _ref("Invitation")},
                "next_after": _nullable({"type": "integer"}),
            },
        },
        "NewInvitation": {
            "type": "object",
            "required": ["clinician_id"],
            "properties": {
                "kind": {"type": "string", "enum": ["dyad", "self"], "default": "dyad"},
                "clinician_id": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
                "wave": _nullable({"type": "integer", "minimum": 1, "maximum": 2**31 - 1}),
                "dyad_id": _nullable({"type": "integer", "minimum": 1, "maximum": 2**31 - 1}),
                "reference": _nullable({"type": "string", "minLength": 1, "maxLength": 64}),
                "expires_days": {"type": "integer", "minimum": 1, "maximum": 3650},
            },
        },
        "Links": {
            "description": "The new links; their tokens are shown only in this answer.",
            "oneOf": [
                {
                    "type": "object",
                    "required": ["dyad", "wave", "patient_url", "clinician_url", "expires_at"],
                    "properties": {
                        "dyad": {"type": "integer"},
                        "wave": {"type": "integer"},
                        "reference": _nullable({"type": "string"}),
                        "patient_url": {"type": "string", "format": "uri"},
                        "clinician_url": {"type": "string", "format": "uri"},
                        "expires_at": {"type": "string"},
                        "patient_invitation": _nullable({"type": "integer"}),
                        "clinician_invitation": _nullable({"type": "integer"}),
                        "note": _nullable({"type": "string"}),
                    },
                },
                {
                    "type": "object",
                    "required": ["clinician", "url", "expires_at"],
                    "properties": {
                        "clinician": {"type": "integer"},
                        "url": {"type": "string", "format": "uri"},
                        "expires_at": {"type": "string"},
                    },
                },
            ],
        },
        "ResponsePage": {
            "type": "object",
            "required": ["form", "responses", "next_after"],
            "properties": {
                "form": {"type": "string"},
                "next_after": _nullable({"type": "string"}),
                "responses": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "description": "De-identified: pseudonyms, months, no free text.",
                        "required": ["response", "clinic", "clinician", "wave", "answers"],
                        "properties": {
                            "response": {"type": "string"},
                            "clinic": {"type": "string"},
                            "clinician": {"type": "string"},
                            "dyad": {"type": "string"},
                            "wave": _nullable({"type": "integer"}),
                            "submitted_month": {"type": "string"},
                            "answers": {
                                "type": "object",
                                "additionalProperties": {
                                    "anyOf": [
                                        {"type": "integer"},
                                        {"type": "string", "enum": ["not_applicable", "skipped"]},
                                    ]
                                },
                            },
                        },
                    },
                },
            },
        },
        "ClinicSummary": {
            "type": "object",
            "description": "survey.aggregates.clinic_summary: computed from whole release blocks.",
            "required": ["clinic", "min_cell", "constructs", "overall", "clinicians"],
            "properties": {
                "clinic": {"type": "object"},
                "min_cell": {"type": "integer"},
                "constructs": {"type": "array"},
                "overall": {"type": "object"},
                "clinicians": {"type": "array"},
            },
        },
    }
    responses = {
        f"E{code}": _json(_ref("Error"), text)
        for code, text in {
            400: "A parameter or the body is not valid; the message names it.",
            401: "No API token, or an unknown or revoked one.",
            403: "The token's role may not use this endpoint.",
            404: "No such object, or not one the token's role may see.",
            409: "Cannot be done with the data as they are: too few responses for the report, "
            "or a dyad that already has that wave or belongs to another clinician.",
        }.items()
    }
    page = [
        _int_param("limit", "query", "Page size (at most 500).", minimum=1),
        _int_param("after", "query", "Cursor: the next_after of the previous page.", minimum=0),
    ]
    page[0]["schema"]["maximum"] = 500
    auth_errors = _errors(401, 403)
    paths = {
        "/forms": {
            "get": {
                "summary": "The forms of the item bank",
                "responses": {"200": _json(_ref("FormList"), "The forms.")} | _errors(401),
            }
        },
        "/forms/{form_id}": {
            "get": {
                "summary": "One form with its sections and items",
                "parameters": [
                    form_param,
                    {
                        "name": "language",
                        "in": "query",
                        "description": "The language of the texts (default: the bank's own).",
                        "schema": {"type": "string", "enum": list(load_bank().languages)},
                    },
                ],
                "responses": {"200": _json(_ref("Form"), "The form.")} | _errors(400, 401, 404),
            }
        },
        "/forms/{form_id}/report": {
            "get": {
                "summary": "Psychometric report of the form's responses (admin, researcher)",
                "parameters": [form_param],
                "responses": {"200": _json(_ref("Report"), "The report.")}
                | _errors(401, 403, 404, 409),
            }
        },
        "/invitations": {
            "get": {
                "summary": "Invitations (admin: all; manager: own clinic)",
                "parameters": [
                    *page,
                    _int_param("clinician_id", "query", "Only this clinician's invitations."),
                    {
                        "name": "state",
                        "in": "query",
                        "schema": {"type": "string", "enum": INVITATION_STATES},
                    },
                    {"name": "form", "in": "query", "schema": {"type": "string", "enum": forms}},
                ],
                "responses": {"200": _json(_ref("InvitationPage"), "A page of invitations.")}
                | _errors(400, 401, 403),
            },
            "post": {
                "summary": "Create a dyad wave's two links, or a self-assessment link",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("NewInvitation")}},
                },
                "responses": {"201": _json(_ref("Links"), "The new links.")}
                | _errors(400, 401, 403, 404, 409),
            },
        },
        "/invitations/{invitation_id}": {
            "get": {
                "summary": "One invitation's state",
                "parameters": [_int_param("invitation_id", "path", "Invitation id.")],
                "responses": {"200": _json(_ref("Invitation"), "The invitation.")}
                | _errors(401, 403, 404),
            }
        },
        "/responses": {
            "get": {
                "summary": "Submitted responses, de-identified (admin, manager, researcher)",
                "parameters": [
                    {"name": "form", "in": "query", "schema": {"type": "string", "enum": forms}},
                    page[0],
                    {
                        "name": "after",
                        "in": "query",
                        "description": "Opaque cursor: the next_after of the previous page "
                        "(of the same form). It does not reveal a row id; one not given out "
                        "by this API is refused with 400.",
                        "schema": {"type": "string"},
                    },
                ],
                "responses": {"200": _json(_ref("ResponsePage"), "A page of responses.")}
                | _errors(400)
                | auth_errors,
            }
        },
        "/clinics/{clinic_id}/summary": {
            "get": {
                "summary": "A clinic's aggregates, as on the dashboard, from whole release blocks",
                "parameters": [
                    _int_param("clinic_id", "path", "Clinic id."),
                    {
                        "name": "form",
                        "in": "query",
                        "schema": {"type": "string", "enum": ["patient", "clinician-dyad"]},
                    },
                    _int_param("wave", "query", "Only this wave."),
                    {
                        "name": "date_from",
                        "in": "query",
                        "schema": {"type": "string", "format": "date"},
                    },
                    {
                        "name": "date_to",
                        "in": "query",
                        "schema": {"type": "string", "format": "date"},
                    },
                    {
                        "name": "language",
                        "in": "query",
                        "description": "Only the release blocks of patients who answered in "
                        "this language (blocks are split by it).",
                        "schema": {"type": "string", "enum": list(load_bank().languages)},
                    },
                ],
                "responses": {"200": _json(_ref("ClinicSummary"), "The aggregates.")}
                | _errors(400, 401, 403, 404),
            }
        },
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "healing-survey API",
            "version": "1",
            "description": "Forms, invitations, de-identified responses, clinic aggregates and "
            "the psychometric report. Authenticate with 'Authorization: Bearer <token>' "
            "(create one with 'healing-survey token create --email E --name N').",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": schemas,
            "responses": responses,
        },
    }
