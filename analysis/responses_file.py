"""Reading a CSV of item responses for the workup, with checks that name the bad column.

One column per item, one row per respondent; empty cells (or ``NA``) are missing answers.
Columns that the scale specification does not name are ignored. A file of one-digit answers is
read and checked in NumPy alone; pandas reads any other (analysis._frames says why).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from analysis._frames import labelled_frame
from analysis._spec import read_scales
from analysis.one_digit_csv import header_names, one_digit_answers

if TYPE_CHECKING:
    import pandas as pd


class ResponsesFileError(ValueError):
    """A responses file the workup cannot use; the message names the file, column and row."""


@dataclass(frozen=True)
class ResponsesFile:
    """The answers to the scale items of a responses file.

    Attributes
    ----------
    answers : ndarray
        Respondents x items, floats, NaN where missing, in the order of ``items``.
    items : tuple of str
        The scale items, in the order the specification names them.
    warnings : tuple of str
        What the checks noticed without refusing the file.
    frame : DataFrame
        ``answers`` labelled by ``items`` (pandas is imported when it is first read).
    """

    answers: np.ndarray
    items: tuple[str, ...]
    warnings: tuple[str, ...]

    @cached_property
    def frame(self) -> pd.DataFrame:
        return labelled_frame(self.answers, range(len(self.answers)), self.items)


def read_responses_csv(
    path: str | Path,
    spec: Any,
    *,
    missing_codes: Iterable[float] = (),
) -> ResponsesFile:
    """Read the spec's item columns of a CSV as floats and check them.

    ``missing_codes`` are numbers that mean "no answer" (healing-survey's own exports use -7
    for "does not apply" and -9 for skipped); they are read as missing.

    Raises
    ------
    ResponsesFileError
        The file is missing or not a CSV; an item of the specification is not a column; a
        cell is not a number; a value lies outside the specification's range; there are fewer
        respondents than items; an item has the same answer in every row.
    """
    path = Path(path)
    scales = read_scales(spec)
    items = list(dict.fromkeys(i for members in scales.items.values() for i in members))
    header = _header(path)
    absent = [item for item in items if item not in header]
    if absent:
        raise ResponsesFileError(
            f"{path}: the scale specification names items that are not columns of the file: "
            f"{', '.join(absent)} (columns: {', '.join(header[:12])}"
            f"{', ...' if len(header) > 12 else ''})"
        )
    raw = path.read_bytes()
    answers = one_digit_answers(raw, header, items)
    if answers is None:
        answers = _general_csv(path, raw, header, items)
    codes = [float(code) for code in missing_codes]
    if codes:
        answers = np.where(np.isin(answers, codes), np.nan, answers)
    _check_range(answers, items, scales.response_range, path)
    warnings = _check_shape(answers, items, path)
    return ResponsesFile(answers=answers, items=tuple(items), warnings=tuple(warnings))


def _general_csv(path: Path, raw: bytes, header: list[str], items: list[str]) -> np.ndarray:
    """The items' columns read by pandas, with the checks that name a bad cell or row."""
    import pandas as pd

    try:
        frame = pd.read_csv(path, usecols=items, na_values=["NA", "N/A", "."])
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise ResponsesFileError(f"{path}: not a readable CSV file ({error})") from None
    if frame.empty:
        raise ResponsesFileError(
            f"{path}: the file has a header row but no respondents (no data rows)"
        )
    _check_field_counts(path, raw, len(header))
    frame = frame[items]
    for item in items:
        frame[item] = _numeric_column(frame[item], item, path)
    return frame.to_numpy(dtype=float)


def _header(path: Path) -> list[str]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            first = handle.readline()
    except FileNotFoundError:
        raise ResponsesFileError(f"{path}: no such file") from None
    except (UnicodeDecodeError, IsADirectoryError) as error:
        raise ResponsesFileError(f"{path}: not a readable CSV file ({error})") from None
    if not first.strip():
        raise ResponsesFileError(f"{path}: the file is empty; expected a header row of item names")
    return header_names(first)


def _check_field_counts(path: Path, raw: bytes, expected: int) -> None:
    """Refuse a row with fewer fields than the header, which pandas would read as missing
    answers; a row with more fields already fails in ``read_csv``.

    Without quotes in the file the separators are counted per line in NumPy (a 100,000-row
    file in milliseconds); with quotes, the csv module reads it.
    """
    if b'"' in raw:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            for number, row in enumerate(csv.reader(handle), start=1):
                if row and len(row) != expected:
                    _ragged(path, number, len(row), expected)
        return
    data = np.frombuffer(raw, dtype=np.uint8)
    ends = np.flatnonzero(data == ord("\n"))
    if not ends.size or ends[-1] != len(data) - 1:
        ends = np.append(ends, len(data))  # the last line has no newline
    starts = np.concatenate([[0], ends[:-1] + 1])
    lengths = ends - starts
    carriage = (lengths > 0) & (data[np.maximum(ends - 1, 0)] == ord("\r"))
    filled = np.flatnonzero(lengths - carriage > 0)  # pandas skips blank lines
    # Each sum runs from a filled line to the next one; blank lines between hold no commas.
    commas = np.add.reduceat(data == ord(","), starts[filled], dtype=np.int64)
    wrong = np.flatnonzero(commas + 1 != expected)
    if wrong.size:
        _ragged(path, int(filled[wrong[0]]) + 1, int(commas[wrong[0]]) + 1, expected)


def _ragged(path: Path, line: int, found: int, expected: int):
    raise ResponsesFileError(
        f"{path}: line {line} has {found} fields where the header has {expected}; "
        "every row needs one field per column (leave a field empty for a missing answer)"
    )


def _numeric_column(column: pd.Series, item: str, path: Path) -> pd.Series:
    import pandas as pd

    if pd.api.types.is_numeric_dtype(column):
        return column
    numbers = pd.to_numeric(column, errors="coerce")
    bad = numbers.isna() & column.notna()
    row = int(np.argmax(bad.to_numpy()))
    raise ResponsesFileError(
        f"{path}: column {item!r} has a value that is not a number: {column.iloc[row]!r} on "
        f"line {row + 2} ({int(bad.sum())} such cells in that column)"
    )


def _check_range(values: np.ndarray, items: list[str], response_range, path: Path) -> None:
    if response_range is None:
        return
    low, high = response_range
    outside = (values < low) | (values > high)
    if not outside.any():
        return
    row, col = (int(i[0]) for i in np.nonzero(outside))
    item = items[col]
    raise ResponsesFileError(
        f"{path}: column {item!r} has the value {values[row, col]:g} on line {row + 2}, outside "
        f"the response range {low:g}..{high:g} of the scale specification "
        f"({int(outside[:, col].sum())} such cells in that column)"
    )


def _check_shape(values: np.ndarray, items: list[str], path: Path) -> list[str]:
    present = ~np.isnan(values)
    answered = int(present.any(axis=1).sum())
    if answered < len(items):
        raise ResponsesFileError(
            f"{path}: {answered} respondents with answers for {len(items)} items; "
            "a factor analysis needs more respondents than items"
        )
    spread = np.fmax.reduce(values, axis=0) - np.fmin.reduce(values, axis=0)  # NaN: no answers
    constant = [str(item) for item, width in zip(items, spread, strict=True) if not width > 0]
    if constant:
        raise ResponsesFileError(
            f"{path}: these items have the same answer in every row (or no answers), which "
            f"carries no information: {', '.join(constant)}; remove them from the specification"
        )
    warnings = []
    few = [
        item
        for item, count in zip(items, present.sum(axis=0), strict=True)
        if count < 0.5 * len(values)
    ]
    if few:
        warnings.append(f"more than half of the answers are missing for {', '.join(few)}")
    return warnings


def read_group_column(path: str | Path, column: str) -> pd.Series:
    """The grouping column ``column`` of a responses CSV as text (empty cells are missing).

    Rows are those :func:`read_responses_csv` reads, in the same order.
    """
    path = Path(path)
    header = _header(path)
    if column not in header:
        raise ResponsesFileError(
            f"{path}: no column {column!r} to group by (columns: {', '.join(header[:12])}"
            f"{', ...' if len(header) > 12 else ''})"
        )
    import pandas as pd

    frame = pd.read_csv(path, usecols=[column], dtype=str, keep_default_na=False)
    values = frame[column].str.strip()
    return values.where(~values.isin(["", "NA", "N/A", "."]))
