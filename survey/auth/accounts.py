"""Staff accounts: creating and changing them, argon2 password hashes, and throttled sign-in.

Failed sign-ins are written to the audit log; the throttle counts them there, so it holds across
worker processes and restarts.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from survey.extensions import db
from survey.models import AuditEvent, Clinic, Clinician, Role, User, record_audit, utcnow

PASSWORD_MIN_LENGTH = 12
MAX_FAILED_SIGN_INS = 5
# A clinic behind one address must not be locked out by one colleague mistyping.
MAX_FAILED_FROM_ADDRESS = 25
THROTTLE_WINDOW = timedelta(minutes=15)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_hasher = PasswordHasher()


class AccountError(ValueError):
    """An account request that cannot be met; the message names the bad value."""


class SignInThrottled(Exception):
    """Too many failed sign-ins for this address or account; try again later."""


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
        raise AccountError(f"e-mail address {email!r} is not valid; expected name@example.org")
    return email


def hash_password(password: str) -> str:
    if len(password) < PASSWORD_MIN_LENGTH:
        raise AccountError(
            f"the password has {len(password)} characters; use at least {PASSWORD_MIN_LENGTH}"
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
        return f"an account for {email} exists already"
    holder = db.session.scalar(select(User).where(User.clinician_id == clinician_id))
    if holder is not None:
        return f"clinician {clinician_id} already has an account ({holder.email})"
    return f"an account for {email} could not be added; try again"


def set_password(
    email: str, password: str | None = None, *, actor: str = "cli"
) -> NewPassword | None:
    """Replace an account's password (ending its sessions); generate one if none is given."""
    account = find_account(email)
    chosen = password or generate_password()
    account.password_hash = hash_password(chosen)
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
    """Deactivate an account (its sessions end at once) or activate it again."""
    account = find_account(email)
    account.active = active
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


def _recent_failures(email: str, address: str, since_login) -> tuple[int, int]:
    """Failed sign-ins within the window: for this account, and from this address."""
    since = utcnow() - THROTTLE_WINDOW
    by_account = AuditEvent.target == f"email:{email}"
    if since_login is not None and since_login > since:
        by_account = by_account & (AuditEvent.at > since_login)
    failures = select(func.count(AuditEvent.id)).where(
        AuditEvent.action == "auth.sign_in_failed", AuditEvent.at >= since
    )
    account_failures = db.session.scalar(failures.where(by_account)) or 0
    address_failures = (
        db.session.scalar(failures.where(AuditEvent.actor == f"address:{address}")) or 0
    )
    return account_failures, address_failures


def authenticate(email: str, password: str, *, address: str) -> User | None:
    """The active account these credentials open, or None; every outcome is audited.

    Raises ``SignInThrottled`` after ``MAX_FAILED_SIGN_INS`` failures within
    ``THROTTLE_WINDOW`` for the same account, or ``MAX_FAILED_FROM_ADDRESS`` from the same
    address (higher, because a whole clinic may sign in from one address).
    """
    address = (address or "unknown")[:100]
    try:
        email = normal_email(email)
    except AccountError:
        email = (email or "").strip().lower()[:150]
    account = db.session.scalar(select(User).where(User.email == email))
    by_account, by_address = _recent_failures(email, address, account and account.last_login_at)
    if by_account >= MAX_FAILED_SIGN_INS or by_address >= MAX_FAILED_FROM_ADDRESS:
        record_audit(f"address:{address}", "auth.sign_in_throttled", f"email:{email}")
        db.session.commit()
        raise SignInThrottled(
            "Too many failed sign-ins. Please wait 15 minutes before you try again."
        )
    # Verify against a dummy hash for unknown e-mails, so timing does not tell who has one.
    matches = _password_matches(account.password_hash if account else _dummy_hash(), password)
    if account is None or not matches or not account.active:
        record_audit(f"address:{address}", "auth.sign_in_failed", f"email:{email}")
        db.session.commit()
        return None
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = _hasher.hash(password)
    account.last_login_at = utcnow()
    record_audit(f"user:{account.id}", "auth.sign_in", f"user:{account.id}", address=address)
    db.session.commit()
    return account
