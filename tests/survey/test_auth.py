"""Sign-in, sign-out, throttling, session cookies and the ``healing-survey user`` commands."""

from __future__ import annotations

import json

import pytest
from argon2 import extract_parameters
from argon2.profiles import RFC_9106_LOW_MEMORY
from sqlalchemy import func, select

from survey.auth.accounts import AccountError, add_account, set_password
from survey.extensions import db
from survey.models import AuditEvent, User

from .conftest import csrf_token
from .staff import PASSWORD, add_staff, sign_in


@pytest.fixture
def staff(app):
    with app.app_context():
        return add_staff()


def audit_count(app, action: str) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count(AuditEvent.id)).where(AuditEvent.action == action)
        )


def test_sign_in_and_out(app, client, staff):
    response = sign_in(client, "Manager@Example.org ")
    assert response.status_code == 302
    assert response.headers["Location"] == "/dashboard/"
    assert client.get("/dashboard/").headers["Location"] == f"/dashboard/clinics/{staff.clinic_a}"
    page = client.get(f"/dashboard/clinics/{staff.clinic_a}")
    assert page.status_code == 200 and "Alder Clinic" in page.text
    assert page.headers["Cache-Control"] == "no-store"
    signed_out = client.post("/sign-out", data={"csrf_token": csrf_token(page.text)})
    assert signed_out.status_code == 302
    assert client.get(f"/dashboard/clinics/{staff.clinic_a}").status_code == 302
    assert audit_count(app, "auth.sign_in") == 1
    assert audit_count(app, "auth.sign_out") == 1
    with app.app_context():
        account = db.session.scalar(select(User).where(User.email == "manager@example.org"))
        assert account.last_login_at is not None
        assert account.password_hash.startswith("$argon2id$")


def test_the_app_hashes_with_argon2id_at_full_cost_and_upgrades_cheaper_hashes(
    app, client, staff, production_hasher
):
    """The suite signs in with cheap hashes (tests/conftest.py); the app itself uses argon2id at
    least at RFC 9106's low-memory profile (64 MiB, 3 passes) and rehashes a cheaper hash on
    sign-in."""
    with app.app_context():
        account = db.session.scalar(select(User).where(User.email == "manager@example.org"))
        assert extract_parameters(account.password_hash).memory_cost < 1024
    assert sign_in(client, "manager@example.org").status_code == 302
    with app.app_context():
        account = db.session.scalar(select(User).where(User.email == "manager@example.org"))
        upgraded = extract_parameters(account.password_hash)
    assert upgraded.type == RFC_9106_LOW_MEMORY.type
    assert upgraded.memory_cost >= RFC_9106_LOW_MEMORY.memory_cost
    assert upgraded.time_cost >= RFC_9106_LOW_MEMORY.time_cost
    assert sign_in(app.test_client(), "manager@example.org").status_code == 302


def test_wrong_password_and_unknown_account_look_alike(app, client, staff):
    wrong = sign_in(client, "manager@example.org", "not the password at all")
    unknown = sign_in(client, "nobody@example.org", "not the password at all")
    assert wrong.status_code == unknown.status_code == 401
    assert "do not match an account" in wrong.text and "do not match an account" in unknown.text
    assert audit_count(app, "auth.sign_in_failed") == 2


def session_cookie(response) -> str:
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert len(cookies) == 1, response.headers.getlist("Set-Cookie")
    return cookies[0]


def test_session_cookie_flags(client, staff):
    response = sign_in(client, "admin@example.org")
    cookie = session_cookie(response)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain HTTP in development: a Secure cookie would be lost

    https = client.application.test_client()
    response = sign_in(https, "admin@example.org", base_url="https://localhost")
    cookie = session_cookie(response)
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_sign_in_redirects_only_to_this_site(client, staff):
    token = csrf_token(client.get("/sign-in").text)
    data = {"email": "admin@example.org", "password": PASSWORD, "csrf_token": token}
    evil = client.post("/sign-in?next=//evil.example/x", data=data)
    assert evil.headers["Location"] == "/dashboard/"
    # Signed in now: a crafted next with CR/LF (or a backslash) lands on the dashboard, not on
    # an error page, and never splits the Location header.
    for crafted in ("/%0d%0ax", "/%0aSet-Cookie:x=1", "/\\evil.example", "/%00", "/ x"):
        landing = client.get(f"/sign-in?next={crafted}")
        assert landing.status_code == 302, crafted
        assert landing.headers["Location"] == "/dashboard/", crafted
    fresh = client.application.test_client()
    data["csrf_token"] = csrf_token(fresh.get("/sign-in").text)
    good = fresh.post(f"/sign-in?next=/dashboard/clinics/{staff.clinic_b}", data=data)
    assert good.headers["Location"] == f"/dashboard/clinics/{staff.clinic_b}"


def test_new_password_ends_other_sessions_and_deactivation_blocks(app, client, staff, runner):
    assert sign_in(client, "admin@example.org").status_code == 302
    assert client.get("/dashboard/clinics").status_code == 200
    with app.app_context():
        set_password("admin@example.org", "another long password")
    assert client.get("/dashboard/clinics").status_code == 302
    assert sign_in(client, "admin@example.org", "another long password").status_code == 302
    result = runner.invoke(args=["user", "deactivate", "--email", "admin@example.org"])
    assert result.exit_code == 0, result.output
    assert client.get("/dashboard/clinics").status_code == 302
    assert sign_in(client, "admin@example.org", "another long password").status_code == 401


def test_account_rules(app, staff):
    with app.app_context():
        with pytest.raises(AccountError, match="needs --clinic"):
            add_account("m2@example.org", "manager", password=PASSWORD)
        with pytest.raises(AccountError, match="needs --clinician"):
            add_account("c2@example.org", "clinician", password=PASSWORD)
        with pytest.raises(AccountError, match="at least 12"):
            add_account("short@example.org", "admin", password="short")
        with pytest.raises(AccountError, match="exists already"):
            add_account("ADMIN@example.org", "admin", password=PASSWORD)
        with pytest.raises(AccountError, match="not valid"):
            add_account("not-an-email", "admin", password=PASSWORD)
        with pytest.raises(AccountError, match="does not work at"):
            add_account(
                "c3@example.org",
                "clinician",
                clinician_id=staff.clinician_b1,
                clinic_name="Alder Clinic",
                password=PASSWORD,
            )


def test_user_commands(app, runner, staff):
    added = runner.invoke(
        args=["user", "add", "--email", "new@example.org", "--role", "researcher", "--json"]
    )
    assert added.exit_code == 0, added.output
    record = json.loads(added.output)
    assert record["role"] == "researcher" and len(record["password"]) >= 16
    client = app.test_client()
    assert sign_in(client, "new@example.org", record["password"]).status_code == 302

    piped = runner.invoke(
        args=[
            "user",
            "add",
            "--email",
            "m2@example.org",
            "--role",
            "manager",
            "--clinic",
            "Birch Clinic",
            "--password-stdin",
        ],
        input="a password from standard input\n",
    )
    assert piped.exit_code == 0 and "password" not in piped.output.split("\t")[-1]
    assert (
        sign_in(app.test_client(), "m2@example.org", "a password from standard input").status_code
        == 302
    )

    bad = runner.invoke(args=["user", "add", "--email", "x@example.org", "--role", "manager"])
    assert bad.exit_code != 0 and "needs --clinic" in bad.output

    names = runner.invoke(args=["user", "allow-names", "--email", "new@example.org"])
    assert names.exit_code == 0 and "may see names" in names.output
    refused = runner.invoke(args=["user", "allow-names", "--email", "admin@example.org"])
    assert refused.exit_code != 0 and "only researchers" in refused.output

    listed = json.loads(runner.invoke(args=["user", "list", "--json"]).output)
    assert {r["email"] for r in listed} >= {"admin@example.org", "new@example.org"}
    assert all("password_hash" not in r for r in listed)
    assert next(r for r in listed if r["email"] == "new@example.org")["can_see_names"] is True

    changed = runner.invoke(args=["user", "set-password", "--email", "new@example.org"])
    assert changed.exit_code == 0 and "shown once" in changed.output
    new_password = changed.output.rsplit(" ", 1)[-1].strip()
    assert sign_in(app.test_client(), "new@example.org", new_password).status_code == 302
