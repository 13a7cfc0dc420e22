"""Staff sessions kept in the database, so every app server behind a load balancer shares them.

The browser's (signed) session cookie holds a random session token; the ``staff_session`` table
holds only its SHA-256 hash. A session ends when its owner signs out, when it has been idle for
``HEALING_SURVEY_SESSION_IDLE_MINUTES``, when it is ``HEALING_SURVEY_SESSION_MAX_HOURS`` old,
and when the account's password changes or the account is deactivated. An ended session never
comes back: reactivating an account does not revive it.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, select, update

from survey.extensions import db
from survey.models import ApiToken, StaffSession, User, utcnow

SESSION_TOKEN_BYTES = 32
# last_seen_at is written at most this often, not on every request.
TOUCH_INTERVAL = timedelta(seconds=30)
# Ended sessions are kept this long for the record, then deleted.
KEEP_ENDED = timedelta(days=30)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def idle_limit() -> timedelta:
    return timedelta(minutes=current_app.config["HEALING_SURVEY_SESSION_IDLE_MINUTES"])


def lifetime_limit() -> timedelta:
    return timedelta(hours=current_app.config["HEALING_SURVEY_SESSION_MAX_HOURS"])


def start_session(account: User) -> str:
    """A new session for ``account``; returns the token for the cookie (stored only hashed)."""
    token = secrets.token_urlsafe(SESSION_TOKEN_BYTES)
    db.session.add(StaffSession(token_hash=_hash(token), user_id=account.id))
    forget_before = utcnow() - lifetime_limit() - KEEP_ENDED
    db.session.execute(delete(StaffSession).where(StaffSession.created_at < forget_before))
    return token


def _expiry_reason(row: StaffSession, at: datetime) -> str | None:
    if at - row.created_at >= lifetime_limit():
        return "lifetime"
    if at - row.last_seen_at >= idle_limit():
        return "idle"
    return None


def account_for_session(token: str) -> User | None:
    """The active account of a live session, or None; keeps the session alive while used."""
    if not token or len(token) > 100:
        return None
    row = db.session.scalar(select(StaffSession).where(StaffSession.token_hash == _hash(token)))
    if row is None or row.revoked_at is not None:
        return None
    at = utcnow()
    reason = _expiry_reason(row, at) or (None if row.user.active else "deactivated")
    if reason is not None:
        row.revoked_at, row.end_reason = at, reason
        db.session.commit()
        return None
    if at - row.last_seen_at >= TOUCH_INTERVAL:
        row.last_seen_at = at
        db.session.commit()
    return row.user


def end_session(token: str, reason: str = "sign_out") -> None:
    """End one session (signing out); the caller commits."""
    db.session.execute(
        update(StaffSession)
        .where(StaffSession.token_hash == _hash(token), StaffSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), end_reason=reason)
    )


def end_all_sessions(account: User, reason: str) -> None:
    """End every session of ``account`` and revoke its API tokens; the caller commits.

    Used when its password changes or it is deactivated; nothing ended here comes back.
    """
    at = utcnow()
    db.session.execute(
        update(StaffSession)
        .where(StaffSession.user_id == account.id, StaffSession.revoked_at.is_(None))
        .values(revoked_at=at, end_reason=reason)
    )
    db.session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == account.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=at)
    )
