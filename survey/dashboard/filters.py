"""The dashboard's filters as typed values, read from a page's query string."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext

from items import load_bank
from survey.aggregates import DASHBOARD_FORMS, PERIODS

_MONTH = re.compile(r"(\d{4})-(\d{2})(?:-(\d{2}))?", re.ASCII)
_MAX_WAVE = 2**31 - 1  # the database's integer columns end here; a larger wave names nothing


class FilterError(ValueError):
    """A filter value the dashboard cannot use; the message names it."""


@dataclass(frozen=True)
class DashboardFilters:
    form: str = "patient"
    wave: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    period: str = "quarter"
    # The patient's language; None is every language. Blocks are split by it (survey.release).
    language: str | None = None

    @property
    def language_choices(self) -> list[tuple[str, str]]:
        """``(code, name)`` of every language the filter offers, named in the page's language."""
        from survey.i18n import current_language
        from survey.languages import language_choices

        return language_choices(current_language())

    def query(self) -> dict:
        """The filters as query-string arguments, for links that keep them."""
        values = {
            "form": self.form,
            "wave": self.wave,
            "from": self.date_from and self.date_from.strftime("%Y-%m"),
            "to": self.date_to and self.date_to.strftime("%Y-%m"),
            "period": self.period,
            "language": self.language,
        }
        return {key: value for key, value in values.items() if value}


def _month(raw: str | None, name: str) -> date | None:
    if not raw:
        return None
    match = _MONTH.fullmatch(raw.strip())
    try:
        if match is None:
            raise ValueError
        return date(int(match[1]), int(match[2]), int(match[3] or 1))
    except ValueError:
        raise FilterError(
            gettext(
                "%(name)s %(value)s: expected a month such as 2026-03", name=name, value=repr(raw)
            )
        ) from None


def _not_one_of(name: str, value: str, allowed) -> str:
    return gettext(
        "%(name)s %(value)s: expected one of %(allowed)s",
        name=name,
        value=repr(value),
        allowed=", ".join(allowed),
    )


def parse_filters(args) -> DashboardFilters:
    """Read ``form``, ``wave``, ``from``, ``to``, ``period`` and ``language`` from a query
    string."""
    form = args.get("form") or "patient"
    if form not in DASHBOARD_FORMS:
        raise FilterError(_not_one_of("form", form, DASHBOARD_FORMS))
    period = args.get("period") or "quarter"
    if period not in PERIODS:
        raise FilterError(_not_one_of("period", period, PERIODS))
    wave = args.get("wave") or None
    if wave is not None:
        # isdigit() alone accepts "²", which int() refuses: ASCII digits only, and few of them.
        digits = wave.isascii() and wave.isdigit() and len(wave) <= 10
        if not digits or not 1 <= int(wave) <= _MAX_WAVE:
            raise FilterError(
                gettext("wave %(value)s: expected a whole number from 1", value=repr(wave))
            )
        wave = int(wave)
    date_from = _month(args.get("from"), "from")
    date_to = _month(args.get("to"), "to")
    if date_from and date_to and date_from > date_to:
        raise FilterError(
            gettext(
                "from %(start)s is after to %(end)s: the range must start first",
                start=f"{date_from:%Y-%m}",
                end=f"{date_to:%Y-%m}",
            )
        )
    language = args.get("language") or None
    languages = load_bank().languages
    if language is not None and language not in languages:
        raise FilterError(_not_one_of("language", language, languages))
    return DashboardFilters(
        form=form,
        wave=wave,
        date_from=date_from,
        date_to=date_to,
        period=period,
        language=language,
    )
