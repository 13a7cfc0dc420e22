"""Exports: wide and long CSV, codebook, SPSS and Stata, de-identification, audit, downloads."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import func, select

from items import load_bank
from survey.dataset import ResponseFilter, iter_responses
from survey.exports.layout import IDENTIFIED_COLUMNS, ExportError
from survey.exports.service import ExportRequest, export_stream, export_to_path
from survey.extensions import db
from survey.models import Answer, AuditEvent, Clinic, Clinician, Dyad, Response

from .exchange import add_user, seed_demo, sign_in, submitted_count

ITEMS = [item.id for item in load_bank().form("patient").items]
CODES = {"not_applicable": "-7", "skipped": "-9"}


@pytest.fixture
def seeded(app):
    seed_demo(app)
    return app


def read_csv(path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def export(app, tmp_path, fmt, **options):
    path = tmp_path / f"out-{fmt}-{len(list(tmp_path.iterdir()))}"
    chunk_size = options.pop("chunk_size", 2000)
    with app.app_context():
        summary = export_to_path(
            ExportRequest(format=fmt, **options),
            path,
            actor="test",
            secret_key=app.config["SECRET_KEY"],
            chunk_size=chunk_size,
        )
    return path, summary


def test_wide_csv_has_every_response_and_the_stored_answers(seeded, tmp_path):
    path, summary = export(seeded, tmp_path, "csv", chunk_size=7)
    rows = read_csv(path)
    expected = submitted_count(seeded)
    assert expected > 10 and summary.responses == summary.rows == len(rows) == expected
    with open(path, encoding="utf-8") as handle:
        header = handle.readline().strip().split(",")
    assert header == [c.name for c in IDENTIFIED_COLUMNS] + ITEMS
    with seeded.app_context():
        records = list(iter_responses(ResponseFilter(form="patient")))
    for row, record in zip(rows, records, strict=True):
        assert int(row["response_id"]) == record.response_id
        assert row["clinician"] == record.clinician and row["dyad_reference"] == (
            record.dyad_reference or ""
        )
        for item_id in ITEMS:
            answer = record.answers[item_id]
            assert row[item_id] == CODES.get(answer, str(answer))
    assert {"-7", "-9"} & {row[item] for row in rows for item in ITEMS}


def test_chunk_size_does_not_change_the_file(seeded, tmp_path):
    small, _ = export(seeded, tmp_path, "csv", chunk_size=3)
    large, _ = export(seeded, tmp_path, "csv", chunk_size=5000)
    assert small.read_bytes() == large.read_bytes()


def test_long_csv_has_one_row_per_answer(seeded, tmp_path):
    path, summary = export(seeded, tmp_path, "csv-long")
    rows = read_csv(path)
    with seeded.app_context():
        answers = db.session.scalar(
            select(func.count())
            .select_from(Answer)
            .join(Response)
            .where(Response.form == "patient", Response.submitted_at.is_not(None))
        )
    assert len(rows) == summary.rows == answers
    coded = [row for row in rows if row["code"]]
    assert coded and all(row["value"] == "" for row in coded)
    assert all(row["code"] in ("not_applicable", "skipped") for row in coded)
    assert {row["construct"] for row in rows} == set(
        load_bank().form("patient").scale_spec().scales
    )


def test_codebook_and_r_script(app, tmp_path):
    path, _ = export(app, tmp_path, "codebook")
    rows = {row["variable"]: row for row in read_csv(path)}
    retired = [item.id for item in load_bank().form("patient").retired]
    assert list(rows)[-len(ITEMS) - len(retired) :] == ITEMS + retired
    assert rows["pt_val_6"]["label"] == "My clinician sees how my health problems affect my life."
    assert rows["pt_val_6"]["retired_in"] == "2026.12.1" and rows["pt_val_7"]["retired_in"] == ""
    item = rows["pt_abi_3"]
    assert item["construct"] == "abiding" and item["reverse_keyed"] == "no"
    assert item["values"].startswith("1=Strongly disagree; 2=Disagree")
    assert item["missing_codes"] == "-7=Does not apply to me; -9=Skipped (no answer)"
    assert rows["pt_val_1"]["missing_codes"] == "-9=Skipped (no answer)"
    markdown, _ = export(app, tmp_path, "codebook-md")
    text = markdown.read_text()
    assert "| -7 |" in text and "`pt_abi_3`" in text and "## Abiding" in text
    assert "## Retired items" in text and "| `pt_kno_5` | I feel that my clinician really" in text
    script, _ = export(app, tmp_path, "r-script")
    r_code = script.read_text()
    assert 'read.csv("healing-survey-patient.csv"' in r_code
    assert "c(-7, -9)" in r_code and all(f'"{item}"' in r_code for item in ITEMS)


def test_sav_and_dta_carry_labels_and_missing_codes(seeded, tmp_path):
    import pyreadstat

    csv_path, _ = export(seeded, tmp_path, "csv")
    rows = read_csv(csv_path)
    sav_path, summary = export(seeded, tmp_path, "sav")
    data, meta = pyreadstat.read_sav(str(sav_path), user_missing=True)
    assert len(data) == summary.rows == len(rows)
    assert meta.column_names_to_labels["pt_val_1"] == load_bank().item("pt_val_1").text
    assert meta.variable_value_labels["pt_abi_3"][-7.0] == "Does not apply"
    assert meta.variable_value_labels["pt_abi_3"][5.0] == "Strongly agree"
    assert {(r["lo"], r["hi"]) for r in meta.missing_ranges["pt_abi_3"]} == {(-9, -9), (-7, -7)}
    assert [f"{v:g}" for v in data["pt_abi_3"]] == [row["pt_abi_3"] for row in rows]

    dta_path, _ = export(seeded, tmp_path, "dta")
    stata, stata_meta = pyreadstat.read_dta(str(dta_path), user_missing=True)
    letters = {"-7": "a", "-9": "b"}
    expected = [letters.get(row["pt_abi_3"], row["pt_abi_3"]) for row in rows]
    assert [str(v) for v in stata["pt_abi_3"]] == expected
    assert stata_meta.variable_value_labels["pt_val_1"][1] == "Strongly disagree"


def identifiers(app) -> list[str]:
    with app.app_context():
        names = db.session.scalars(select(Clinician.name)).all()
        names += db.session.scalars(select(Clinic.name)).all()
        names += [r for r in db.session.scalars(select(Dyad.reference)).all() if r]
    return names


FULL_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@pytest.mark.parametrize("fmt", ["csv", "csv-long", "fhir-bundle"])
def test_deidentified_exports_leak_no_identifier(seeded, tmp_path, fmt):
    path, summary = export(seeded, tmp_path, fmt, deidentify=True)
    text = path.read_text()
    assert summary.responses == submitted_count(seeded)
    leaks = [name for name in identifiers(seeded) if name in text]
    assert leaks == []
    assert FULL_DATE.search(text) is None
    if fmt != "fhir-bundle":
        header = text.splitlines()[0].split(",")
        assert not {"response_id", "clinic_id", "clinician_id", "dyad_id", "dyad_reference"} & set(
            header
        )
        rows = read_csv(path)
        assert all(re.fullmatch(r"N-[0-9a-f]{12}", row["clinician"]) for row in rows)
        assert all(re.fullmatch(r"\d{4}-\d{2}", row["submitted_month"]) for row in rows)


@pytest.mark.parametrize("fmt", ["sav", "dta"])
def test_deidentified_sav_and_dta_leak_no_identifier(seeded, tmp_path, fmt):
    import pyreadstat

    path, _ = export(seeded, tmp_path, fmt, deidentify=True)
    data, _meta = (pyreadstat.read_sav if fmt == "sav" else pyreadstat.read_dta)(str(path))
    cells = {str(v) for column in data.columns for v in data[column].tolist()}
    assert not set(identifiers(seeded)) & cells
    assert not [cell for cell in cells if FULL_DATE.search(cell)]


def test_pseudonyms_are_stable_and_keyed(seeded, tmp_path):
    first, _ = export(seeded, tmp_path, "csv", deidentify=True)
    second, _ = export(seeded, tmp_path, "csv", deidentify=True)
    assert first.read_bytes() == second.read_bytes()
    dyads = {row["dyad"] for row in read_csv(first)}
    seeded.config["SECRET_KEY"] = "another key"
    other, _ = export(seeded, tmp_path, "csv", deidentify=True)
    assert not dyads & {row["dyad"] for row in read_csv(other)}


def test_every_export_is_audited(seeded, tmp_path):
    _, summary = export(seeded, tmp_path, "csv", deidentify=True)
    with seeded.app_context():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "export")).one()
    assert event.actor == "test" and event.target == "form:patient"
    assert event.detail["rows"] == summary.rows and event.detail["complete"] is True
    assert event.detail["deidentified"] is True and event.detail["format"] == "csv"


def test_unknown_format_or_form_is_refused(app, tmp_path):
    with pytest.raises(ExportError, match="unknown format 'xls'"):
        export(app, tmp_path, "xls")
    with pytest.raises(ExportError, match="unknown form 'doctor'"):
        export(app, tmp_path, "csv", form="doctor")


def test_a_stream_is_lazy_and_audits_when_it_ends(seeded):
    with seeded.test_request_context():
        stream = export_stream(
            ExportRequest(format="csv"), actor="test", secret_key="k", chunk_size=2
        )
        header = next(stream)
        assert (
            header.startswith(b"response_id,")
            and db.session.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "export")
            )
            == 0
        )
        body = header + b"".join(stream)
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "export")).one()
    assert body.count(b"\n") - 1 == event.detail["rows"] == submitted_count(seeded)


def test_cli_export(seeded, runner, tmp_path):
    out = tmp_path / "patient.csv"
    result = runner.invoke(args=["export", "--format", "csv", "--deidentify", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"{submitted_count(seeded)} responses" in result.output
    assert read_csv(out)[0]["clinician"].startswith("N-")
    bad = runner.invoke(args=["export", "--format", "csv", "--form", "nurse", "--out", str(out)])
    assert bad.exit_code != 0 and "nurse" in bad.output


# --- the download page --------------------------------------------------------------------


@pytest.fixture
def second_clinic(seeded):
    """Another clinic with one submitted patient response, for the manager's scope."""
    from survey.invitations import invite_dyad

    from .conftest import Respondent

    with seeded.app_context():
        clinic = Clinic(name="Hillside Clinic")
        clinician = Clinician(clinic=clinic, name="Dr. Hill")
        db.session.add_all([clinic, clinician])
        db.session.commit()
        clinic_id, clinician_id = clinic.id, clinician.id
        links = invite_dyad(clinician_id, reference="HILL-1")
    respondent = Respondent(seeded.test_client(), links.patient_url, "patient")
    respondent.answer_all()
    assert respondent.submit().status_code == 302
    return clinic_id


def test_downloads_follow_the_roles(seeded, second_clinic, client):
    add_user(seeded, "admin@example.org", "admin")
    add_user(seeded, "manager@example.org", "manager", clinic_id=second_clinic)
    add_user(seeded, "researcher@example.org", "researcher")
    with seeded.app_context():
        clinician_id = db.session.scalar(select(Clinician.id).order_by(Clinician.id))
    add_user(seeded, "doc@example.org", "clinician", clinician_id=clinician_id)

    anonymous = client.get("/exports/")
    assert anonymous.status_code == 302 and "/sign-in" in anonymous.location

    sign_in(client, "manager@example.org")
    page = client.get("/exports/")
    assert page.status_code == 200 and "Hillside Clinic" in page.text
    download = client.get("/exports/download?format=csv&form=patient")
    assert download.status_code == 200
    assert 'filename="healing-survey-patient.csv"' in download.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert [row["clinic"] for row in rows] == ["Hillside Clinic"]

    researcher = seeded.test_client()
    sign_in(researcher, "researcher@example.org")
    download = researcher.get("/exports/download?format=csv&form=patient")
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert len(rows) == submitted_count(seeded) and rows[0]["clinic"].startswith("C-")
    assert "Hillside Clinic" not in download.text and "Dr. Hill" not in download.text

    admin = seeded.test_client()
    sign_in(admin, "admin@example.org")
    sav = admin.get("/exports/download?format=sav&form=patient")
    assert sav.status_code == 200 and sav.data[:4] == b"$FL2"
    bad = admin.get("/exports/download?format=xls")
    assert bad.status_code == 400 and "unknown format &#39;xls&#39;" in bad.text

    doctor = seeded.test_client()
    sign_in(doctor, "doc@example.org")
    assert doctor.get("/exports/").status_code == 403
    assert doctor.get("/exports/download?format=csv").status_code == 403
    with seeded.app_context():
        exports = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "export")).all()
    # The refused "xls" request wrote no file, so three exports are logged, each with its rows.
    assert [event.detail["format"] for event in exports] == ["csv", "csv", "sav"]
    assert [event.detail["deidentified"] for event in exports] == [False, True, False]
    assert all(event.actor.startswith("user:") and event.detail["complete"] for event in exports)


def test_a_manager_downloads_a_dta_file_of_their_clinic(seeded, second_clinic, client, tmp_path):
    import pyreadstat

    add_user(seeded, "manager@example.org", "manager", clinic_id=second_clinic)
    sign_in(client, "manager@example.org")
    download = client.get("/exports/download?format=dta&form=patient")
    assert download.status_code == 200
    assert 'filename="healing-survey-patient.dta"' in download.headers["Content-Disposition"]
    path = tmp_path / "download.dta"
    path.write_bytes(download.data)
    data, meta = pyreadstat.read_dta(str(path), user_missing=True)
    assert data["clinic"].tolist() == ["Hillside Clinic"] and meta.number_rows == 1
    assert meta.variable_value_labels["pt_abi_3"][5] == "Strongly agree"
    with seeded.app_context():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "export")).one()
    assert event.detail["format"] == "dta" and event.detail["rows"] == 1


def test_text_a_spreadsheet_would_run_is_quoted(seeded, tmp_path):
    from survey.extensions import db
    from survey.models import Clinician

    with seeded.app_context():
        clinician = db.session.scalars(db.select(Clinician).order_by(Clinician.id)).first()
        clinician.name = '=HYPERLINK("http://example.org","x")'
        db.session.commit()
    path, _ = export(seeded, tmp_path, "csv")
    names = {row["clinician"] for row in read_csv(path)}
    assert "'" + '=HYPERLINK("http://example.org","x")' in names
    assert not any(name.startswith("=") for name in names)
    assert {"-7", "-9"} & {row[item] for row in read_csv(path) for item in ITEMS}


def test_self_assessments_leave_only_without_names_and_never_to_a_clinic(seeded, tmp_path):
    from survey.exports.service import ExportError

    with pytest.raises(ExportError, match="only de-identified"):
        export(seeded, tmp_path, "csv", form="clinician-self")
    with pytest.raises(ExportError, match="not exported for a clinic"):
        export(seeded, tmp_path, "sav", form="clinician-self", deidentify=True, clinic_id=1)
    path, summary = export(seeded, tmp_path, "csv", form="clinician-self", deidentify=True)
    rows = read_csv(path)
    assert summary.responses == len(rows) > 0
    assert all(row["clinician"].startswith("N-") for row in rows)
    codebook, _ = export(seeded, tmp_path, "codebook", form="clinician-self")
    assert codebook.exists()


def test_answers_to_a_retired_item_stay_in_the_long_export(seeded, tmp_path):
    """An answer given under bank 2026.11.1 to pt_val_6 (retired in 2026.12.1) is kept."""
    import sqlalchemy as sa

    from survey.extensions import db
    from survey.models import Answer, Response

    with seeded.app_context():
        response = db.session.scalar(
            sa.select(Response).where(Response.submitted_at.is_not(None)).limit(1)
        )
        db.session.add(
            Answer(response=response, item_id="pt_val_6", bank_version="2026.11.1", value=2)
        )
        db.session.commit()
        response_id = response.id
    path, _ = export(seeded, tmp_path, "csv-long")
    old = [
        row
        for row in read_csv(path)
        if row["item_id"] == "pt_val_6" and row["response_id"] == str(response_id)
    ]
    assert len(old) == 1 and old[0]["value"] == "2"
