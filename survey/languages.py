"""The languages of the item bank as staff and data files name them: a code ("es"), its name
("Spanish", from CLDR through Babel, so that a third language needs only its translation file),
and a stable number for the labelled SPSS and Stata files."""

from __future__ import annotations

from collections.abc import Iterable

from babel import Locale, UnknownLocaleError

from items import load_bank


def language_name(code: str, *, in_language: str = "en") -> str:
    """The name of language ``code`` in ``in_language``; the code itself if CLDR has none.

    Examples
    --------
    >>> language_name("es"), language_name("es", in_language="es"), language_name("xx")
    ('Spanish', 'español', 'xx')
    """
    try:
        return Locale.parse(code).get_display_name(in_language) or code
    except (UnknownLocaleError, ValueError):
        return code


def bank_languages() -> tuple[str, ...]:
    """The bank's languages: its own first, then its translations in the order it lists them.

    >>> bank_languages()
    ('en', 'es')
    """
    return tuple(load_bank().languages)


def language_codes(found: Iterable[str] = ()) -> dict[str, int]:
    """The number of each language in the labelled SPSS and Stata files: 1 for the bank's own
    language, then its translations in the order the bank lists them (a new language is
    appended, so earlier numbers keep their meaning), then any other language ``found`` in the
    data, alphabetically.

    >>> language_codes()
    {'en': 1, 'es': 2}
    >>> language_codes(["fr", "en", None])
    {'en': 1, 'es': 2, 'fr': 3}
    """
    codes = list(bank_languages())
    codes += sorted({code for code in found if code and code not in codes})
    return {code: number for number, code in enumerate(codes, start=1)}


def language_label(code: str) -> str:
    """How a labelled file names a language: its English name and its code.

    >>> language_label("es")
    'Spanish (es)'
    """
    return f"{language_name(code)} ({code})"


def language_choices(in_language: str = "en") -> list[tuple[str, str]]:
    """``(code, name)`` of each bank language, for a choice on a page."""
    return [(code, language_name(code, in_language=in_language)) for code in bank_languages()]
