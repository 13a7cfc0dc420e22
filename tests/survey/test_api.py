"""The JSON API: token authentication, roles, invitations, de-identified responses, aggregates,
the report, JSON errors, and the token CLI."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from survey.extensions import db
from survey.invitations import hash_token
from survey.models import ApiToken, AuditEvent, Clinic, Clinician

from .exchange import add_user, api_token, first_clinic, seed_demo, submitted_count


@pytest.fixture
def demo(app):
    seed_demo(app)
    return first_clinic(app)


@pytest.fixture
def tokens(app, demo):
    clinic_id, clinicians = demo
    with app.app_context():
        other = Clinic(name="Elsewhere")
        db.session.add(other)
        db.session.commit()
        other_id = other.id
    add_user(app, "admin@example.org", "admin")
    add_user(app, "manager@example.org", "manager", clinic_id=clinic_id)
    add_user(app, "other@example.org", "manager", clinic_id=other_id)
    add_user(app, "researcher@example.org", "researcher")
    add_user(app, "doc@example.org", "clinician", clinician_id=clinicians[0])
    return {
        role: {"Authorization": f"Bearer {api_token(app, f'{role}@example.org')}"}
        for role in ("admin", "manager", "other", "researcher", "doc")
    }


def test_requests_without_a_live_token_get_json_401(app, client, tokens):
    for headers, message in (
        ({}, "send an API token as 'Authorization: Bearer <token>'"),
        ({"Authorization": "Basic abc"}, "send an API token"),
        ({"Authorization": "Bearer hs_nope"}, "the API token is unknown, revoked"),
    ):
        response = client.get("/api/v1/forms", headers=headers)
        assert response.status_code == 401 and response.is_json
        assert response.json["error"]["message"].startswith(message)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    with app.app_context():
        token = db.session.scalars(select(ApiToken).order_by(ApiToken.id)).first()
        from survey.api.tokens import revoke_token

        revoke_token(token.id)
    assert client.get("/api/v1/forms", headers=tokens["admin"]).status_code == 401
    assert client.get("/api/v1/forms", headers=tokens["manager"]).status_code == 200


def test_unknown_paths_and_methods_answer_json(client, tokens):
    missing = client.get("/api/v1/nothing-here", headers=tokens["admin"])
    assert missing.status_code == 404 and missing.json["error"]["status"] == 404
    wrong = client.delete("/api/v1/forms", headers=tokens["admin"])
    assert wrong.status_code == 405 and "DELETE" in wrong.json["error"]["message"]
    assert "<html" in client.get("/no-such-page").text.lower()


def test_forms(client, tokens):
    forms = client.get("/api/v1/forms", headers=tokens["doc"]).json
    assert [f["id"] for f in forms["forms"]] == ["patient", "clinician-dyad", "clinician-self"]
    form = client.get("/api/v1/forms/patient", headers=tokens["doc"]).json
    assert form["version"] == forms["version"] and form["sections"][0]["construct"] == "valuing"
    assert client.get("/api/v1/forms/nurse", headers=tokens["doc"]).status_code == 404


def test_invitations_follow_the_roles(client, tokens, demo):
    clinic_id, clinicians = demo
    created = client.post(
        "/api/v1/invitations",
        json={"clinician_id": clinicians[0], "reference": "API-1"},
        headers=tokens["manager"],
    )
    assert created.status_code == 201, created.text
    assert (
        created.json["patient_url"].startswith("http://127.0.0.1:5000/s/")
        and created.json["wave"] == 1
    )
    again = client.post(
        "/api/v1/invitations",
        json={"clinician_id": clinicians[0], "dyad_id": created.json["dyad"], "wave": 1},
        headers=tokens["admin"],
    )
    assert again.status_code == 409 and "already has wave 1" in again.json["error"]["message"]
    listed = client.get(
        f"/api/v1/invitations?clinician_id={clinicians[0]}&state=pending&limit=500",
        headers=tokens["manager"],
    ).json
    ids = [row["id"] for row in listed["invitations"] if row["dyad_id"] == created.json["dyad"]]
    assert len(ids) == 2
    one = client.get(f"/api/v1/invitations/{ids[0]}", headers=tokens["manager"]).json
    assert one["state"] == "pending" and one["form"] == "patient"

    assert client.get(f"/api/v1/invitations/{ids[0]}", headers=tokens["other"]).status_code == 404
    elsewhere = client.post(
        "/api/v1/invitations", json={"clinician_id": clinicians[0]}, headers=tokens["other"]
    )
    assert elsewhere.status_code == 404
    assert client.get("/api/v1/invitations", headers=tokens["other"]).json["invitations"] == []
    for role in ("doc", "researcher"):
        assert client.get("/api/v1/invitations", headers=tokens[role]).status_code == 403
    bad = client.post("/api/v1/invitations", json={"clinician_id": "x"}, headers=tokens["admin"])
    assert bad.status_code == 400 and "clinician_id" in bad.json["error"]["message"]
    self_link = client.post(
        "/api/v1/invitations",
        json={"clinician_id": clinicians[1], "kind": "self"},
        headers=tokens["admin"],
    )
    assert self_link.status_code == 201 and self_link.json["url"].startswith(
        "http://127.0.0.1:5000/s/"
    )


def test_responses_are_deidentified_and_paged(app, client, tokens):
    with app.app_context():
        names = db.session.scalars(select(Clinician.name)).all()
    seen = []
    cursors = []
    url = "/api/v1/responses?form=patient&limit=7"
    while url is not None:
        page = client.get(url, headers=tokens["researcher"])
        assert page.status_code == 200
        seen += page.json["responses"]
        after = page.json["next_after"]
        cursors.append(after)
        url = None if after is None else f"/api/v1/responses?form=patient&limit=7&after={after}"
    assert len(seen) == submitted_count(app)
    assert len({row["response"] for row in seen}) == len(seen)
    # Cursors are opaque strings, never a row id; the last page has none.
    assert cursors[-1] is None
    assert all(isinstance(c, str) and not c.isdigit() for c in cursors[:-1]) and len(cursors) > 1
    text = str(seen)
    assert not [name for name in names if name in text] and "DEMO-" not in text
    assert all(
        row["clinician"].startswith("N-") and len(row["submitted_month"]) == 7 for row in seen
    )
    assert client.get("/api/v1/responses", headers=tokens["doc"]).status_code == 403
    assert client.get("/api/v1/responses", headers=tokens["other"]).json["responses"] == []
    with app.app_context():
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "api.responses")
        ).first()
        assert event.detail["rows"] == 7


def test_clinic_summary_applies_the_roles_and_the_release_blocks(app, client, tokens, demo):
    clinic_id, _ = demo
    summary = client.get(f"/api/v1/clinics/{clinic_id}/summary", headers=tokens["manager"])
    assert summary.status_code == 200 and summary.json["min_cell"] == 5
    assert summary.json["clinicians"][0]["name"]
    cells = [
        cell
        for clinician in summary.json["clinicians"]
        for cell in clinician["constructs"].values()
    ]
    # The small demo (12 dyads) fills no block of 5 yet: every cell waits, none is partial.
    assert cells and all(cell["n"] == 0 and cell["mean"] is None for cell in cells)
    assert summary.json["held_back"] % 5 == 0
    researcher = client.get(f"/api/v1/clinics/{clinic_id}/summary", headers=tokens["researcher"])
    assert "name" not in researcher.json["clinicians"][0]
    for role in ("other", "doc"):
        denied = client.get(f"/api/v1/clinics/{clinic_id}/summary", headers=tokens[role])
        assert denied.status_code == 403
    bad = client.get(f"/api/v1/clinics/{clinic_id}/summary?wave=0", headers=tokens["admin"])
    assert bad.status_code == 400 and "wave=0" in bad.json["error"]["message"]
    missing = client.get("/api/v1/clinics/9999/summary", headers=tokens["admin"])
    assert missing.status_code == 404


def test_report(app, client, tokens):
    # The demo has fewer patient responses than items + 1: no factor analysis is possible.
    few = client.get("/api/v1/forms/patient/report", headers=tokens["researcher"])
    assert few.status_code == 409 and "needs at least 39" in few.json["error"]["message"]
    assert client.get("/api/v1/forms/patient/report", headers=tokens["manager"]).status_code == 403
    report = client.get("/api/v1/forms/clinician-self/report", headers=tokens["admin"])
    assert report.status_code == 200, report.text
    assert report.json["n"] == submitted_count(app, "clinician-self")
    assert set(report.json["scales"]) == {
        "self_confidence",
        "emotional_self_management",
        "mindfulness",
        "knowledge",
    }
    app.config["HEALING_SURVEY_MIN_CELL"] = 1000
    small = client.get("/api/v1/forms/clinician-self/report", headers=tokens["admin"])
    assert small.status_code == 409 and "at least 1000" in small.json["error"]["message"]


def test_openapi_document_is_public(client):
    document = client.get("/api/v1/openapi.json")
    assert document.status_code == 200 and document.json["openapi"].startswith("3.0")
    assert "/invitations" in document.json["paths"]


def test_token_cli_prints_the_token_once_and_stores_a_hash(app, runner):
    add_user(app, "admin@example.org", "admin")
    result = runner.invoke(args=["token", "create", "--email", "admin@example.org", "--name", "t"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    assert token.startswith("hs_")
    with app.app_context():
        row = db.session.scalars(select(ApiToken)).one()
        assert row.token_hash == hash_token(token) and token not in row.token_hash
    client = app.test_client()
    ok = client.get("/api/v1/forms", headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200
    unknown = runner.invoke(args=["token", "create", "--email", "x@example.org", "--name", "t"])
    assert unknown.exit_code != 0 and "no account" in unknown.output
    revoked = runner.invoke(args=["token", "revoke", str(row.id)])
    assert revoked.exit_code == 0
    assert (
        client.get("/api/v1/forms", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    )


def test_managers_get_no_single_self_assessments(client, tokens):
    refused = client.get("/api/v1/responses?form=clinician-self", headers=tokens["manager"])
    assert refused.status_code == 403
    assert "self-assessments" in refused.json["error"]["message"]
    allowed = client.get("/api/v1/responses?form=clinician-self", headers=tokens["researcher"])
    assert allowed.status_code == 200
