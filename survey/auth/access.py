"""Who is signed in and what their role lets them see.

Every view that shows clinic data asks these functions; a request outside one's role is answered
with 403 and written to the audit log as ``access.denied``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import NoReturn

from flask import abort, redirect, request, url_for
from flask_login import LoginManager, UserMixin, current_user

from survey.extensions import db
from survey.models import Clinician, Role, User, record_audit

login_manager = LoginManager()
# Flask-Login's "strong" protection drops the session when the client's address or browser
# changes, so a stolen session cookie is less useful.
login_manager.session_protection = "strong"

KNOWN_ROLES = frozenset(role.value for role in Role)


class SignedIn(UserMixin):
    """The Flask-Login session user: a staff account and the token of its server-side session.

    The cookie carries only the token; :mod:`survey.auth.sessions` decides whether it is live.
    """

    def __init__(self, account: User, session_token: str):
        self.account = account
        self.session_token = session_token

    def get_id(self) -> str:
        return self.session_token

    @property
    def is_active(self) -> bool:
        return self.account.active


@login_manager.user_loader
def load_signed_in(session_token: str) -> SignedIn | None:
    from survey.auth.sessions import account_for_session

    account = account_for_session(session_token)
    return None if account is None else SignedIn(account, session_token)


def current_account() -> User | None:
    """The signed-in staff account, or None for an anonymous visitor."""
    if not current_user or not current_user.is_authenticated:
        return None
    return current_user.account


def actor_of(account: User | None) -> str:
    """How the audit log names an account."""
    return "anonymous" if account is None else f"user:{account.id}"


def deny(account: User | None, reason: str) -> NoReturn:
    """Answer 403 and record who asked for what."""
    record_audit(
        actor_of(account),
        "access.denied",
        request.path[:200],
        role=None if account is None else account.role,
        reason=reason,
    )
    db.session.commit()
    abort(403)


def sign_in_url() -> str:
    return url_for("auth.sign_in", next=request.full_path.rstrip("?"))


def role_required(*roles: str) -> Callable:
    """View decorator: anonymous -> the sign-in page; a signed-in account of another role -> 403.

    Examples
    --------
    >>> @role_required("admin", "manager")
    ... def clinic_page(clinic_id): ...
    """
    unknown = set(roles) - KNOWN_ROLES
    if not roles or unknown:
        raise ValueError(
            f"role_required({', '.join(roles)}): expected some of {sorted(KNOWN_ROLES)}"
        )

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def guarded(*args, **kwargs):
            account = current_account()
            if account is None:
                return redirect(sign_in_url())
            if account.role not in roles:
                deny(account, f"role {account.role} is not one of {', '.join(roles)}")
            return view(*args, **kwargs)

        return guarded

    return decorate


def may_see_clinic(account: User, clinic_id: int) -> bool:
    """Admins and researchers see every clinic, a manager their own; clinicians see no clinic
    page (they see the clinic's overall scores beside their own, on their own page)."""
    if account.role in (Role.ADMIN, Role.RESEARCHER):
        return True
    return account.role == Role.MANAGER and account.clinic_id == clinic_id


def may_see_clinician(account: User, clinician_id: int) -> bool:
    """A clinician's page names them: admins, their clinic's manager, the clinician themself,
    and researchers whom an admin allowed to see names."""
    if account.role == Role.ADMIN:
        return True
    if account.role == Role.CLINICIAN:
        return account.clinician_id == clinician_id
    if account.role == Role.RESEARCHER:
        return account.can_see_names
    if account.role == Role.MANAGER:
        clinician = db.session.get(Clinician, clinician_id)
        return clinician is not None and clinician.clinic_id == account.clinic_id
    return False


def may_see_names(account: User) -> bool:
    """Clinicians' names: admins and managers yes, researchers only where an admin allowed it."""
    if account.role in (Role.ADMIN, Role.MANAGER):
        return True
    return account.role == Role.RESEARCHER and account.can_see_names
