"""REDCap data dictionary, and importing a REDCap export (or our own CSV) back as responses."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import func, select

from items import load_bank
from survey.exports.redcap import DICTIONARY_COLUMNS, data_dictionary_csv
from survey.exports.service import ExportRequest, export_to_path
from survey.extensions import db
from survey.imports import RecordImportError, import_csv_files
from survey.invitations import invite_dyad
from survey.models import Dyad, Response

from .conftest import Respondent
from .exchange import stored_answers

FORM = load_bank().form("patient")


def test_dictionary_uses_redcaps_columns_and_choice_syntax():
    rows = list(csv.DictReader(io.StringIO(data_dictionary_csv(FORM))))
    assert tuple(rows[0]) == DICTIONARY_COLUMNS
    assert DICTIONARY_COLUMNS[:6] == (
        "Variable / Field Name",
        "Form Name",
        "Section Header",
        "Field Type",
        "Field Label",
        "Choices, Calculations, OR Slider Labels",
    )
    assert rows[0]["Variable / Field Name"] == "record_id" and rows[0]["Field Type"] == "text"
    items = rows[1:]
    assert [row["Variable / Field Name"] for row in items] == [item.id for item in FORM.items]
    assert {row["Form Name"] for row in rows} == {"healing_patient"}
    assert {row["Field Type"] for row in items} == {"radio"}
    by_id = {row["Variable / Field Name"]: row for row in items}
    assert by_id["pt_val_1"]["Choices, Calculations, OR Slider Labels"] == (
        "1, Strongly disagree | 2, Disagree | 3, Neither agree nor disagree | 4, Agree | "
        "5, Strongly agree"
    )
    assert by_id["pt_abi_3"]["Choices, Calculations, OR Slider Labels"].endswith(
        "| -7, Does not apply to me"
    )
    headers = [row["Section Header"] for row in items if row["Section Header"]]
    assert len(headers) == len(FORM.sections)


def submit_three(app, clinician_id):
    links = []
    with app.app_context():
        links = [invite_dyad(clinician_id, reference=f"SRC-{n}") for n in range(3)]
    for n, link in enumerate(links):
        web = Respondent(app.test_client(), link.patient_url, "patient")

        def value_for(item, n=n):
            if item.not_applicable and n == 1:
                return "not_applicable"
            return "" if item.id == "pt_val_2" and n == 2 else str(1 + (n + len(item.id)) % 5)

        web.answer_all(value_for)
        assert web.submit().status_code == 302
    with app.app_context():
        return db.session.scalars(select(Response.id).order_by(Response.id)).all()


def read_csv(path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def write_csv(path, rows, header):
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return str(path)


def answers_by_reference(app, prefix: str) -> dict[str, dict]:
    with app.app_context():
        dyads = db.session.scalars(select(Dyad).where(Dyad.reference.like(f"{prefix}%"))).all()
        result = {}
        for dyad in dyads:
            for wave in dyad.waves:
                for invitation in wave.invitations:
                    if invitation.form == "patient" and invitation.response is not None:
                        result[dyad.reference] = stored_answers(invitation.response.id)
        return result


def test_redcap_round_trip(app, clinician_id, tmp_path):
    """Our answers as REDCap would export them (raw values, -7, empty = skipped) come back."""
    response_ids = submit_three(app, clinician_id)
    with app.app_context():
        originals = [stored_answers(rid) for rid in response_ids]
    header = ["record_id", *[item.id for item in FORM.items], "healing_patient_complete"]
    data_rows = []
    for n, answers in enumerate(originals):
        row = {"record_id": str(100 + n), "healing_patient_complete": "2"}
        for item_id, answer in answers.items():
            row[item_id] = {"not_applicable": "-7", "skipped": ""}.get(answer, str(answer))
        data_rows.append(row)
    data = write_csv(tmp_path / "redcap.csv", data_rows, header)
    mapping = write_csv(
        tmp_path / "mapping.csv",
        [
            {"record_id": str(100 + n), "clinician_id": clinician_id, "reference": f"RC-{n}"}
            for n in range(3)
        ],
        ["record_id", "clinician_id", "reference"],
    )
    with app.app_context():
        summary = import_csv_files(data, form="patient", mapping_path=mapping, actor="test")
    assert summary.responses == 3
    imported = answers_by_reference(app, "RC-")
    assert [imported[f"RC-{n}"] for n in range(3)] == originals


def test_csv_round_trip(app, clinician_id, tmp_path, runner):
    """Export the wide CSV, import it with a mapping to new dyads: the same answers."""
    submit_three(app, clinician_id)
    exported = tmp_path / "patient.csv"
    with app.app_context():
        export_to_path(ExportRequest(format="csv"), exported, actor="test", secret_key="k")
        before = db.session.scalar(select(func.count()).select_from(Response))
    rows = read_csv(exported)
    mapping = write_csv(
        tmp_path / "mapping.csv",
        [
            {
                "response_id": row["response_id"],
                "clinician_id": row["clinician_id"],
                "reference": "COPY-" + row["dyad_reference"],
            }
            for row in rows
        ],
        ["response_id", "clinician_id", "reference"],
    )
    result = runner.invoke(
        args=["import-redcap", str(exported), "--form", "patient", "--mapping", mapping]
    )
    assert result.exit_code == 0, result.output
    assert "imported 3 patient responses" in result.output
    copies = answers_by_reference(app, "COPY-")
    originals = answers_by_reference(app, "SRC-")
    assert len(originals) == 3
    assert {ref.removeprefix("COPY-"): answers for ref, answers in copies.items()} == originals
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Response)) == before + 3


def test_import_checks_everything_before_storing(app, clinician_id, tmp_path):
    submit_three(app, clinician_id)
    exported = tmp_path / "patient.csv"
    with app.app_context():
        export_to_path(ExportRequest(format="csv"), exported, actor="test", secret_key="k")
        before = db.session.scalar(select(func.count()).select_from(Response))
        # Without a mapping the rows' own dyads and waves are used: those are answered already.
        with pytest.raises(RecordImportError, match="wave 1 already has a submitted patient"):
            import_csv_files(str(exported), form="patient", mapping_path=None, actor="test")
        rows = read_csv(exported)
        rows[1]["pt_hop_2"] = "8"
        bad = write_csv(tmp_path / "bad.csv", rows, list(rows[0]))
        with pytest.raises(RecordImportError, match=r"pt_hop_2='8' is not an answer"):
            import_csv_files(bad, form="patient", mapping_path=None, actor="test")
        rows[1]["pt_hop_2"] = "-7"
        bad = write_csv(tmp_path / "bad.csv", rows, list(rows[0]))
        with pytest.raises(RecordImportError, match=r"pt_hop_2='-7'"):
            import_csv_files(bad, form="patient", mapping_path=None, actor="test")
        with pytest.raises(RecordImportError, match="no item of the 'clinician-self' form"):
            import_csv_files(str(exported), form="clinician-self", mapping_path=None, actor="t")
        partial = write_csv(
            tmp_path / "partial.csv",
            [{"response_id": rows[0]["response_id"], "clinician_id": clinician_id}],
            ["response_id", "clinician_id"],
        )
        with pytest.raises(RecordImportError, match="has no row in the mapping"):
            import_csv_files(str(exported), form="patient", mapping_path=partial, actor="t")
        assert db.session.scalar(select(func.count()).select_from(Response)) == before


def test_cli_import_reports_problems(app, runner, tmp_path):
    data = write_csv(
        tmp_path / "d.csv", [{"record_id": "1", "pt_val_1": "3"}], ["record_id", "pt_val_1"]
    )
    result = runner.invoke(args=["import-redcap", data])
    assert result.exit_code != 0 and "record 1: no clinician_id in the mapping" in result.output
