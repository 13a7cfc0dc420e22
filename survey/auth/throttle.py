"""Sign-in throttling: growing delays per account-at-an-address and per address, never a lock-out.

Each sign-in attempt first claims a slot for two keys, the pair (account e-mail, client address)
and the client address alone. A key allows a few attempts freely; after that each attempt makes
the next one wait twice as long as the last (1 s, 2 s, 4 s, ... up to a cap), as the OWASP
Authentication Cheat Sheet recommends. The owner signing in from another address is never
slowed by an attacker elsewhere, and the delay runs out by itself.

Claiming a slot is one atomic statement, ``INSERT ... ON CONFLICT DO UPDATE ... WHERE
not_before <= now RETURNING attempts``, so concurrent attempts in several processes cannot check
more passwords than the schedule allows: PostgreSQL locks the row, SQLite the database. Where
``REDIS_URL`` is configured the counters live in Redis instead, claimed by one Lua script (which
Redis runs atomically) with the same schedule.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass
from functools import partial

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite

from survey.extensions import db
from survey.models import SignInThrottle


@dataclass(frozen=True)
class Schedule:
    """How many attempts a key gets freely, and the delays after that (seconds)."""

    free_attempts: int
    first_delay: float
    max_delay: float
    # A key whose last attempt is older than this starts again from zero.
    forget_after: float

    def delay_after(self, attempts: int) -> float:
        """The wait imposed after the ``attempts``-th attempt.

        Examples
        --------
        >>> PAIR.delay_after(4), PAIR.delay_after(5), PAIR.delay_after(7), PAIR.delay_after(40)
        (0.0, 1.0, 4.0, 900.0)
        """
        if attempts < self.free_attempts:
            return 0.0
        steps = attempts - self.free_attempts
        if steps > 30:
            return self.max_delay
        return min(self.max_delay, self.first_delay * 2.0**steps)


# One account at one address: a few typos are free, then 1 s, 2 s, 4 s ... up to 15 minutes.
PAIR = Schedule(free_attempts=5, first_delay=1.0, max_delay=900.0, forget_after=3600.0)
# One address, whatever the accounts: a whole clinic may sign in from one address.
ADDRESS = Schedule(free_attempts=25, first_delay=1.0, max_delay=900.0, forget_after=3600.0)


class SignInThrottled(Exception):
    """Too many recent sign-in attempts for this account at this address, or from this address.

    ``retry_after`` is the number of seconds until the next attempt is allowed.
    """

    def __init__(self, retry_after: int):
        self.retry_after = max(1, retry_after)
        if self.retry_after == 1:
            wait = "1 second"
        elif self.retry_after < 120:
            wait = f"{self.retry_after} seconds"
        else:
            wait = f"{math.ceil(self.retry_after / 60)} minutes"
        super().__init__(f"Too many failed sign-ins from here. Please wait {wait} and try again.")


def now() -> float:
    """The clock of the throttle (Unix seconds); tests replace it to stop time."""
    return time.time()


def pair_key(email: str, address: str) -> str:
    return _hash("pair", email, address)


def address_key(address: str) -> str:
    return _hash("address", address)


def _hash(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "replace")).hexdigest()


def _delay_expression(attempts, schedule: Schedule):
    """``schedule.delay_after(attempts)`` as SQL, one CASE branch per doubling up to the cap."""
    whens = [(attempts < schedule.free_attempts, 0.0)]
    n = schedule.free_attempts
    while schedule.delay_after(n) < schedule.max_delay:
        whens.append((attempts == n, schedule.delay_after(n)))
        n += 1
    return sa.case(*whens, else_=schedule.max_delay)


def _insert():
    dialect = db.engine.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(SignInThrottle.__table__)
    if dialect == "sqlite":
        return sqlite.insert(SignInThrottle.__table__)
    raise RuntimeError(f"sign-in throttling needs PostgreSQL or SQLite, not {dialect}")


def claim_attempt(key: str, schedule: Schedule) -> float | None:
    """Count one attempt for ``key`` if its delay has run out; None if it has, else the wait.

    One statement, so concurrent claims are serialized by the database.
    """
    at = now()
    table = SignInThrottle.__table__
    stale = table.c.updated < at - schedule.forget_after
    attempts = sa.case((stale, 1), else_=table.c.attempts + 1)
    statement = (
        _insert()
        .values(key=key, attempts=1, not_before=at + schedule.delay_after(1), updated=at)
        .on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                "attempts": attempts,
                "not_before": at + _delay_expression(attempts, schedule),
                "updated": at,
            },
            where=(table.c.not_before <= at) | stale,
        )
        .returning(table.c.attempts)
    )
    if db.session.execute(statement).first() is not None:
        return None
    not_before = db.session.scalar(sa.select(table.c.not_before).where(table.c.key == key))
    return max(0.0, (not_before or at) - at)


def check_attempt(email: str, address: str) -> None:
    """Claim an attempt for this account at this address and for the address, or raise
    ``SignInThrottled``. Committed at once (call it with nothing else pending in the session):
    the count must stand even if the request fails afterwards."""
    redis = _redis()
    claim = claim_attempt if redis is None else partial(_claim_in_redis, redis)
    wait = claim(pair_key(email, address), PAIR)
    if wait is None:
        wait = claim(address_key(address), ADDRESS)
    if redis is None:
        db.session.commit()
    if wait is not None:
        raise SignInThrottled(math.ceil(wait))


def forget_attempts(email: str, address: str) -> None:
    """After a successful sign-in: the pair starts from zero, and the address gets back the
    attempt this sign-in used (a clinic's colleagues signing in do not slow each other).
    Part of the sign-in's transaction; the caller commits."""
    redis = _redis()
    if redis is not None:
        _forget_in_redis(redis, email, address)
        return
    table = SignInThrottle.__table__
    db.session.execute(sa.delete(table).where(table.c.key == pair_key(email, address)))
    db.session.execute(
        sa.update(table)
        .where(table.c.key == address_key(address), table.c.attempts > 0)
        .values(attempts=table.c.attempts - 1)
    )
    # Keys nobody has used for a long time are forgotten anyway; keep the table small.
    forget_before = now() - max(PAIR.forget_after, ADDRESS.forget_after)
    db.session.execute(sa.delete(table).where(table.c.updated < forget_before))


# --- Redis, where REDIS_URL is configured ---------------------------------------------------

_CLAIM_SCRIPT = """
local now = tonumber(ARGV[1])
local free, first, cap, forget = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]),
    tonumber(ARGV[5])
local row = redis.call('HMGET', KEYS[1], 'attempts', 'not_before', 'updated')
local attempts = tonumber(row[1]) or 0
local not_before = tonumber(row[2]) or 0
local updated = tonumber(row[3]) or 0
local stale = updated < now - forget
if not stale and not_before > now then
    return tostring(not_before - now)
end
if stale then attempts = 1 else attempts = attempts + 1 end
local delay = 0
if attempts >= free then delay = math.min(cap, first * 2 ^ (attempts - free)) end
redis.call('HSET', KEYS[1], 'attempts', attempts, 'not_before', tostring(now + delay),
    'updated', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(forget + cap))
return false
"""
_GIVE_BACK_SCRIPT = """
if tonumber(redis.call('HGET', KEYS[1], 'attempts') or '0') > 0 then
    redis.call('HINCRBY', KEYS[1], 'attempts', -1)
end
return 0
"""
REDIS_PREFIX = "healing-survey:sign-in:"


def _redis():
    """The Redis client for ``REDIS_URL`` (one per app), or None to use the database."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    client = current_app.extensions.get("healing_survey_redis")
    if client is None:
        import redis

        client = redis.Redis.from_url(url, socket_timeout=5)
        current_app.extensions["healing_survey_redis"] = client
    return client


def _claim_in_redis(redis, key: str, schedule: Schedule) -> float | None:
    wait = redis.eval(
        _CLAIM_SCRIPT,
        1,
        REDIS_PREFIX + key,
        repr(now()),
        schedule.free_attempts,
        schedule.first_delay,
        schedule.max_delay,
        schedule.forget_after,
    )
    return None if wait is None else max(0.0, float(wait))


def _forget_in_redis(redis, email: str, address: str) -> None:
    redis.delete(REDIS_PREFIX + pair_key(email, address))
    redis.eval(_GIVE_BACK_SCRIPT, 1, REDIS_PREFIX + address_key(address))
