"""The languages of the app: which one a page is shown in, and the message catalogues.

Every text a person reads is an English msgid wrapped for gettext; the other languages are
catalogues under ``survey/translations/<language>/LC_MESSAGES/messages.po``, compiled to the
``.mo`` files committed beside them (tests/survey/test_i18n.py fails when the two disagree).
A language is supported when it has a compiled catalogue: adding one is data only.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from babel.support import NullTranslations, Translations
from flask import Flask, g, has_request_context, request, session
from flask_babel import Babel, get_locale, gettext, refresh

from items import load_bank
from survey import languages

# The language the msgids are written in: it needs no catalogue.
SOURCE_LANGUAGE = "en"
TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"
DOMAIN = "messages"
# The query parameter of an explicit choice (the welcome page's "English / Español" links).
CHOICE_PARAMETER = "lang"
SESSION_KEY = "language"

babel = Babel()


@cache
def supported_languages() -> tuple[str, ...]:
    """The source language, then every language with a compiled catalogue, sorted."""
    compiled = sorted(
        path.parent.parent.name for path in TRANSLATIONS_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.mo")
    )
    return (SOURCE_LANGUAGE, *(code for code in compiled if code != SOURCE_LANGUAGE))


def respondent_languages() -> tuple[str, ...]:
    """The languages a form can be answered in: the item bank holds its questions in them and
    there is a catalogue for the pages around the questions."""
    bank_languages = load_bank().languages
    return tuple(language for language in supported_languages() if language in bank_languages)


def translation_statuses() -> dict[str, str]:
    """Each respondent language's item-bank status ("source", "draft", "reviewed"), for staff:
    patients never see it."""
    bank_languages = load_bank().languages
    return {language: bank_languages[language] for language in respondent_languages()}


def language_label(code: str) -> str:
    """A language's name in the page's language, for staff pages: "Spanish" on an English page."""
    return languages.language_name(code, in_language=current_language())


def translation_status_label(status: str) -> str:
    """An item-bank translation status ("source", "draft", "reviewed") in the page's language,
    for staff pages; an unknown status is shown as it is."""
    labels = {
        "source": gettext("source"),
        "draft": gettext("draft"),
        "reviewed": gettext("reviewed"),
    }
    return labels.get(status, status)


def language_name(code: str) -> str:
    """A language's name in that language, capitalised: "English", "Español"."""
    name = languages.language_name(code, in_language=code)
    return name[:1].upper() + name[1:]


@cache
def catalogue(language: str | None) -> NullTranslations:
    """The compiled catalogue of one language, for texts made outside a request (e-mails).

    The source language and unknown languages get the msgids themselves.
    """
    if language not in supported_languages() or language == SOURCE_LANGUAGE:
        return NullTranslations()
    return Translations.load(str(TRANSLATIONS_DIR), [language], DOMAIN)


def select_language() -> str:
    """The language of this request: an explicit choice (``?lang=`` or kept in the session),
    else the language of the invitation being answered, else the browser's Accept-Language,
    else English. Outside a request (the CLI, the e-mail sender) it is English: texts for one
    person there take their language explicitly (``catalogue``)."""
    if not has_request_context():
        return SOURCE_LANGUAGE
    supported = supported_languages()
    chosen = session.get(SESSION_KEY)
    if chosen in supported:
        return chosen
    invitation_language = g.get("invitation_language")
    if invitation_language in supported:
        return invitation_language
    return request.accept_languages.best_match(supported) or SOURCE_LANGUAGE


def current_language() -> str:
    """The language the current page is rendered in (a supported language code)."""
    return str(get_locale() or SOURCE_LANGUAGE)


def remember_choice() -> None:
    """Keep an explicit ``?lang=`` choice for the rest of the visit; ignore unknown codes."""
    chosen = request.args.get(CHOICE_PARAMETER)
    if chosen in supported_languages():
        session[SESSION_KEY] = chosen


def forget_choice() -> None:
    """Drop an explicit choice, e.g. before a shared clinic tablet's next patient."""
    session.pop(SESSION_KEY, None)


def prefer_invitation_language(language: str | None) -> None:
    """Called by views that serve one invitation, before rendering: its language is the default
    when the respondent has not chosen one."""
    g.invitation_language = language
    refresh()  # the locale may have been picked already in this request, before the invitation


def register_i18n(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", SOURCE_LANGUAGE)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS_DIR))
    babel.init_app(app, locale_selector=select_language)
    app.before_request(remember_choice)
    app.jinja_env.globals.update(
        current_language=current_language,
        supported_languages=supported_languages,
        language_name=language_name,
        language_label=language_label,
        translation_status_label=translation_status_label,
        respondent_languages=respondent_languages,
    )
