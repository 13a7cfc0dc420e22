"""Staff accounts managed in the browser: inviting a colleague with a one-time set-up link,
roles and clinics, deactivation, one's own password and a forgotten one.

Passwords are hashed and sessions ended only by :mod:`survey.auth.accounts`; this module decides
who may do what and keeps the one-time links (a hash of the token, single use, expiring).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import gettext, lazy_gettext
from sqlalchemy import func, select, update

from survey.auth import accounts
from survey.auth.access import actor_of
from survey.extensions import db
from survey.models import AuditEvent, Clinic, Clinician, Role, StaffLink, User, record_audit, utcnow

SET_UP = "set-up"
RESET = "reset"
LINK_LIFETIME = {SET_UP: timedelta(hours=72), RESET: timedelta(hours=1)}
TOKEN_BYTES = 32
# Wrong current passwords and reset requests allowed per account within the window.
MAX_ATTEMPTS = 5
ATTEMPT_WINDOW = timedelta(minutes=15)
# What the staff pages call each role (lazy: translated when a page shows it).
ROLE_NAMES = {
    Role.ADMIN: lazy_gettext("administrator"),
    Role.MANAGER: lazy_gettext("clinic manager"),
    Role.CLINICIAN: lazy_gettext("clinician"),
    Role.RESEARCHER: lazy_gettext("researcher"),
}


class StaffError(ValueError):
    """A staff request that cannot be met; the message says why in words a user reads."""


class NotAllowed(Exception):
    """The signed-in account may not do this (answered with 403)."""


@dataclass(frozen=True)
class IssuedLink:
    """A one-time link just made: the only moment its token exists outside a hash."""

    account_id: int
    email: str
    purpose: str
    path: str
    expires_at: str


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def link_path(purpose: str, token: str) -> str:
    return f"/account/set-up/{token}" if purpose == SET_UP else f"/account/reset/{token}"


def roles_for(actor: User) -> list[str]:
    """The roles ``actor`` may give: an admin any, a manager managers and clinicians."""
    if actor.role == Role.ADMIN:
        return [role.value for role in Role]
    if actor.role == Role.MANAGER:
        return [Role.MANAGER.value, Role.CLINICIAN.value]
    return []


def manageable_accounts(actor: User) -> list[User]:
    query = select(User).order_by(User.email)
    if actor.role == Role.MANAGER:
        query = query.where(User.clinic_id == actor.clinic_id)
    elif actor.role != Role.ADMIN:
        return []
    return list(db.session.scalars(query))


def may_manage(actor: User, target: User) -> bool:
    """An admin manages every account, a manager those of their own clinic (not admins or
    researchers); nobody changes their own role or deactivates themselves here."""
    if target.id == actor.id:
        return False
    if actor.role == Role.ADMIN:
        return True
    return (
        actor.role == Role.MANAGER
        and target.clinic_id == actor.clinic_id
        and target.role in (Role.MANAGER, Role.CLINICIAN)
    )


def _placement(
    actor: User, role: str, clinic_id: int | None, clinician_id: int | None
) -> tuple[Clinic | None, Clinician | None]:
    """The clinic and clinician an account of ``role`` belongs to, checked against what
    ``actor`` may give."""
    if role not in roles_for(actor):
        raise NotAllowed(f"a {actor.role} cannot give the role {role!r}")
    if actor.role == Role.MANAGER:
        clinic_id = actor.clinic_id
    if role in (Role.ADMIN, Role.RESEARCHER):
        return None, None
    if role == Role.CLINICIAN:
        clinician = db.session.get(Clinician, clinician_id) if clinician_id else None
        if clinician is None:
            raise StaffError(gettext("choose which clinician this account belongs to"))
        if actor.role == Role.MANAGER and clinician.clinic_id != actor.clinic_id:
            raise NotAllowed(f"clinician {clinician.id} works at another clinic")
        return clinician.clinic, clinician
    clinic = db.session.get(Clinic, clinic_id) if clinic_id else None
    if clinic is None:
        raise StaffError(gettext("choose the clinic this manager runs"))
    if clinic.retired_at is not None:
        raise StaffError(gettext("the clinic %(name)s is retired", name=repr(clinic.name)))
    return clinic, None


def _new_link(account: User, purpose: str) -> IssuedLink:
    """Store a new link's hash; earlier unused links of the same purpose stop working."""
    now = utcnow()
    db.session.execute(
        update(StaffLink)
        .where(
            StaffLink.user_id == account.id,
            StaffLink.purpose == purpose,
            StaffLink.used_at.is_(None),
            StaffLink.expires_at > now,
        )
        .values(expires_at=now)
        .execution_options(synchronize_session=False)
    )
    token = secrets.token_urlsafe(TOKEN_BYTES)
    expires_at = now + LINK_LIFETIME[purpose]
    db.session.add(
        StaffLink(
            user_id=account.id,
            purpose=purpose,
            token_hash=hash_token(token),
            expires_at=expires_at,
        )
    )
    return IssuedLink(
        account_id=account.id,
        email=account.email,
        purpose=purpose,
        path=link_path(purpose, token),
        expires_at=expires_at.isoformat(timespec="minutes"),
    )


def invite_colleague(
    actor: User,
    email: str,
    role: str,
    *,
    clinic_id: int | None = None,
    clinician_id: int | None = None,
) -> IssuedLink:
    """Create a colleague's account and a set-up link (72 hours) for them to choose a password.

    Until the link is used the account has a random password nobody knows.
    """
    try:
        email = accounts.normal_email(email)
    except accounts.AccountError as error:
        raise StaffError(str(error)) from None
    clinic, clinician = _placement(actor, role, clinic_id, clinician_id)
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise StaffError(gettext("an account for %(email)s exists already", email=email))
    if clinician is not None:
        holder = db.session.scalar(select(User).where(User.clinician_id == clinician.id))
        if holder is not None:
            raise StaffError(_has_an_account(clinician, holder))
    try:
        record, _unused_password = accounts.add_account(
            email,
            role,
            clinic_name=clinic.name if clinic is not None and clinician is None else None,
            clinician_id=clinician.id if clinician is not None else None,
            actor=actor_of(actor),
        )
    except accounts.AccountError as error:
        raise StaffError(str(error)) from None
    account = db.session.get(User, record["id"])
    link = _new_link(account, SET_UP)
    record_audit(actor_of(actor), "account.invite", f"user:{account.id}", role=role)
    db.session.commit()
    return link


def new_set_up_link(actor: User, target: User) -> IssuedLink:
    """A fresh set-up link for a colleague whose first one expired or got lost."""
    if not may_manage(actor, target):
        raise NotAllowed(f"{actor.email} may not manage {target.email}")
    if target.last_login_at is not None:
        raise StaffError(
            gettext(
                "%(email)s has signed in before; they can use 'Forgot your password?'",
                email=target.email,
            )
        )
    link = _new_link(target, SET_UP)
    record_audit(actor_of(actor), "account.set_up_link", f"user:{target.id}")
    db.session.commit()
    return link


def set_up_pending(account: User) -> bool:
    """Invited but never signed in: the set-up link is the way in."""
    return (
        account.last_login_at is None
        and (
            db.session.scalar(
                select(func.count(StaffLink.id)).where(
                    StaffLink.user_id == account.id, StaffLink.purpose == SET_UP
                )
            )
            or 0
        )
        > 0
    )


def change_placement(
    actor: User,
    target: User,
    role: str,
    *,
    clinic_id: int | None = None,
    clinician_id: int | None = None,
) -> None:
    """Give an account another role or clinic."""
    if not may_manage(actor, target):
        raise NotAllowed(f"{actor.email} may not manage {target.email}")
    clinic, clinician = _placement(actor, role, clinic_id, clinician_id)
    if clinician is not None:
        holder = db.session.scalar(
            select(User).where(User.clinician_id == clinician.id, User.id != target.id)
        )
        if holder is not None:
            raise StaffError(_has_an_account(clinician, holder))
    before = {"role": target.role, "clinic_id": target.clinic_id}
    target.role = role
    target.clinic_id = clinic.id if clinic is not None else None
    target.clinician_id = clinician.id if clinician is not None else None
    if role != Role.RESEARCHER:
        target.can_see_names = False
    record_audit(
        actor_of(actor),
        "account.placement",
        f"user:{target.id}",
        before=before,
        after={"role": role, "clinic_id": target.clinic_id},
    )
    db.session.commit()


def set_active(actor: User, target: User, *, active: bool) -> None:
    """Deactivate or reactivate a colleague's account (its sessions end on deactivation)."""
    if not may_manage(actor, target):
        raise NotAllowed(f"{actor.email} may not manage {target.email}")
    accounts.set_active(target.email, active=active, actor=actor_of(actor))


def _password_matches(account: User, password: str) -> bool:
    try:
        return PasswordHasher().verify(account.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _recent(action: str, target: str) -> int:
    since = utcnow() - ATTEMPT_WINDOW
    return (
        db.session.scalar(
            select(func.count(AuditEvent.id)).where(
                AuditEvent.action == action, AuditEvent.target == target, AuditEvent.at >= since
            )
        )
        or 0
    )


def _has_an_account(clinician: Clinician, holder: User) -> str:
    return gettext(
        "%(name)s already has an account (%(email)s)", name=clinician.name, email=holder.email
    )


def check_new_password(password: str, again: str) -> None:
    """The policy of ``healing-survey user add`` / ``set-password``, with the typing check."""
    if password != again:
        raise StaffError(gettext("the two new passwords are not the same; type them again"))
    if len(password) < accounts.PASSWORD_MIN_LENGTH:
        raise StaffError(
            gettext(
                "the new password has %(length)d characters; use at least %(minimum)d",
                length=len(password),
                minimum=accounts.PASSWORD_MIN_LENGTH,
            )
        )
    if len(password) > 200:
        raise StaffError(gettext("the new password is longer than 200 characters"))


def change_own_password(account: User, current: str, new: str, again: str) -> None:
    """Change one's own password; the current one is required (a session left open is not
    enough to take the account over)."""
    target = f"user:{account.id}"
    if _recent("account.password_check_failed", target) >= MAX_ATTEMPTS:
        raise StaffError(gettext("too many wrong passwords; wait 15 minutes and try again"))
    if not _password_matches(account, current):
        record_audit(target, "account.password_check_failed", target)
        db.session.commit()
        raise StaffError(gettext("the current password is not right"))
    check_new_password(new, again)
    if new == current:
        raise StaffError(gettext("the new password is the same as the current one"))
    accounts.set_password(account.email, new, actor=target)


def link_for(token: str, purpose: str) -> StaffLink | None:
    """The unused, unexpired link a token opens, or None."""
    if not token or len(token) > 100:
        return None
    link = db.session.scalar(select(StaffLink).where(StaffLink.token_hash == hash_token(token)))
    if link is None or link.purpose != purpose or link.used_at is not None:
        return None
    if utcnow() >= link.expires_at or not link.user.active:
        return None
    return link


def use_link(token: str, purpose: str, password: str, again: str) -> User:
    """Set the password through a one-time link; the link works once, whoever comes second
    is refused."""
    link = link_for(token, purpose)
    if link is None:
        raise StaffError(dead_link_message(purpose))
    check_new_password(password, again)
    now = utcnow()
    claimed = db.session.execute(
        update(StaffLink)
        .where(StaffLink.id == link.id, StaffLink.used_at.is_(None), StaffLink.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        db.session.rollback()
        raise StaffError(dead_link_message(purpose))
    account = link.user
    action = "account.set_up" if purpose == SET_UP else "account.reset"
    record_audit(f"user:{account.id}", action, f"user:{account.id}")
    accounts.set_password(account.email, password, actor=f"user:{account.id}")
    return account


def dead_link_message(purpose: str) -> str:
    if purpose == SET_UP:
        return gettext(
            "This set-up link was already used or has expired. Ask whoever invited you for a "
            "new one."
        )
    return gettext("This link was already used or has expired. Ask for a new one below.")


def request_password_reset(email: str, *, address: str) -> IssuedLink | None:
    """A reset link (1 hour) for an active account, or None; the caller shows the same page
    either way. A few requests per address and account in 15 minutes, no more."""
    address = (address or "unknown")[:100]
    try:
        email = accounts.normal_email(email)
    except accounts.AccountError:
        email = (email or "").strip().lower()[:150]
    target = f"email:{email}"
    recent = _recent("account.reset_requested", target)
    record_audit(f"address:{address}", "account.reset_requested", target)
    account = db.session.scalar(select(User).where(User.email == email))
    if recent >= MAX_ATTEMPTS or account is None or not account.active:
        db.session.commit()
        return None
    link = _new_link(account, RESET)
    db.session.commit()
    return link
