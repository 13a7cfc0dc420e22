"""Short codes a patient types at ``/s/`` instead of a card's long link, and the throttle that
makes guessing one hopeless.

A code is 10 characters of Crockford's base32 (no I, L, O or U), shown as ``XXXXX-XXXXX``:
32^10 ≈ 1.1e15 codes. It is stored only as an HMAC keyed with ``SECRET_KEY``. Attempts are
counted per client address and for the whole site, per minute, in the database (so every app
process shares the count); the README works out the time to guess one code.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from flask import current_app
from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from survey.extensions import db
from survey.models import AttemptCounter

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32
CODE_LENGTH = 10
# Crockford's decoding: letters that look like digits read as those digits.
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})
ATTEMPTS_PER_ADDRESS_PER_MINUTE = 10
ATTEMPTS_PER_MINUTE = 120  # the whole site, whatever the number of addresses


def new_code() -> str:
    """A fresh code, grouped for reading.

    Examples
    --------
    >>> code = new_code()
    >>> len(code), code[5]
    (11, '-')
    >>> normalise_code(code.lower().replace("-", " ")) == code.replace("-", "")
    True
    """
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def normalise_code(typed: str) -> str | None:
    """What the patient typed, as stored before hashing; None if it cannot be a code.

    Examples
    --------
    >>> normalise_code(" abcde-fghjk ")
    'ABCDEFGHJK'
    >>> normalise_code("ABCDE-FGHIO")  # I reads as 1, O as 0
    'ABCDEFGH10'
    >>> normalise_code("ABC") is None
    True
    """
    cleaned = "".join(ch for ch in (typed or "").upper() if ch not in " -").translate(_READ_AS)
    if len(cleaned) != CODE_LENGTH or any(ch not in ALPHABET for ch in cleaned):
        return None
    return cleaned


def hash_code(code: str) -> str:
    """The stored form of a normalised code: HMAC-SHA256 keyed with ``SECRET_KEY``."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, code.encode(), hashlib.sha256).hexdigest()


def _count(key: str, minute: int) -> int:
    """Add one attempt to ``key`` in ``minute`` atomically; the count after adding."""
    dialect = db.session.get_bind().dialect.name
    insert = postgres_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(AttemptCounter)
        .values(key=key, minute=minute, count=1)
        .on_conflict_do_update(
            index_elements=["key", "minute"], set_={"count": AttemptCounter.count + 1}
        )
        .returning(AttemptCounter.count)
    )
    return db.session.execute(statement).scalar_one()


def allow_attempt(address: str | None, *, now: float | None = None) -> bool:
    """Count one typed-code attempt; False when this address or the site is over its limit.

    Counted in its own committed transaction, before the code is looked up, so that parallel
    requests cannot slip past the limit.
    """
    minute = int((now if now is not None else time.time()) // 60)
    per_address = _count(f"code:{address or 'unknown'}", minute)
    overall = _count("code:*", minute)
    db.session.execute(delete(AttemptCounter).where(AttemptCounter.minute < minute - 60))
    db.session.commit()
    return per_address <= ATTEMPTS_PER_ADDRESS_PER_MINUTE and overall <= ATTEMPTS_PER_MINUTE
