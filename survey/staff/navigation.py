"""The staff navigation every page shows (base.html), by role, with the current page marked,
and links to the page in the other languages.

It never fails a page: when the database cannot be read (the error pages of an unusable
database), it shows what an anonymous visitor sees.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from flask import request, url_for
from flask_babel import gettext
from sqlalchemy.exc import SQLAlchemyError

from survey.i18n import CHOICE_PARAMETER, current_language, language_name, supported_languages
from survey.models import Role

# The invitations list is another package's page; linked by its address so this one never
# depends on it being registered.
INVITATIONS_PATH = "/invitations/"
# Pages patients see besides the questionnaire (which has no navigation): the opt-out page,
# the waiting-room tablet, the card-code page.
PATIENT_BLUEPRINTS = ("delivery", "kiosk")
PATIENT_ENDPOINTS = ("cards.enter_code",)


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str
    prefixes: tuple[str, ...]

    @property
    def current(self) -> bool:
        return any(request.path.startswith(prefix) for prefix in self.prefixes)


@dataclass(frozen=True)
class LanguageLink:
    code: str
    name: str
    url: str


@dataclass(frozen=True)
class Navigation:
    email: str | None
    role: str | None
    items: tuple[NavItem, ...]
    languages: tuple[LanguageLink, ...]


def _page_in(language: str) -> str:
    """This page (with its filters) in another language. A page that answered a form (a POST)
    cannot be asked for again, so its link goes to the home page in that language."""
    rule = request.url_rule
    if request.method != "GET" or rule is None or "GET" not in (rule.methods or ()):
        return url_for("site.index", **{CHOICE_PARAMETER: language})
    args = request.args.items(multi=True)
    query = [(key, value) for key, value in args if key != CHOICE_PARAMETER]
    return f"{request.path}?{urlencode([*query, (CHOICE_PARAMETER, language)])}"


def language_links() -> tuple[LanguageLink, ...]:
    """A link for every supported language but the page's own, named in that language. None on
    the pages patients use (card code, kiosk, opt-out): they carry their own switch, or none."""
    if request.blueprint in PATIENT_BLUEPRINTS or request.endpoint in PATIENT_ENDPOINTS:
        return ()
    shown = current_language()
    return tuple(
        LanguageLink(code, language_name(code), _page_in(code))
        for code in supported_languages()
        if code != shown
    )


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
    languages = language_links()
    if account is None:
        sign_in = NavItem(gettext("Sign in"), url_for("auth.sign_in"), ("/sign-in",))
        return Navigation(None, None, (sign_in,), languages)
    items = [NavItem(gettext("Dashboards"), url_for("dashboard.home"), ("/dashboard",))]
    if account.role in (Role.ADMIN, Role.MANAGER):
        items.append(NavItem(gettext("Invitations"), INVITATIONS_PATH, (INVITATIONS_PATH,)))
    if account.role in (Role.ADMIN, Role.MANAGER, Role.RESEARCHER):
        items.append(NavItem(gettext("Exports"), url_for("exports.index"), ("/exports",)))
    if account.role in (Role.ADMIN, Role.MANAGER):
        items.append(NavItem(gettext("Administration"), url_for("staff.index"), ("/admin",)))
    if account.role == Role.ADMIN:
        items.append(NavItem(gettext("Audit log"), url_for("audit.index"), ("/admin/audit",)))
    items.append(NavItem(gettext("Password"), url_for("staff.password"), ("/account/password",)))
    from survey.staff.accounts import ROLE_NAMES

    role = str(ROLE_NAMES.get(account.role, account.role))
    return Navigation(account.email, role, tuple(items), languages)
