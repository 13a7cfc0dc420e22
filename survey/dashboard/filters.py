"""The dashboard's filters as typed values, read from a page's query string."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

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
        """``(code, name)`` of every language the filter offers."""
        from survey.languages import language_choices

        return language_choices()

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
        raise FilterError(f"{name} {raw!r}: expected a month such as 2026-03") from None


def parse_filters(args) -> DashboardFilters:
    """Read ``form``, ``wave``, ``from``, ``to``, ``period`` and ``language`` from a query
    string."""
    form = args.get("form") or "patient"
    if form not in DASHBOARD_FORMS:
        raise FilterError(f"form {form!r}: expected one of {', '.join(DASHBOARD_FORMS)}")
    period = args.get("period") or "quarter"
    if period not in PERIODS:
        raise FilterError(f"period {period!r}: expected one of {', '.join(PERIODS)}")
    wave = args.get("wave") or None
    if wave is not None:
        # isdigit() alone accepts "²", which int() refuses: ASCII digits only, and few of them.
        digits = wave.isascii() and wave.isdigit() and len(wave) <= 10
        if not digits or not 1 <= int(wave) <= _MAX_WAVE:
            raise FilterError(f"wave {wave!r}: expected a whole number from 1")
        wave = int(wave)
    date_from = _month(args.get("from"), "from")
    date_to = _month(args.get("to"), "to")
    if date_from and date_to and date_from > date_to:
        raise FilterError(
            f"from {date_from:%Y-%m} is after to {date_to:%Y-%m}: the range must start first"
        )
    language = args.get("language") or None
    languages = load_bank().languages
    if language is not None and language not in languages:
        raise FilterError(f"language {language!r}: expected one of {', '.join(languages)}")
    return DashboardFilters(
        form=form,
        wave=wave,
        date_from=date_from,
        date_to=date_to,
        period=period,
        language=language,
    )
