"""SPSS ``.sav`` and Stata ``.dta`` files with variable and value labels.

Both files are written row by row as chunks of responses arrive, so their memory stays flat:
the ``.sav`` file by ``survey.exports.spss``, the ``.dta`` file by ``survey.exports.stata``.
Both declare each text column's width before the first row (``text_widths``, from the
database). pyreadstat writes a whole DataFrame at once and cannot append; it remains the
fallback for a text wider than the streaming writers hold (over 255 bytes in a ``.sav`` file,
over 2045 bytes in a ``.dta`` file), and then keeps the table in memory while the file is
written. The table is kept compact: item answers are small floats (8 bytes a cell), so 100,000
responses of 38 items take about 30 MB; see the README for measured figures.

SPSS: -7 (does not apply) and -9 (skipped) are declared user-missing values with labels.
Stata has no user-missing numbers, so they become the extended missing values ``.a`` and ``.b``.

The ``language`` column is a number with value labels in both files (1 = "English (en)", 2 =
"Spanish (es)", see :func:`survey.languages.language_codes`): Stata labels numbers only, and a
labelled number reads the same in SPSS, R (haven) and pandas.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from survey.dataset import ResponseRecord
from survey.exports.layout import (
    MISSING_LABELS,
    NOT_APPLICABLE_CODE,
    SKIPPED_CODE,
    Layout,
)
from survey.exports.spss import MAX_STRING_WIDTH, SavVariable, SavWriter
from survey.exports.stata import MAX_STRING_WIDTH as MAX_DTA_STRING_WIDTH
from survey.exports.stata import DtaVariable, DtaWriter
from survey.exports.writers import Tally
from survey.languages import language_codes, language_label

STATA_MISSING = {NOT_APPLICABLE_CODE: "a", SKIPPED_CODE: "b"}
META_KINDS = {"int": "number", "text": "text", "datetime": "datetime"}
LANGUAGE = "language"


def _language_labels(codes: dict[str, int]) -> dict[int, str]:
    return {number: language_label(code) for code, number in codes.items()}


def _coded_languages(frame, codes: dict[str, int] | None) -> dict[str, int]:
    """Turn the table's language column into its numbers; the numbers used."""
    codes = language_codes(frame[LANGUAGE].unique()) if codes is None else codes
    frame[LANGUAGE] = frame[LANGUAGE].map(codes).astype(float)
    return codes


def _file_label(layout: Layout) -> str:
    return f"healing-survey {layout.form.id}"


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


def _labels(layout: Layout, codes: dict[str, int]) -> tuple[dict[str, str], dict[str, dict]]:
    column_labels = {column.name: column.label for column in layout.meta_columns}
    value_labels: dict[str, dict] = {
        LANGUAGE: {float(number): label for number, label in _language_labels(codes).items()}
    }
    for item in layout.items:
        column_labels[item.id] = item.text[:250]
        value_labels[item.id] = {float(o.value): o.label for o in item.scale.options}
    return column_labels, value_labels


def _sav_value_labels(layout: Layout, codes: dict[str, int]) -> dict[str, dict]:
    _, value_labels = _labels(layout, codes)
    missing = {float(code): label for code, label in MISSING_LABELS.items()}
    return {
        name: labels if name == LANGUAGE else labels | missing
        for name, labels in value_labels.items()
    }


def write_sav(
    path: Path,
    layout: Layout,
    chunks: Iterable[list[ResponseRecord]],
    tally: Tally,
    *,
    text_widths: dict[str, int],
    languages: dict[str, int] | None = None,
) -> None:
    """Write an SPSS file chunk by chunk: labels, ordinal measure, -7 and -9 as labelled
    user-missing values; ``text_widths`` gives each text column's width in UTF-8 bytes,
    ``languages`` the number of every language the rows may hold (by default the bank's)."""
    codes = language_codes() if languages is None else languages
    if max(text_widths.values(), default=0) > MAX_STRING_WIDTH:
        write_sav_table(path, layout, chunks, tally, languages=codes)
        return
    with open(path, "wb") as out:
        writer = SavWriter(
            out,
            _sav_variables(layout, text_widths, codes),
            file_label=_file_label(layout),
        )
        _stream_rows(writer.write_cases, layout, chunks, tally, codes)
        writer.close()


def _stream_rows(write, layout: Layout, chunks, tally: Tally, codes, item_cell=None) -> None:
    """Hand each chunk's wide rows to ``write``: metadata cells as the binary files hold them
    (the language as its number in ``codes``), item cells as they are or through
    ``item_cell``."""
    kinds = [LANGUAGE if column.name == LANGUAGE else column.kind for column in layout.meta_columns]
    cell = _meta_cell_of(codes)
    for chunk in chunks:
        rows = map(layout.wide_row, chunk)
        write(
            [cell(kind, value) for kind, value in zip(kinds, row, strict=False)]
            + (row[len(kinds) :] if item_cell is None else list(map(item_cell, row[len(kinds) :])))
            for row in rows
        )
        tally.responses += len(chunk)
        tally.rows += len(chunk)


def _meta_variables(
    layout: Layout, text_widths: dict[str, int], variable_type, language_variable
) -> list:
    """The metadata columns as ``SavVariable`` or ``DtaVariable`` (the same fields), the
    language as ``language_variable``."""
    return [
        language_variable
        if column.name == LANGUAGE
        else variable_type(
            column.name,
            label=column.label,
            kind=META_KINDS[column.kind],
            width=max(1, text_widths[column.name]) if column.kind == "text" else 0,
        )
        for column in layout.meta_columns
    ]


def _language_column(layout: Layout):
    return next(column for column in layout.meta_columns if column.name == LANGUAGE)


def _sav_variables(
    layout: Layout, text_widths: dict[str, int], codes: dict[str, int]
) -> list[SavVariable]:
    value_labels = _sav_value_labels(layout, codes)
    language = SavVariable(
        LANGUAGE,
        label=_language_column(layout).label,
        value_labels=value_labels[LANGUAGE],
        measure="nominal",
    )
    variables = _meta_variables(layout, text_widths, SavVariable, language)
    missing = (float(SKIPPED_CODE), float(NOT_APPLICABLE_CODE))
    for item in layout.items:
        variables.append(
            SavVariable(
                item.id,
                label=item.text[:250],
                missing=missing,
                value_labels=value_labels[item.id],
                measure="ordinal",
            )
        )
    return variables


def _meta_cell_of(codes: dict[str, int]):
    """A metadata cell as the binary files hold it: ISO times back to datetimes, None as '',
    a language as its number."""

    def cell(kind: str, value):
        if kind == "datetime":
            return datetime.fromisoformat(value) if value else None
        if kind == "text":
            return "" if value is None else value
        if kind == LANGUAGE:
            return codes.get(value)
        return value

    return cell


def write_sav_table(
    path: Path,
    layout: Layout,
    chunks: Iterable[list[ResponseRecord]],
    tally: Tally,
    *,
    languages: dict[str, int] | None = None,
) -> None:
    """Write an SPSS file with pyreadstat from the whole table in memory (texts over 255 bytes)."""
    import pyreadstat

    frame = _frame(layout, chunks, tally)
    codes = _coded_languages(frame, languages)
    column_labels, _ = _labels(layout, codes)
    value_labels = _sav_value_labels(layout, codes)
    pyreadstat.write_sav(
        frame,
        str(path),
        file_label=_file_label(layout),
        column_labels=column_labels,
        variable_value_labels=value_labels,
        missing_ranges={item_id: [-9.0, -7.0] for item_id in layout.item_ids},
        variable_measure=dict.fromkeys(layout.item_ids, "ordinal") | {LANGUAGE: "nominal"},
    )


def write_dta(
    path: Path,
    layout: Layout,
    chunks: Iterable[list[ResponseRecord]],
    tally: Tally,
    *,
    text_widths: dict[str, int],
    languages: dict[str, int] | None = None,
) -> None:
    """Write a Stata file row by row: labels, and -7 / -9 as the extended missing values .a / .b;
    ``text_widths`` gives each text column's width in UTF-8 bytes, ``languages`` the number of
    every language the rows may hold (by default the bank's)."""
    codes = language_codes() if languages is None else languages
    if max(text_widths.values(), default=0) > MAX_DTA_STRING_WIDTH:
        write_dta_table(path, layout, chunks, tally, languages=codes)
        return
    with open(path, "wb") as out:
        writer = DtaWriter(
            out,
            _dta_variables(layout, text_widths, codes),
            file_label=_file_label(layout),
        )
        _stream_rows(writer.write_rows, layout, chunks, tally, codes, item_cell=_dta_item)
        writer.close()


def _dta_variables(
    layout: Layout, text_widths: dict[str, int], codes: dict[str, int]
) -> list[DtaVariable]:
    """Metadata as doubles, %tc times and str#; items and the language as longs, as pyreadstat
    stored them."""
    _, value_labels = _labels(layout, codes)
    language = DtaVariable(
        LANGUAGE,
        label=_language_column(layout).label,
        kind="integer",
        value_labels={int(v): label for v, label in value_labels[LANGUAGE].items()},
    )
    variables = _meta_variables(layout, text_widths, DtaVariable, language)
    for item in layout.items:
        labels = {int(value): label for value, label in value_labels[item.id].items()}
        variables.append(
            DtaVariable(item.id, label=item.text[:250], kind="integer", value_labels=labels)
        )
    return variables


def _dta_item(code: int | None) -> int | str | None:
    """An item cell: the answer, ``"a"`` / ``"b"`` for -7 / -9, ``None`` if not asked."""
    if code in STATA_MISSING:
        return STATA_MISSING[code]
    return code if code is not None and code > 0 else None


def write_dta_table(
    path: Path,
    layout: Layout,
    chunks: Iterable[list[ResponseRecord]],
    tally: Tally,
    *,
    languages: dict[str, int] | None = None,
) -> None:
    """Write a Stata file with pyreadstat from the whole table in memory (texts over 2045
    bytes): labels, and -7 / -9 as the extended missing values .a / .b."""
    import numpy as np
    import pandas as pd
    import pyreadstat

    frame = _frame(layout, chunks, tally)
    codes = _coded_languages(frame, languages)
    frame[LANGUAGE] = pd.Series(
        [None if np.isnan(v) else int(v) for v in frame[LANGUAGE]], dtype=object
    )
    column_labels, value_labels = _labels(layout, codes)
    value_labels[LANGUAGE] = {int(v): label for v, label in value_labels[LANGUAGE].items()}
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
        file_label=_file_label(layout)[:80],
        column_labels={name: label[:80] for name, label in column_labels.items()},
        variable_value_labels=value_labels,
        missing_user_values={item_id: ["a", "b"] for item_id in layout.item_ids},
    )
