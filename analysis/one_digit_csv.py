"""Reading a CSV file of one-digit answers (Likert items, usually) in NumPy alone.

``analysis.responses_file`` reads such a file through here and any other through pandas, so
that the workup of a file of Likert answers runs without pandas (see ``analysis._frames``).
"""

from __future__ import annotations

import csv

import numpy as np

# The one-character fields of a file of one-digit answers: a digit, or "_" for an empty field.
_VALUE_OF_CHARACTER = np.full(256, np.nan)
_VALUE_OF_CHARACTER[ord("0") : ord("9") + 1] = np.arange(10)
_ONE_DIGIT_OR_EMPTY = ~np.isnan(_VALUE_OF_CHARACTER)
_ONE_DIGIT_OR_EMPTY[ord("_")] = True


def header_names(first_line: str) -> list[str]:
    """The column names of a CSV header line, as the csv module splits them, stripped.

    Examples
    --------
    >>> header_names('id,"a,1", b\\n')
    ['id', 'a,1', 'b']
    """
    return [name.strip() for name in next(csv.reader([first_line]))]


def one_digit_answers(raw: bytes, header: list[str], items: list[str]) -> np.ndarray | None:
    """The items' columns as floats (NaN where empty) when every field of the file is one digit
    or empty and every row has one field per column, as Likert answers usually are; ``None``
    for any other file, which :func:`analysis.responses_file.read_responses_csv` reads and checks.

    Empty fields get a placeholder, so that every row of such a file is the same bytes wide
    and the file is one NumPy array of characters: 100,000 x 30 in 0.01 s, where
    ``pandas.read_csv`` and the field count check took 0.14 s.

    Examples
    --------
    >>> raw = b"id,a,b\\n1,4,\\n2,,5\\n"
    >>> one_digit_answers(raw, ["id", "a", "b"], ["a", "b"]).tolist()
    [[4.0, nan], [nan, 5.0]]
    >>> one_digit_answers(b"a,b\\n10,1\\n", ["a", "b"], ["a", "b"]) is None
    True
    """
    body = b"\n" + raw[raw.find(b"\n") + 1 :]
    if b'"' in body or b"\r" in body or b"_" in body:
        return None
    if not body.endswith(b"\n"):
        body += b"\n"  # the last line has no newline
    chars = np.frombuffer(body, dtype=np.uint8)
    separator = (chars == ord(",")) | (chars == ord("\n"))
    gaps = np.flatnonzero(separator[:-1] & separator[1:]) + 1
    chars = np.insert(chars, gaps, np.uint8(ord("_")))[1:]
    width = 2 * len(header)
    if not chars.size or chars.size % width:
        return None
    rows = chars.reshape(-1, width)
    if not ((rows[:, 1:-1:2] == ord(",")).all() and (rows[:, -1] == ord("\n")).all()):
        return None  # a ragged row, a blank line or a field wider than one character
    fields = rows[:, [2 * header.index(item) for item in items]]
    if not _ONE_DIGIT_OR_EMPTY[fields].all():
        return None
    return _VALUE_OF_CHARACTER[fields]
