"""The streaming Stata writer: its files read back like the pyreadstat files it replaces."""

from __future__ import annotations

import io
import struct

import pandas as pd
import pytest

from survey.dataset import ResponseFilter, iter_response_chunks
from survey.exports.labelled import write_dta_table
from survey.exports.layout import layout_for
from survey.exports.stata import DtaFormatError, DtaVariable, DtaWriter
from survey.exports.writers import Tally

from .test_exports import export, seeded  # noqa: F401 - the fixture
from .test_spss import streamed_and_reference

META_FIELDS = (
    "column_names",
    "column_names_to_labels",
    "file_label",
    "file_encoding",
    "number_rows",
    "number_columns",
    "variable_value_labels",
    "value_labels",
    "variable_to_label",
    "missing_ranges",
    "missing_user_values",
    "readstat_variable_types",
    "original_variable_types",
    "variable_measure",
    "variable_display_width",
    "variable_alignment",
)


@pytest.mark.parametrize("deidentify", [False, True])
def test_streamed_dta_reads_back_like_the_pyreadstat_file(seeded, tmp_path, deidentify):  # noqa: F811
    import pyreadstat

    streamed, summary, reference = streamed_and_reference(
        seeded, tmp_path, "dta", write_dta_table, deidentify=deidentify
    )

    data, meta = pyreadstat.read_dta(str(streamed), user_missing=True)
    expected, expected_meta = pyreadstat.read_dta(str(reference), user_missing=True)
    assert summary.rows == len(data) > 10
    codes = set(data[[c for c in data.columns if c.startswith("pt_")]].stack())
    assert {"a", "b", 1, 5} <= codes
    pd.testing.assert_frame_equal(data, expected)
    coded = data
    for name in META_FIELDS:
        assert getattr(meta, name) == getattr(expected_meta, name), name
    assert meta.missing_user_values and meta.file_label == "healing-survey patient"
    assert streamed.read_bytes()[:31] == b"<stata_dta><header><release>118"
    labelled = pyreadstat.set_value_labels(data, meta)
    pd.testing.assert_frame_equal(labelled, pyreadstat.set_value_labels(expected, expected_meta))
    data, _ = pyreadstat.read_dta(str(streamed), apply_value_formats=True)
    expected, _ = pyreadstat.read_dta(str(reference), apply_value_formats=True)
    pd.testing.assert_frame_equal(data, expected)
    assert "Strongly agree" in set(data["pt_abi_3"])
    if not deidentify:
        assert data["clinic"].str.contains("Müller").any()
        assert str(data["submitted_at"].dtype).startswith("datetime64")
    plain, _ = pyreadstat.read_dta(str(streamed))
    pd.testing.assert_frame_equal(plain, pyreadstat.read_dta(str(reference))[0])
    letters = sum(v in ("a", "b") for v in coded["pt_abi_3"])
    assert letters > 0 and plain["pt_abi_3"].isna().sum() == letters


def test_the_header_and_map_say_where_everything_is(tmp_path):
    out = io.BytesIO()
    variables = [DtaVariable("score", kind="integer", value_labels={1: "one"})]
    writer = DtaWriter(out, variables, file_label="map")
    writer.write_rows([[1], ["b"]])
    writer.close()
    data = out.getvalue()
    assert struct.unpack("<Q", data[data.index(b"<N>") + 3 :][:8]) == (2,)
    start = data.index(b"<map>") + 5
    offsets = struct.unpack("<14Q", data[start : start + 112])
    tags = [b"<stata_dta>", b"<map>", b"<variable_types>", b"<varnames>", b"<sortlist>"]
    tags += [b"<formats>", b"<value_label_names>", b"<variable_labels>", b"<characteristics>"]
    tags += [b"<data>", b"<strls>", b"<value_labels>", b"</stata_dta>"]
    assert [data.index(tag) for tag in tags] + [len(data)] == list(offsets)


def test_a_file_that_cannot_seek_needs_and_checks_the_row_count(tmp_path):
    import pyreadstat

    class Pipe(io.BytesIO):
        def seekable(self) -> bool:
            return False

    variables = [DtaVariable("score", kind="integer"), DtaVariable("name", kind="text", width=3)]
    with pytest.raises(DtaFormatError, match="number of rows up front"):
        DtaWriter(Pipe(), variables)
    out = Pipe()
    writer = DtaWriter(out, variables, file_label="pipe", rows=3)
    writer.write_rows([[1, "abc"], [None, ""]])
    writer.write_rows([["a", "x"]])
    writer.close()
    path = tmp_path / "pipe.dta"
    path.write_bytes(out.getvalue())
    data, meta = pyreadstat.read_dta(str(path), user_missing=True)
    assert data["name"].tolist() == ["abc", "", "x"]
    assert data["score"][0] == 1 and data["score"][2] == "a" and pd.isna(data["score"][1])
    assert meta.number_rows == 3 and meta.file_label == "pipe"
    short = DtaWriter(Pipe(), variables, rows=2)
    short.write_rows([[1, "a"]])
    with pytest.raises(DtaFormatError, match="1 rows written, 2 declared"):
        short.close()


def test_writer_refuses_what_the_file_cannot_hold():
    with pytest.raises(DtaFormatError, match="width 3000"):
        DtaWriter(io.BytesIO(), [DtaVariable("name", kind="text", width=3000)])
    with pytest.raises(DtaFormatError, match="value labels need integers"):
        DtaWriter(io.BytesIO(), [DtaVariable("x", value_labels={1: "one"})])
    writer = DtaWriter(io.BytesIO(), [DtaVariable("name", kind="text", width=2)])
    with pytest.raises(DtaFormatError, match="longer than 2 bytes"):
        writer.write_rows([["abc"]])
    writer = DtaWriter(io.BytesIO(), [DtaVariable("code", kind="integer")])
    with pytest.raises(DtaFormatError, match="out of range"):
        writer.write_rows([[2**31]])


def test_a_text_over_2045_bytes_falls_back_to_the_table_writer(seeded, tmp_path):  # noqa: F811
    """The schema holds names of 200 characters (800 bytes at most), but SQLite does not enforce
    it: a wider text is written by pyreadstat from the table (release 119, strL-free)."""
    import pyreadstat

    from survey.exports.labelled import write_dta
    from survey.exports.service import _text_widths

    path = tmp_path / "wide.dta"
    with seeded.app_context():
        layout = layout_for("patient")
        widths = _text_widths(layout) | {"clinic": 2046}
        chunks = iter_response_chunks(ResponseFilter(form="patient"), chunk_size=5)
        tally = Tally()
        write_dta(path, layout, chunks, tally, text_widths=widths)
    data, _ = pyreadstat.read_dta(str(path), user_missing=True)
    assert len(data) == tally.rows > 10
    assert {"a", "b"} <= set(data[[c for c in data.columns if c.startswith("pt_")]].stack())
    assert path.read_bytes()[:31] == b"<stata_dta><header><release>119"  # pyreadstat's release
