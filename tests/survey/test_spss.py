"""The streaming SPSS writer: its files read back like the pyreadstat files it replaces."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from sqlalchemy import select

from survey.dataset import ResponseFilter, iter_response_chunks
from survey.exports.labelled import write_sav_table
from survey.exports.layout import layout_for
from survey.exports.spss import SavFormatError, SavVariable, SavWriter
from survey.exports.writers import Tally
from survey.extensions import db
from survey.models import Clinic

from .test_exports import export, seeded  # noqa: F401 - the fixture

META_FIELDS = (
    "column_names",
    "column_names_to_labels",
    "file_label",
    "file_encoding",
    "number_rows",
    "variable_value_labels",
    "missing_ranges",
    "missing_user_values",
    "readstat_variable_types",
    "variable_measure",
    "variable_display_width",
    "variable_alignment",
)


def rename_clinic(app, name: str) -> None:
    with app.app_context():
        db.session.scalars(select(Clinic)).first().name = name
        db.session.commit()


def streamed_and_reference(app, tmp_path, fmt: str, write_table, *, deidentify: bool):
    """The streamed export of a clinic with a non-ASCII name, and the export as it was made
    before the streaming writer: pyreadstat from a DataFrame (``write_table``)."""
    rename_clinic(app, "Praxis Dr. Müller-Lüdenscheidt – Gemeinschaftspraxis")
    streamed, summary = export(app, tmp_path, fmt, deidentify=deidentify, chunk_size=5)
    reference = tmp_path / f"reference.{fmt}"
    with app.app_context():
        layout = layout_for("patient", deidentify=deidentify, secret_key=app.config["SECRET_KEY"])
        chunks = iter_response_chunks(ResponseFilter(form="patient"), chunk_size=5)
        write_table(reference, layout, chunks, Tally())
    return streamed, summary, reference


@pytest.mark.parametrize("deidentify", [False, True])
def test_streamed_sav_reads_back_like_the_pyreadstat_file(seeded, tmp_path, deidentify):  # noqa: F811
    import pyreadstat

    streamed, summary, reference = streamed_and_reference(
        seeded, tmp_path, "sav", write_sav_table, deidentify=deidentify
    )

    data, meta = pyreadstat.read_sav(str(streamed), user_missing=True)
    expected, expected_meta = pyreadstat.read_sav(str(reference), user_missing=True)
    assert summary.rows == len(data) > 10
    codes = set(data[[c for c in data.columns if c.startswith("pt_")]].stack())
    assert {-7.0, -9.0} <= codes
    pd.testing.assert_frame_equal(data, expected)
    for name in META_FIELDS:
        assert getattr(meta, name) == getattr(expected_meta, name), name
    labelled = pyreadstat.set_value_labels(data, meta)
    pd.testing.assert_frame_equal(labelled, pyreadstat.set_value_labels(expected, expected_meta))
    data, meta = pyreadstat.read_sav(str(streamed), apply_value_formats=True)
    expected, _ = pyreadstat.read_sav(str(reference), apply_value_formats=True)
    pd.testing.assert_frame_equal(data, expected)
    if not deidentify:
        assert data["clinic"].str.contains("Müller").any()


def test_a_text_over_255_bytes_falls_back_to_the_table_writer(seeded, tmp_path):  # noqa: F811
    import pyreadstat

    name = "é" * 150  # 300 bytes in UTF-8
    rename_clinic(seeded, name)
    path, summary = export(seeded, tmp_path, "sav")
    data, meta = pyreadstat.read_sav(str(path), user_missing=True)
    assert len(data) == summary.rows and name in set(data["clinic"])
    assert meta.original_variable_types["clinic"] == "A300"


def test_a_file_that_cannot_seek_keeps_case_count_unknown_and_still_reads(tmp_path):
    import pyreadstat

    class Pipe(io.BytesIO):
        def seekable(self) -> bool:
            return False

    out = Pipe()
    variables = [SavVariable("score", missing=(-9.0,)), SavVariable("name", kind="text", width=3)]
    writer = SavWriter(out, variables, file_label="pipe")
    writer.write_cases([[1.0, "abc"], [None, ""]])
    writer.write_cases([[-9, "x"]])
    writer.close()
    assert out.getvalue()[80:84] == b"\xff\xff\xff\xff"
    path = tmp_path / "pipe.sav"
    path.write_bytes(out.getvalue())
    data, meta = pyreadstat.read_sav(str(path), user_missing=True)
    assert data["name"].tolist() == ["abc", "", "x"]
    assert data["score"].tolist()[::2] == [1.0, -9.0] and pd.isna(data["score"][1])
    assert meta.missing_ranges == {"score": [{"lo": -9.0, "hi": -9.0}]}


def test_writer_refuses_what_the_file_cannot_hold():
    with pytest.raises(SavFormatError, match="width 300"):
        SavWriter(io.BytesIO(), [SavVariable("name", kind="text", width=300)])
    writer = SavWriter(io.BytesIO(), [SavVariable("name", kind="text", width=2)])
    with pytest.raises(SavFormatError, match="longer than 2 bytes"):
        writer.write_cases([["abc"]])
