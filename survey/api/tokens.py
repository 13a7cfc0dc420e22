"""API tokens: created for an account, shown once, stored only as a hash, revocable."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select

from survey.extensions import db
from survey.invitations import hash_token
from survey.models import ApiToken, User, record_audit, utcnow

TOKEN_PREFIX = "hs_"
TOKEN_BYTES = 32


class TokenError(ValueError):
    """A token request that cannot be met; the message names the bad value."""


@dataclass(frozen=True)
class NewToken:
    id: int
    email: str
    name: str
    token: str

    def to_dict(self) -> dict:
        return {"id": self.id, "email": self.email, "name": self.name, "token": self.token}


def create_token(email: str, name: str, *, actor: str = "cli") -> NewToken:
    """A new token for the account with ``email``; the token itself is returned only here."""
    name = name.strip()
    if not name or len(name) > 100:
        raise TokenError(f"token name {name!r}: expected 1 to 100 characters")
    account = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if account is None:
        account = db.session.scalar(select(User).where(User.email == email.strip()))
    if account is None:
        raise TokenError(f"no account with e-mail {email!r}; add it with 'healing-survey user add'")
    if not account.active:
        raise TokenError(f"the account {email!r} is deactivated")
    token = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    row = ApiToken(user=account, name=name, token_hash=hash_token(token))
    db.session.add(row)
    db.session.flush()
    record_audit(actor, "api_token.create", f"user:{account.id}", token_id=row.id, name=name)
    db.session.commit()
    return NewToken(id=row.id, email=account.email, name=name, token=token)


def revoke_token(token_id: int, *, actor: str = "cli") -> None:
    row = db.session.get(ApiToken, token_id)
    if row is None:
        raise TokenError(f"no API token with id {token_id}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        record_audit(actor, "api_token.revoke", f"user:{row.user_id}", token_id=row.id)
        db.session.commit()


def account_for_token(token: str) -> User | None:
    """The active account a live token belongs to, or None; marks the token as used."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    if row is None or row.revoked_at is not None or not row.user.active:
        return None
    row.last_used_at = utcnow()
    db.session.commit()
    return row.user
