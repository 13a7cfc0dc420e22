"""Staff sessions live on the server: sign-out, idle and absolute limits, a new password and
deactivation end them (and the account's API tokens), and nothing ended comes back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from survey.auth.accounts import set_active, set_password
from survey.extensions import db
from survey.models import StaffSession, User

from .conftest import csrf_token
from .exchange import api_token
from .staff import add_staff, sign_in

EXPORT = "/exports/download?format=csv&form=patient"


@pytest.fixture
def staff(app):
    with app.app_context():
        return add_staff()


def is_signed_in(client) -> bool:
    """The dashboard's home sends a visitor who is not signed in to the sign-in page."""
    response = client.get("/dashboard/")
    assert response.status_code == 302, response.status_code
    return not response.headers["Location"].startswith("/sign-in")


def signed_in(app, email: str = "admin@example.org"):
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    assert is_signed_in(client)
    return client


def cookie_of(client) -> str:
    return client.get_cookie("session").value


def with_cookie(app, value: str):
    """Another browser holding a copy of a session cookie."""
    client = app.test_client()
    client.set_cookie("session", value)
    return client


def test_a_cookie_copied_before_sign_out_is_dead_after_it(app, staff):
    client = signed_in(app)
    copied = cookie_of(client)
    thief = with_cookie(app, copied)
    assert is_signed_in(thief)
    assert thief.get(EXPORT).status_code == 200
    page = client.get("/dashboard/clinics")
    assert client.post("/sign-out", data={"csrf_token": csrf_token(page.text)}).status_code == 302
    thief = with_cookie(app, copied)
    assert not is_signed_in(thief)
    assert thief.get(EXPORT).status_code == 302
    with app.app_context():
        row = db.session.scalar(select(StaffSession))
        assert row.revoked_at is not None and row.end_reason == "sign_out"
        # Only the token's hash is stored, never the token itself.
        assert len(row.token_hash) == 64


def move_session_times(app, **shift: timedelta) -> None:
    with app.app_context():
        for row in db.session.scalars(select(StaffSession)):
            for column, delta in shift.items():
                setattr(row, column, getattr(row, column) - delta)
        db.session.commit()


def test_an_idle_session_ends(app, staff):
    client = signed_in(app)
    idle = timedelta(minutes=app.config["HEALING_SURVEY_SESSION_IDLE_MINUTES"])
    move_session_times(app, last_seen_at=idle - timedelta(minutes=1))
    assert is_signed_in(client)  # in use: kept alive
    move_session_times(app, last_seen_at=idle + timedelta(seconds=1))
    assert not is_signed_in(client)
    with app.app_context():
        assert db.session.scalar(select(StaffSession.end_reason)) == "idle"


def test_a_session_ends_at_its_lifetime_even_while_in_use(app, staff):
    client = signed_in(app)
    lifetime = timedelta(hours=app.config["HEALING_SURVEY_SESSION_MAX_HOURS"])
    move_session_times(app, created_at=lifetime + timedelta(seconds=1))
    assert not is_signed_in(client)
    with app.app_context():
        assert db.session.scalar(select(StaffSession.end_reason)) == "lifetime"


def test_the_limits_come_from_the_environment(monkeypatch, tmp_path):
    from survey.config import ConfigError, from_environment

    monkeypatch.setenv("HEALING_SURVEY_SESSION_IDLE_MINUTES", "5")
    monkeypatch.delenv("HEALING_SURVEY_SESSION_MAX_HOURS", raising=False)
    settings = from_environment(tmp_path)
    assert settings["HEALING_SURVEY_SESSION_IDLE_MINUTES"] == 5
    assert settings["HEALING_SURVEY_SESSION_MAX_HOURS"] == 12
    monkeypatch.setenv("HEALING_SURVEY_SESSION_MAX_HOURS", "twelve")
    with pytest.raises(ConfigError, match="HEALING_SURVEY_SESSION_MAX_HOURS='twelve'"):
        from_environment(tmp_path)


def api_status(client, token: str) -> int:
    return client.get("/api/v1/forms", headers={"Authorization": f"Bearer {token}"}).status_code


def test_a_new_password_ends_every_session_and_api_token(app, staff):
    first, second = signed_in(app), signed_in(app)
    token = api_token(app, "admin@example.org")
    assert api_status(first, token) == 200
    with app.app_context():
        set_password("admin@example.org", "another long password")
    assert not is_signed_in(first)
    assert not is_signed_in(second)
    assert api_status(first, token) == 401
    assert (
        sign_in(app.test_client(), "admin@example.org", "another long password").status_code == 302
    )


def test_deactivation_ends_sessions_and_tokens_and_reactivation_revives_neither(app, staff):
    client = signed_in(app, "manager@example.org")
    copied = cookie_of(client)
    token = api_token(app, "manager@example.org")
    with app.app_context():
        set_active("manager@example.org", active=False)
    assert not is_signed_in(client)
    assert api_status(client, token) == 401
    assert sign_in(app.test_client(), "manager@example.org").status_code == 401
    with app.app_context():
        set_active("manager@example.org", active=True)
    assert not is_signed_in(with_cookie(app, copied))
    assert api_status(client, token) == 401
    assert sign_in(app.test_client(), "manager@example.org").status_code == 302


def test_deactivating_in_the_database_alone_also_stops_a_session(app, staff):
    """Even an account switched off behind the app's back cannot use its live session."""
    client = signed_in(app)
    with app.app_context():
        db.session.execute(update(User).values(active=False))
        db.session.commit()
    assert not is_signed_in(client)


def test_a_forged_or_unknown_session_token_is_refused(app, staff):
    client = signed_in(app)
    with app.app_context():
        stored_hash = db.session.scalar(select(StaffSession.token_hash))
    # A cookie that names the stored hash (or anything else) as its token is not signed in:
    # the cookie is signed, and the hash is never a token.
    with client.session_transaction() as session:
        session["_user_id"] = stored_hash
    assert not is_signed_in(client)
