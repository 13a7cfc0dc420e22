"""Staff accounts: creating and changing them, argon2 password hashes, and throttled sign-in.

Every sign-in, failure and refusal is written to the audit log; the throttle itself
(:mod:`survey.auth.throttle`) counts attempts atomically in its own table.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from survey.auth import throttle
from survey.auth.sessions import end_all_sessions
from survey.extensions import db
from survey.models import Clinic, Clinician, Role, User, record_audit, utcnow

PASSWORD_MIN_LENGTH = 12
# No control characters (PostgreSQL refuses NUL), no spaces, one @, a dot in the domain.
_EMAIL = re.compile(r"[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_hasher = PasswordHasher()


class AccountError(ValueError):
    """An account request that cannot be met; the message names the bad value.

    The messages staff pages show go through gettext (the page's language); the CLI has no
    request, so it always gets English. Those only the CLI can meet (its options) stay English.
    """


SignInThrottled = throttle.SignInThrottled


@dataclass(frozen=True)
class NewPassword:
    """A password chosen by the app, shown once to whoever created the account."""

    email: str
    password: str

    def to_dict(self) -> dict:
        return {"email": self.email, "password": self.password}


def normal_email(email: str) -> str:
    email = (email or "").strip().lower()
    if len(email) > 320 or not _EMAIL.fullmatch(email):
        raise AccountError(
            gettext(
                "e-mail address %(email)s is not valid; expected name@example.org",
                email=repr(email[:100]),
            )
        )
    return email


def hash_password(password: str) -> str:
    if len(password) < PASSWORD_MIN_LENGTH:
        raise AccountError(
            gettext(
                "the password has %(length)s characters; use at least %(minimum)s",
                length=len(password),
                minimum=PASSWORD_MIN_LENGTH,
            )
        )
    return _hasher.hash(password)


def generate_password() -> str:
    return secrets.token_urlsafe(15)


def account_record(account: User) -> dict:
    return {
        "id": account.id,
        "email": account.email,
        "role": account.role,
        "clinic": account.clinic.name if account.clinic else None,
        "clinician_id": account.clinician_id,
        "can_see_names": account.can_see_names,
        "active": account.active,
        "last_login_at": (
            account.last_login_at.isoformat(timespec="seconds") if account.last_login_at else None
        ),
    }


def find_account(email: str) -> User:
    account = db.session.scalar(select(User).where(User.email == normal_email(email)))
    if account is None:
        raise AccountError(f"no account for {email!r}; add it with 'healing-survey user add'")
    return account


def _placement(
    role: str, clinic_name: str | None, clinician_id: int | None
) -> tuple[int | None, int | None]:
    """The clinic and clinician an account of ``role`` belongs to, checked."""
    if role not in {r.value for r in Role}:
        raise AccountError(f"role {role!r}: expected one of {', '.join(r.value for r in Role)}")
    clinic = None
    if clinic_name is not None:
        clinic = db.session.scalar(select(Clinic).where(Clinic.name == clinic_name))
        if clinic is None:
            raise AccountError(f"no clinic named {clinic_name!r}")
    if role == Role.MANAGER:
        if clinic is None or clinician_id is not None:
            raise AccountError("a manager account needs --clinic NAME and no --clinician")
        return clinic.id, None
    if role == Role.CLINICIAN:
        if clinician_id is None:
            raise AccountError(
                "a clinician account needs --clinician ID; 'healing-survey clinician list'"
                " shows the ids"
            )
        clinician = db.session.get(Clinician, clinician_id)
        if clinician is None:
            raise AccountError(
                f"there is no clinician with id {clinician_id};"
                " 'healing-survey clinician list' shows the ids"
            )
        if clinic is not None and clinic.id != clinician.clinic_id:
            raise AccountError(f"clinician {clinician_id} does not work at {clinic_name!r}")
        return clinician.clinic_id, clinician.id
    if clinic is not None or clinician_id is not None:
        raise AccountError(f"a {role} account sees every clinic; leave out --clinic/--clinician")
    return None, None


def add_account(
    email: str,
    role: str,
    *,
    clinic_name: str | None = None,
    clinician_id: int | None = None,
    password: str | None = None,
    actor: str = "cli",
) -> tuple[dict, NewPassword | None]:
    """Create an account; without ``password`` one is generated and returned (shown once)."""
    email = normal_email(email)
    clinic_id, clinician_id = _placement(role, clinic_name, clinician_id)
    generated = None if password else NewPassword(email, generate_password())
    account = User(
        email=email,
        password_hash=hash_password(password or generated.password),
        role=role,
        clinic_id=clinic_id,
        clinician_id=clinician_id,
    )
    db.session.add(account)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise AccountError(_duplicate_account(email, clinician_id)) from None
    record_audit(actor, "account.create", f"user:{account.id}", role=role)
    db.session.commit()
    return account_record(account), generated


def _duplicate_account(email: str, clinician_id: int | None) -> str:
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        return gettext("an account for %(email)s exists already", email=email)
    holder = db.session.scalar(select(User).where(User.clinician_id == clinician_id))
    if holder is not None:
        return gettext(
            "clinician %(id)s already has an account (%(email)s)",
            id=clinician_id,
            email=holder.email,
        )
    return gettext("an account for %(email)s could not be added; try again", email=email)


def set_password(
    email: str, password: str | None = None, *, actor: str = "cli"
) -> NewPassword | None:
    """Replace an account's password, ending all its sessions and revoking its API tokens;
    generate a password if none is given."""
    account = find_account(email)
    chosen = password or generate_password()
    account.password_hash = hash_password(chosen)
    end_all_sessions(account, "password")
    record_audit(actor, "account.password", f"user:{account.id}")
    db.session.commit()
    return None if password else NewPassword(account.email, chosen)


def allow_names(email: str, *, allow: bool = True, actor: str = "cli") -> dict:
    """Let a researcher see clinicians' names, or take that back."""
    account = find_account(email)
    if account.role != Role.RESEARCHER:
        raise AccountError(f"{account.email} is a {account.role}; only researchers need this")
    account.can_see_names = allow
    record_audit(actor, "account.names", f"user:{account.id}", allowed=allow)
    db.session.commit()
    return account_record(account)


def set_active(email: str, *, active: bool, actor: str = "cli") -> dict:
    """Deactivate an account (its sessions and API tokens end at once, for good) or activate
    it again (it signs in afresh; nothing that ended comes back)."""
    account = find_account(email)
    account.active = active
    if not active:
        end_all_sessions(account, "deactivated")
    record_audit(actor, "account.active", f"user:{account.id}", active=active)
    db.session.commit()
    return account_record(account)


def list_accounts() -> list[dict]:
    return [account_record(a) for a in db.session.scalars(select(User).order_by(User.id))]


@cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def _password_matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _audited_email(email: str) -> str:
    """The e-mail as typed, fit for the audit log: short, no control characters."""
    return _CONTROL.sub("?", (email or "").strip().lower())[:150]


def authenticate(email: str, password: str, *, address: str) -> User | None:
    """The active account these credentials open, or None; every outcome is audited.

    Raises ``SignInThrottled`` when this account at this address, or this address, has used
    up its attempts for now (:mod:`survey.auth.throttle`): the delay grows with each attempt
    and runs out by itself, and other addresses are not affected.
    """
    address = _CONTROL.sub("?", address or "unknown")[:100]
    try:
        email = normal_email(email)
    except AccountError:
        email = _audited_email(email)
        valid = False
    else:
        valid = True
    try:
        throttle.check_attempt(email, address)
    except SignInThrottled:
        record_audit(f"address:{address}", "auth.sign_in_throttled", f"email:{email}")
        db.session.commit()
        raise
    account = db.session.scalar(select(User).where(User.email == email)) if valid else None
    # Verify against a dummy hash for unknown e-mails, so timing does not tell who has one.
    matches = _password_matches(account.password_hash if account else _dummy_hash(), password)
    if account is None or not matches or not account.active:
        record_audit(f"address:{address}", "auth.sign_in_failed", f"email:{email}")
        db.session.commit()
        return None
    throttle.forget_attempts(email, address)
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = _hasher.hash(password)
    account.last_login_at = utcnow()
    record_audit(f"user:{account.id}", "auth.sign_in", f"user:{account.id}", address=address)
    db.session.commit()
    return account
