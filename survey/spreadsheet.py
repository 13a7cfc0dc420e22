"""CSV cells that a spreadsheet will not run: text starting with = + - @ gets a leading quote."""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """``value`` unchanged, unless it is text a spreadsheet would read as a formula.

    Numbers (including negative missing codes) are left alone; only strings are quoted.

    >>> safe_cell("=HYPERLINK(1)"), safe_cell(-7), safe_cell("Dr. Osei")
    ("'=HYPERLINK(1)", -7, 'Dr. Osei')
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
