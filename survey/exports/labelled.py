"""SPSS ``.sav`` and Stata ``.dta`` files with variable and value labels (pyreadstat).

pyreadstat writes a whole DataFrame at once and cannot append, so these two formats hold the
table in memory while the file is written. The table is kept compact: item answers are small
floats (8 bytes a cell), so 100,000 responses of 38 items take about 30 MB; see the README for
measured figures.

SPSS: -7 (does not apply) and -9 (skipped) are declared user-missing values with labels.
Stata has no user-missing numbers, so they become the extended missing values ``.a`` and ``.b``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from survey.dataset import ResponseRecord
from survey.exports.layout import (
    MISSING_LABELS,
    NOT_APPLICABLE_CODE,
    SKIPPED_CODE,
    Layout,
)
from survey.exports.writers import Tally

STATA_MISSING = {NOT_APPLICABLE_CODE: "a", SKIPPED_CODE: "b"}


def _chunk_frame(layout: Layout, chunk: list[ResponseRecord]):
    """One chunk as a typed DataFrame; typed chunks are far smaller than lists of objects."""
    import numpy as np
    import pandas as pd

    meta = pd.DataFrame(
        [layout.meta_values(record) for record in chunk],
        columns=[c.name for c in layout.meta_columns],
    )
    for column in layout.meta_columns:
        values = meta[column.name]
        if column.kind == "int":
            meta[column.name] = pd.to_numeric(values).astype(float)
        elif column.kind == "datetime":
            stamps = pd.to_datetime(values.replace("", None), utc=True)
            meta[column.name] = stamps.dt.tz_localize(None)
        else:
            meta[column.name] = values.fillna("").astype(str)
    codes = np.array([layout.item_codes(record) for record in chunk], dtype=float)
    items = pd.DataFrame(codes.reshape(len(chunk), len(layout.item_ids)), columns=layout.item_ids)
    return pd.concat([meta, items], axis=1)


def _frame(layout: Layout, chunks: Iterable[list[ResponseRecord]], tally: Tally):
    import pandas as pd

    parts = []
    for chunk in chunks:
        parts.append(_chunk_frame(layout, chunk))
        tally.responses += len(chunk)
        tally.rows += len(chunk)
    if not parts:
        return _chunk_frame(layout, [])
    return pd.concat(parts, ignore_index=True)


def _labels(layout: Layout) -> tuple[dict[str, str], dict[str, dict]]:
    column_labels = {column.name: column.label for column in layout.meta_columns}
    value_labels: dict[str, dict] = {}
    for item in layout.form.items:
        column_labels[item.id] = item.text[:250]
        value_labels[item.id] = {float(o.value): o.label for o in item.scale.options}
    return column_labels, value_labels


def write_sav(
    path: Path, layout: Layout, chunks: Iterable[list[ResponseRecord]], tally: Tally
) -> None:
    """Write an SPSS file: labels, ordinal measure, -7 and -9 as labelled user-missing values."""
    import pyreadstat

    frame = _frame(layout, chunks, tally)
    column_labels, value_labels = _labels(layout)
    missing = {float(code): label for code, label in MISSING_LABELS.items()}
    for item in layout.form.items:
        value_labels[item.id] = value_labels[item.id] | missing
    pyreadstat.write_sav(
        frame,
        str(path),
        file_label=f"healing-survey {layout.form.id}",
        column_labels=column_labels,
        variable_value_labels=value_labels,
        missing_ranges={item_id: [-9.0, -7.0] for item_id in layout.item_ids},
        variable_measure=dict.fromkeys(layout.item_ids, "ordinal"),
    )


def write_dta(
    path: Path, layout: Layout, chunks: Iterable[list[ResponseRecord]], tally: Tally
) -> None:
    """Write a Stata file: labels, and -7 / -9 as the extended missing values .a / .b."""
    import numpy as np
    import pandas as pd
    import pyreadstat

    frame = _frame(layout, chunks, tally)
    column_labels, value_labels = _labels(layout)
    for item_id in layout.item_ids:
        column = frame[item_id].to_numpy()
        cells = np.full(len(column), None, dtype=object)
        answered = ~np.isnan(column) & (column > 0)
        cells[answered] = column[answered].astype(int)
        for code, letter in STATA_MISSING.items():
            cells[column == code] = letter
        frame[item_id] = pd.Series(cells, dtype=object)
        value_labels[item_id] = {
            int(value): label for value, label in value_labels[item_id].items()
        }
    pyreadstat.write_dta(
        frame,
        str(path),
        file_label=f"healing-survey {layout.form.id}"[:80],
        column_labels={name: label[:80] for name, label in column_labels.items()},
        variable_value_labels=value_labels,
        missing_user_values={item_id: ["a", "b"] for item_id in layout.item_ids},
    )
