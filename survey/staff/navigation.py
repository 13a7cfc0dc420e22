"""The staff navigation every page shows (base.html), by role, with the current page marked.

It never fails a page: when the database cannot be read (the error pages of an unusable
database), it shows what an anonymous visitor sees.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import request, url_for
from sqlalchemy.exc import SQLAlchemyError

from survey.models import Role

# The invitations list is another package's page; linked by its address so this one never
# depends on it being registered.
INVITATIONS_PATH = "/invitations/"


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str
    prefixes: tuple[str, ...]

    @property
    def current(self) -> bool:
        return any(request.path.startswith(prefix) for prefix in self.prefixes)


@dataclass(frozen=True)
class Navigation:
    email: str | None
    role: str | None
    items: tuple[NavItem, ...]


def _signed_in_account():
    from survey.auth.access import current_account
    from survey.extensions import db

    try:
        return current_account()
    except SQLAlchemyError:
        db.session.rollback()
        return None


def navigation() -> Navigation:
    account = _signed_in_account()
    if account is None:
        return Navigation(None, None, (NavItem("Sign in", url_for("auth.sign_in"), ("/sign-in",)),))
    items = [NavItem("Dashboards", url_for("dashboard.home"), ("/dashboard",))]
    if account.role in (Role.ADMIN, Role.MANAGER):
        items.append(NavItem("Invitations", INVITATIONS_PATH, (INVITATIONS_PATH,)))
    if account.role in (Role.ADMIN, Role.MANAGER, Role.RESEARCHER):
        items.append(NavItem("Exports", url_for("exports.index"), ("/exports",)))
    if account.role in (Role.ADMIN, Role.MANAGER):
        items.append(NavItem("Administration", url_for("staff.index"), ("/admin",)))
    if account.role == Role.ADMIN:
        items.append(NavItem("Audit log", url_for("audit.index"), ("/admin/audit",)))
    items.append(NavItem("Password", url_for("staff.password"), ("/account/password",)))
    return Navigation(account.email, account.role, tuple(items))
