"""Reading a responses CSV: the fast reader of one-digit files agrees with pandas' reader."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.one_digit_csv import one_digit_answers
from analysis.responses_file import (
    ResponsesFileError,
    _general_csv,
    _header,
    read_responses_csv,
)
from items import ScaleSpec

SPEC = ScaleSpec.from_mapping(
    {"range": [1, 5], "scales": {"a": ["a1", "-a2", "a3"], "b": ["b1", "b2", "b3"]}}
)
ITEMS = ["a1", "a2", "a3", "b1", "b2", "b3"]


def _likert_lines(rows: int = 40, seed: int = 3) -> list[str]:
    rng = np.random.default_rng(seed)
    values = rng.integers(1, 6, size=(rows, len(ITEMS))).astype(str)
    values[rng.random(values.shape) < 0.15] = ""
    values[0, 0] = values[1, -1] = ""  # empty first and last fields of a row
    values[2, 1:4] = ""  # consecutive empty fields
    return [",".join(["id", *ITEMS]), *(",".join([str(i), *row]) for i, row in enumerate(values))]


def _write(tmp_path, lines, *, final_newline=True, name="answers.csv"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + ("\n" if final_newline else ""))
    return path


@pytest.mark.parametrize("final_newline", [True, False])
def test_the_one_digit_reader_equals_pandas(tmp_path, final_newline):
    path = _write(tmp_path, _likert_lines(), final_newline=final_newline, name="with_id.csv")
    # The id column has two digits from row 10 on: read the items of a file without it too.
    plain = _write(
        tmp_path, [line.split(",", 1)[1] for line in _likert_lines()], final_newline=final_newline
    )
    for file in (path, plain):
        raw = file.read_bytes()
        expected = pd.read_csv(file)[ITEMS].astype(float).to_numpy()
        general = _general_csv(file, raw, _header(file), ITEMS)
        np.testing.assert_array_equal(general, expected)
        read = read_responses_csv(file, SPEC)
        np.testing.assert_array_equal(read.answers, expected)
        assert read.items == tuple(ITEMS)
        np.testing.assert_array_equal(read.frame.to_numpy(), expected)
        assert list(read.frame.columns) == ITEMS
    fast = one_digit_answers(plain.read_bytes(), _header(plain), ITEMS)
    assert fast is not None  # the plain file takes the fast reader
    np.testing.assert_array_equal(fast, pd.read_csv(plain)[ITEMS].astype(float).to_numpy())
    assert one_digit_answers(path.read_bytes(), _header(path), ITEMS) is None  # "10", ...


def _quote_first_field(line: str) -> str:
    first, rest = line.split(",", 1)
    return f'"{first}",{rest}'


@pytest.mark.parametrize(
    "edit",
    [
        lambda lines: lines.insert(5, ""),  # a blank line, which pandas skips
        lambda lines: lines.__setitem__(5, lines[5] + "\r"),
        lambda lines: lines.__setitem__(5, _quote_first_field(lines[5])),
        lambda lines: lines.__setitem__(5, "2.5," + lines[5].split(",", 1)[1]),
    ],
)
def test_other_files_go_to_pandas_with_the_same_result(tmp_path, edit):
    lines = [line.split(",", 1)[1] for line in _likert_lines()]
    edit(lines)
    path = _write(tmp_path, lines)
    assert one_digit_answers(path.read_bytes(), _header(path), ITEMS) is None
    expected = pd.read_csv(path)[ITEMS].astype(float).to_numpy()
    np.testing.assert_array_equal(read_responses_csv(path, SPEC).frame.to_numpy(), expected)


@pytest.mark.parametrize("row", ["1,2,3", "1,2,3,4,5,1,2"])
def test_a_ragged_row_of_a_one_digit_file_names_its_line(tmp_path, row):
    lines = [line.split(",", 1)[1] for line in _likert_lines()]
    lines[7] = row
    path = _write(tmp_path, lines)
    with pytest.raises(ResponsesFileError, match=r"line 8 has|Expected 6 fields in line 8"):
        read_responses_csv(path, SPEC)


def test_missing_codes_apply_to_one_digit_files(tmp_path):
    lines = [line.split(",", 1)[1] for line in _likert_lines()]
    lines[3] = "9,1,2,3,4,5"
    path = _write(tmp_path, lines)
    with pytest.raises(ResponsesFileError, match="value 9 on line 4"):
        read_responses_csv(path, SPEC)
    frame = read_responses_csv(path, SPEC, missing_codes=[9]).frame
    assert np.isnan(frame.iloc[2, 0]) and frame.iloc[2, 1:].tolist() == [1, 2, 3, 4, 5]
