"""Sign-in throttling: growing delays per account at an address and per address, counted
atomically; an attacker never locks the owner out."""

from __future__ import annotations

import secrets
import threading

import pytest
from sqlalchemy import func, select

from survey.auth import accounts, throttle
from survey.extensions import db
from survey.models import AuditEvent

from .conftest import csrf_token
from .staff import PASSWORD, add_staff

ATTACKER = {"REMOTE_ADDR": "198.51.100.66"}
OWNER = {"REMOTE_ADDR": "192.0.2.10"}
WRONG = "not the password at all"


class Clock:
    """The throttle's clock, stopped; tests move it by hand."""

    def __init__(self):
        self.at = 1_900_000_000.0

    def __call__(self) -> float:
        return self.at


@pytest.fixture
def clock(monkeypatch):
    stopped = Clock()
    monkeypatch.setattr(throttle, "now", stopped)
    return stopped


REDIS_URL = "redis://127.0.0.1:6379/15"


def redis_available() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping())
    except Exception:  # no client library or no server: the Redis runs skip
        return False


@pytest.fixture(params=["database", "redis"])
def backend(request, app, monkeypatch):
    """Where the counters live: the database (always), or Redis where a server answers."""
    if request.param == "redis":
        if not redis_available():
            pytest.skip(f"no Redis server answers at {REDIS_URL}")
        app.config["REDIS_URL"] = REDIS_URL
        monkeypatch.setattr(
            throttle, "REDIS_PREFIX", f"healing-survey-test:{secrets.token_hex(8)}:"
        )
    return request.param


@pytest.fixture
def staff(app):
    with app.app_context():
        return add_staff()


def attempt(app, email: str, password: str, address: dict):
    client = app.test_client()
    token = csrf_token(client.get("/sign-in", environ_base=address).text)
    return client.post(
        "/sign-in",
        data={"email": email, "password": password, "csrf_token": token},
        environ_base=address,
    )


def test_delays_grow_for_the_attacker_and_never_lock_out_the_owner(app, backend, staff, clock):
    free = throttle.PAIR.free_attempts
    for _ in range(free):
        assert attempt(app, "manager@example.org", WRONG, ATTACKER).status_code == 401
    # The attacker's address now waits, even with the right password ...
    refused = attempt(app, "manager@example.org", PASSWORD, ATTACKER)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "1"
    assert "wait 1 second" in refused.text
    # ... while the owner, from their own address, signs in at once.
    assert attempt(app, "manager@example.org", PASSWORD, OWNER).status_code == 302
    # Each further attempt doubles the wait: 1 s, 2 s, 4 s.
    for expected_wait in (2, 4):
        clock.at += expected_wait / 2
        assert attempt(app, "manager@example.org", WRONG, ATTACKER).status_code == 401
        still = attempt(app, "manager@example.org", WRONG, ATTACKER)
        assert still.status_code == 429
        assert still.headers["Retry-After"] == str(expected_wait)
    # When the delay has run out, the right password works from there too.
    clock.at += 4
    assert attempt(app, "manager@example.org", PASSWORD, ATTACKER).status_code == 302
    with app.app_context():
        throttled = db.session.scalar(
            select(func.count(AuditEvent.id)).where(AuditEvent.action == "auth.sign_in_throttled")
        )
    assert throttled == 3


def test_one_address_guessing_many_accounts_is_slowed_and_others_are_not(
    app, backend, staff, clock
):
    for n in range(throttle.ADDRESS.free_attempts):
        assert attempt(app, f"guess{n}@example.org", WRONG, ATTACKER).status_code == 401
    assert attempt(app, "admin@example.org", PASSWORD, ATTACKER).status_code == 429
    assert attempt(app, "admin@example.org", PASSWORD, OWNER).status_code == 302


def test_colleagues_signing_in_from_one_address_do_not_slow_each_other(app, backend, staff, clock):
    emails = ["admin@example.org", "manager@example.org", "a1@example.org"]
    for _ in range(throttle.ADDRESS.free_attempts // len(emails) + 2):
        for email in emails:
            assert attempt(app, email, PASSWORD, OWNER).status_code == 302


def test_the_count_is_atomic_under_concurrent_attempts(app, backend, staff, clock, monkeypatch):
    """40 wrong passwords at once from one address check exactly the free attempts' worth."""
    checks: list[str] = []
    real_matches = accounts._password_matches

    def counted(password_hash: str, password: str) -> bool:
        checks.append(password)
        return real_matches(password_hash, password)

    monkeypatch.setattr(accounts, "_password_matches", counted)
    n = 40
    clients = [app.test_client() for _ in range(n)]
    tokens = [csrf_token(c.get("/sign-in", environ_base=ATTACKER).text) for c in clients]
    barrier = threading.Barrier(n, timeout=60)
    statuses: list[int] = []

    def guess(client, token):
        barrier.wait()
        response = client.post(
            "/sign-in",
            data={"email": "manager@example.org", "password": WRONG, "csrf_token": token},
            environ_base=ATTACKER,
        )
        statuses.append(response.status_code)

    threads = [
        threading.Thread(target=guess, args=pair) for pair in zip(clients, tokens, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    free = throttle.PAIR.free_attempts
    assert len(checks) == free
    assert sorted(statuses) == [401] * free + [429] * (n - free)
    # The owner elsewhere is untouched.
    assert attempt(app, "manager@example.org", PASSWORD, OWNER).status_code == 302


@pytest.mark.parametrize("email", ["man\x00ager@example.org", "\x00", "a@b.c\x00"])
def test_a_nul_byte_in_the_e_mail_is_a_failed_sign_in_not_a_server_error(app, staff, email):
    response = attempt(app, email, PASSWORD, OWNER)
    assert response.status_code == 401
    assert "do not match an account" in response.text


def test_the_schedule():
    assert [throttle.PAIR.delay_after(n) for n in range(3, 9)] == [0, 0, 1, 2, 4, 8]
    assert throttle.PAIR.delay_after(10_000) == throttle.PAIR.max_delay


def test_behind_a_trusted_proxy_the_client_address_counts(database_url_for_tests, clock):
    """With HEALING_SURVEY_TRUSTED_PROXIES=1 every request comes from the proxy's address, and
    the throttle must tell the clients apart by X-Forwarded-For."""
    from survey import create_app
    from tests.conftest import app_settings

    app = create_app({**app_settings(database_url_for_tests), "HEALING_SURVEY_TRUSTED_PROXIES": 1})
    try:
        with app.app_context():
            add_staff()

        def from_client(address: str, password: str):
            client = app.test_client()
            headers = {"X-Forwarded-For": address}
            token = csrf_token(client.get("/sign-in", headers=headers).text)
            return client.post(
                "/sign-in",
                data={"email": "manager@example.org", "password": password, "csrf_token": token},
                headers=headers,
            )

        for _ in range(throttle.PAIR.free_attempts):
            assert from_client("198.51.100.66", WRONG).status_code == 401
        assert from_client("198.51.100.66", PASSWORD).status_code == 429
        assert from_client("192.0.2.10", PASSWORD).status_code == 302
    finally:
        with app.app_context():
            db.session.remove()
            with db.engine.begin() as connection:
                for table in reversed(db.metadata.sorted_tables):
                    connection.execute(table.delete())
            db.engine.dispose()
