"""``healing-survey analyze`` on a CSV and on the database: JSON keys, R's numbers, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from analysis.workup import WorkupOptions, run_workup, run_workup_from_moments
from items import load_bank, load_scale_spec
from survey.analyze import form_moments
from survey.dataset import ResponseFilter, iter_responses

DATA = Path(__file__).parent.parent / "analysis" / "data"
BFI = DATA / "a_bfi.csv"
SPEC = DATA / "bfi_scales.yaml"


def run(runner, *args):
    return runner.invoke(args=["analyze", *map(str, args)])


@pytest.fixture(scope="module")
def bfi_json(tmp_path_factory):
    from flask import Flask

    from survey.commands import analyze

    out = tmp_path_factory.mktemp("analyze") / "bfi.json"
    html = out.with_suffix(".html")
    runner = Flask("analyze-test").test_cli_runner()
    result = runner.invoke(
        analyze,
        [
            str(BFI),
            "--scales",
            str(SPEC),
            "--cfa",
            "--seed",
            "7",
            "--json",
            str(out),
            "--html",
            str(html),
        ],
    )
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text()), result.stdout, html.read_text()


def test_analyze_json_has_the_documented_keys(bfi_json):
    report, _, _ = bfi_json
    assert report["n"] == 2800
    agree = report["scales"]["agree"]
    assert set(agree) >= {"n_items", "alpha", "alpha_ci", "std_alpha", "omega_total", "items"}
    assert set(agree["items"]["A1"]) >= {"mean", "sd", "r_drop", "alpha_if_deleted"}
    efa = report["efa"]
    assert set(efa) >= {
        "kmo",
        "bartlett",
        "parallel",
        "n_factors",
        "method",
        "rotation",
        "loadings",
    }
    assert set(efa["bartlett"]) == {"chi2", "df", "p"}
    assert set(efa["parallel"]) >= {"n_factors", "n_components"}
    assert len(efa["loadings"]["A1"]) == efa["n_factors"]
    cfa = report["cfa"]
    assert set(cfa) >= {
        "chi2",
        "df",
        "p",
        "cfi",
        "tli",
        "rmsea",
        "rmsea_ci",
        "srmr",
        "std_loadings",
    }
    assert "agree=~A1" in cfa["std_loadings"]


def test_analyze_reproduces_r(bfi_json):
    report, _, _ = bfi_json
    # psych::alpha(keyed bfi A1..A5, check.keys=FALSE)$total$raw_alpha (reference_a.R)
    assert report["scales"]["agree"]["alpha"] == pytest.approx(0.7030184461, abs=1e-6)
    # psych::KMO(bfi[1:25])$MSA (reference_b.R)
    assert report["efa"]["kmo"] == pytest.approx(0.8458974926, abs=1e-6)
    # psych::cortest.bartlett(bfi[1:25])$chisq (reference_b.R)
    assert report["efa"]["bartlett"]["chi2"] == pytest.approx(20163.78856, abs=1e-3)
    # psych::fa.parallel(bfi[1:25])$nfact == 6 (reference_b.R)
    assert report["efa"]["parallel"]["n_factors"] == 6
    # lavaan::cfa(five factors, bfi keyed as is, listwise): chi2 4165.467, CFI .78237 (n 2436)
    assert report["cfa"]["chi2"] == pytest.approx(4165.467, abs=1e-2)
    assert report["cfa"]["cfi"] == pytest.approx(0.78237, abs=1e-4)


def test_analyze_prints_a_summary_and_writes_html(bfi_json):
    _, stdout, html = bfi_json
    assert "agree" in stdout and "KMO" in stdout
    assert html.startswith("<!") and "<svg" in html


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda f: f.assign(A2=f["A2"].astype(object).where(f.index != 4, "four")),
            "column 'A2' has a value that is not a number: 'four' on line 6",
        ),
        (
            lambda f: f.assign(C3=f["C3"].where(f.index != 9, 7)),
            "column 'C3' has the value 7 on line 11, outside the response range 1..6",
        ),
        (lambda f: f.drop(columns=["O5"]), "not columns of the file: O5"),
        (lambda f: f.head(20), "20 respondents with answers for 25 items"),
        (
            lambda f: f.assign(N4=3),
            "same answer in every row (or no answers), which carries no information: N4",
        ),
    ],
)
def test_analyze_names_the_bad_column(runner, tmp_path, edit, message):
    frame = edit(pd.read_csv(BFI))
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    result = run(runner, path, "--scales", SPEC)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_analyze_usage_errors(runner, tmp_path):
    assert "either DATA.csv" in run(runner).output
    assert "needs --scales" in run(runner, BFI).output
    assert "no such file" in run(runner, tmp_path / "none.csv", "--scales", SPEC).output
    bad_spec = tmp_path / "spec.yaml"
    bad_spec.write_text("range: [1, 6]\nscales: {agree: [A1, A1]}\n")
    assert "A1" in run(runner, BFI, "--scales", bad_spec).output
    assert "'many'" in run(runner, BFI, "--scales", SPEC, "--factors", "many").output


def test_analyze_from_db_matches_the_workup_on_the_same_rows(app, runner, tmp_path):
    assert runner.invoke(args=["demo", "--dyads", "120", "--seed", "11"]).exit_code == 0
    out = tmp_path / "db.json"
    result = run(runner, "--from-db", "--form", "patient", "--cfa", "--seed", "3", "--json", out)
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    with app.app_context():
        moments, spec = form_moments("patient", chunk_size=37)
        rows = list(iter_responses(ResponseFilter(form="patient")))
    item_ids = list(moments.items)
    frame = pd.DataFrame(
        [[r.value(i) for i in item_ids] for r in rows], columns=item_ids, dtype=float
    )
    assert report["n"] == len(frame) == moments.n_rows
    options = WorkupOptions(seed=3)
    direct = run_workup(frame, spec, options).to_dict()
    chunked = run_workup_from_moments(moments, spec, options).to_dict()
    for name, scale in direct["scales"].items():
        assert chunked["scales"][name]["alpha"] == pytest.approx(scale["alpha"], abs=1e-10)
        assert report["scales"][name]["omega_total"] == pytest.approx(
            scale["omega_total"], abs=1e-10
        )
    assert chunked["efa"]["kmo"] == pytest.approx(direct["efa"]["kmo"], abs=1e-10)
    np.testing.assert_allclose(
        np.array(list(chunked["efa"]["loadings"].values())),
        np.array(list(direct["efa"]["loadings"].values())),
        atol=1e-6,
    )
    assert report["cfa"]["df"] > 0 and 0 < report["cfa"]["cfi"] <= 1


def test_analyze_from_db_without_responses_is_a_clear_error(runner):
    result = run(runner, "--from-db", "--form", "clinician-self")
    assert result.exit_code == 1
    assert "no submitted responses to the 'clinician-self' form yet" in result.output


def test_analyze_reads_our_own_export_with_its_missing_codes(app, runner, tmp_path):
    from survey.exports.service import ExportRequest, export_to_path

    assert runner.invoke(args=["demo", "--dyads", "60", "--seed", "5"]).exit_code == 0
    csv_path = tmp_path / "patient.csv"
    with app.app_context():
        export_to_path(
            ExportRequest(format="csv", form="patient"),
            csv_path,
            actor="test",
            secret_key=app.config["SECRET_KEY"],
        )
        spec = load_bank().form("patient").scale_spec()
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(spec.to_dict()))
    refused = run(runner, csv_path, "--scales", spec_path, "--factors", "2")
    assert refused.exit_code == 1 and "outside the response range" in refused.output
    out = tmp_path / "report.json"
    result = run(
        runner,
        csv_path,
        "--scales",
        spec_path,
        "--factors",
        "2",
        "--missing-code",
        "-7",
        "--missing-code",
        "-9",
        "--json",
        out,
    )
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    with app.app_context():
        moments, _ = form_moments("patient")
    assert report["n"] == moments.n_rows
    assert report["items"]["pt_abi_4"]["n"] == int(
        moments.n_items[list(moments.items).index("pt_abi_4")]
    )


@pytest.fixture()
def demo_db(app, runner):
    assert runner.invoke(args=["demo", "--dyads", "80", "--seed", "11"]).exit_code == 0
    with app.app_context():
        rows = list(iter_responses(ResponseFilter(form="patient")))
    return rows


def _report(runner, tmp_path, *args):
    out = tmp_path / "sel.json"
    out.unlink(missing_ok=True)
    result = run(runner, "--from-db", "--factors", "2", "--json", out, *args)
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text()), result.output


def test_from_db_selects_by_wave_clinic_date_language_and_first_wave(demo_db, runner, tmp_path):
    from survey.demo import DEMO_CLINIC

    rows = demo_db
    wave_two = [r for r in rows if r.wave == 2]
    report, _ = _report(runner, tmp_path, "--wave", "2")
    assert report["n"] == len(wave_two) > 0
    assert report["sample"]["dyads"] == len({r.dyad_id for r in wave_two})
    first = {}
    for r in sorted(rows, key=lambda r: (r.wave, r.response_id)):
        first.setdefault(r.dyad_id, r)
    report, output = _report(runner, tmp_path, "--first-wave")
    assert report["n"] == len(first) == report["sample"]["dyads"]
    assert report["sample"]["responses_per_dyad"] == {"min": 1, "mean": 1.0, "max": 1}
    assert "first wave of each dyad" in output
    report, _ = _report(runner, tmp_path, "--clinic", DEMO_CLINIC, "--language", "en")
    assert report["n"] == len(rows)
    cut = sorted(r.submitted_at.date() for r in rows)[len(rows) // 2]
    report, _ = _report(runner, tmp_path, "--date-to", cut.isoformat())
    assert report["n"] == sum(r.submitted_at.date() <= cut for r in rows)
    report, _ = _report(runner, tmp_path, "--date-from", cut.isoformat())
    assert report["n"] == sum(r.submitted_at.date() >= cut for r in rows)


def test_from_db_reports_responses_per_dyad_and_clinician(demo_db, runner, tmp_path):
    rows = demo_db
    report, output = _report(runner, tmp_path)
    sample = report["sample"]
    per_dyad = pd.Series([r.dyad_id for r in rows]).value_counts()
    per_clinician = pd.Series([r.clinician_id for r in rows]).value_counts()
    assert sample["responses"] == len(rows) and sample["dyads"] == len(per_dyad)
    assert sample["responses_per_dyad"]["max"] == per_dyad.max()
    assert sample["responses_per_clinician"]["min"] == per_clinician.min()
    assert sample["clinicians"] == len(per_clinician)
    assert set(sample["icc1_within_clinicians"]) == set(report["scales"])
    assert f"{len(rows)} responses from {len(per_dyad)} dyads" in output
    assert "repeated measures" in output and "ICC(1) within clinicians" in output


def test_clustering_by_clinician_is_warned_about_at_the_stated_threshold():
    from survey.analyze import ICC_WARNING, SampleStructure

    def notes(icc):
        structure = SampleStructure(
            responses=100,
            dyads=100,
            clinicians=10,
            per_dyad=(1, 1.0, 1),
            per_clinician=(10, 10.0, 10),
            icc1={"trust": icc, "hope": 0.01},
            design_effect={"trust": 1 + 9 * icc, "hope": 1.09},
        )
        return " ".join(structure.notes())

    assert ICC_WARNING == 0.05
    warned = notes(0.12)
    assert "not independent" in warned and "trust 0.120 (design effect 2.08)" in warned
    assert "hope" not in warned
    assert "negligible" in notes(0.03) and "not independent" not in notes(0.03)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--clinic", "Nowhere"], "no clinic named 'Nowhere'; clinics: 'Demo Family Practice'"),
        (["--language", "fr"], "language 'fr'; languages with responses: en"),
        (["--date-from", "2099-01-01"], "no submitted responses match the selection"),
        (["--wave", "1", "--first-wave"], "--wave and --first-wave both choose the wave"),
        (["--date-from", "2026-02-01", "--date-to", "2026-01-01"], "is after --date-to"),
        (["--date-to", "yesterday"], "'yesterday' does not match the format"),
    ],
)
def test_from_db_selection_errors_name_the_problem(demo_db, runner, args, message):
    result = run(runner, "--from-db", *args)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_selection_options_are_refused_for_a_csv(runner):
    result = run(runner, BFI, "--scales", SPEC, "--wave", "2", "--first-wave")
    assert result.exit_code != 0
    assert "--wave, --first-wave select responses of --from-db, not of a CSV" in result.output


def test_from_db_ordinal_equals_the_ordinal_workup_of_the_rows(demo_db, app, runner, tmp_path):
    from survey.analyze import DatabaseSelection, read_form_data

    report, _ = _report(runner, tmp_path, "--ordinal")
    with app.app_context():
        data = read_form_data(DatabaseSelection(form="patient"), ordinal=True, chunk_size=13)
        rows = list(iter_responses(ResponseFilter(form="patient")))
    item_ids = list(data.moments.items)
    frame = pd.DataFrame(
        [[r.value(i) for i in item_ids] for r in rows], columns=item_ids, dtype=float
    )
    options = WorkupOptions(factors=2, ordinal=True)
    direct = run_workup(frame, data.spec, options).to_dict()
    chunked = run_workup_from_moments(data.moments, data.spec, options, tables=data.tables)
    chunked = chunked.to_dict()
    assert report["efa"]["correlation"] == chunked["efa"]["correlation"] == "polychoric"
    assert chunked["efa"]["kmo"] == direct["efa"]["kmo"]
    assert chunked["efa"]["loadings"] == direct["efa"]["loadings"]
    assert report["efa"]["loadings"] == direct["efa"]["loadings"]


def test_exported_csv_and_scale_spec_analyse_end_to_end(app, runner, tmp_path):
    assert runner.invoke(args=["demo", "--dyads", "60", "--seed", "5"]).exit_code == 0
    csv_path, spec_path = tmp_path / "patient.csv", tmp_path / "patient-scales.yaml"
    for fmt, path in (("csv", csv_path), ("scale-spec", spec_path)):
        done = runner.invoke(args=["export", "--format", fmt, "--form", "patient", "--out", path])
        assert done.exit_code == 0, done.output
    with app.app_context():
        spec = load_bank().form("patient").scale_spec()
    assert yaml.safe_load(spec_path.read_text()) == spec.to_dict()
    out = tmp_path / "report.json"
    codes = ["--missing-code", "-7", "--missing-code", "-9"]
    result = run(runner, csv_path, "--scales", spec_path, *codes, "--json", out)
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert list(report["scales"]) == list(spec.scales)
    assert sum(scale["n_items"] for scale in report["scales"].values()) == 38


def _export_csv(app, runner, tmp_path, dyads):
    assert runner.invoke(args=["demo", "--dyads", str(dyads), "--seed", "5"]).exit_code == 0
    csv_path, spec_path = tmp_path / "patient.csv", tmp_path / "patient-scales.yaml"
    for fmt, path in (("csv", csv_path), ("scale-spec", spec_path)):
        assert runner.invoke(args=["export", "--format", fmt, "--out", path]).exit_code == 0
    return csv_path, spec_path


def test_fifty_rows_of_our_export_say_why_kmo_is_missing(app, runner, tmp_path):
    csv_path, spec_path = _export_csv(app, runner, tmp_path, 60)
    small = tmp_path / "fifty.csv"
    pd.read_csv(csv_path).head(50).to_csv(small, index=False)
    codes = ["--missing-code", "-7", "--missing-code", "-9"]
    # pytest turns warnings into errors: a RuntimeWarning would fail the command here.
    result = run(runner, small, "--scales", spec_path, *codes, "--factors", "2")
    assert result.exit_code == 0, result.output
    assert "correlation matrix is singular or not positive definite" in result.output
    assert "only 50 respondents for 38 items" in result.output
    assert "Notes\n- none" not in result.output


@pytest.mark.parametrize("option", ["--html", "--json"])
def test_an_output_path_that_cannot_be_written_stops_before_the_work(runner, option):
    result = run(runner, BFI, "--scales", SPEC, option, "/nonexistent/r.html")
    assert result.exit_code == 1
    assert result.output == (
        f"Error: {option} /nonexistent/r.html: the folder /nonexistent does not exist\n"
    )


def test_a_csv_with_only_a_header_row_is_refused(runner, tmp_path):
    path = tmp_path / "header.csv"
    path.write_text(",".join(pd.read_csv(BFI, nrows=0).columns) + "\n")
    result = run(runner, path, "--scales", SPEC)
    assert result.exit_code == 1
    assert "has a header row but no respondents" in result.output
    assert "argmax" not in result.output


@pytest.mark.parametrize("quoted", [False, True])
def test_a_ragged_row_is_refused_with_its_line_number(runner, tmp_path, quoted):
    lines = BFI.read_text().splitlines()
    lines[7] = '"1",2,3' if quoted else "1,2,3"
    path = tmp_path / "ragged.csv"
    path.write_text("\n".join(lines) + "\n")
    result = run(runner, path, "--scales", SPEC)
    assert result.exit_code == 1
    fields = len(lines[0].split(","))
    assert f"line 8 has 3 fields where the header has {fields}" in result.output


def test_the_csv_cfa_says_it_dropped_incomplete_rows(runner, tmp_path):
    out = tmp_path / "cfa.json"
    result = run(runner, BFI, "--scales", SPEC, "--cfa", "--factors", "5", "--json", out)
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    complete = int(pd.read_csv(BFI)[list(report["items"])].notna().all(axis=1).sum())
    assert report["cfa"]["n"] == complete < 2800
    note = f"the CFA used the {complete} of 2800 respondents who answered every item"
    assert any(n.startswith(note) for n in report["notes"]) and note in result.output


def _console(*args: str) -> subprocess.CompletedProcess:
    """The console script's entry point in a fresh interpreter; prints the heavy modules it
    imported (on stderr, at exit, after Click's own exit)."""
    code = (
        "import atexit, os, sys\n"
        "heavy = ('flask', 'werkzeug', 'sqlalchemy', 'flask_sqlalchemy', 'alembic',\n"
        "         'sklearn', 'factor_analyzer', 'scipy', 'pandas')\n"
        "atexit.register(lambda: print('HEAVY', [m for m in heavy if m in sys.modules],\n"
        "                              'BLAS', os.environ.get('OPENBLAS_NUM_THREADS'),\n"
        "                              file=sys.stderr))\n"
        f"sys.argv = ['healing-survey', *{list(args)!r}]\n"
        "from survey.console import run\n"
        "run()\n"
    )
    environment = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=environment
    )


def test_console_script_analyzes_a_csv_without_the_web_stack(tmp_path):
    out = tmp_path / "out.json"
    done = _console(
        "analyze", str(BFI), "--scales", str(SPEC), "--factors", "5", "--json", f"{out}"
    )
    assert done.returncode == 0, done.stderr
    # Neither the web stack nor SciPy (0.4 s of imports; analysis.distributions and
    # analysis._bounded stand in on this path), and OpenBLAS started with one thread.
    assert "HEAVY [] BLAS 1" in done.stderr
    assert json.loads(out.read_text())["efa"]["n_factors"] == 5
    refused = _console("analyze", str(tmp_path / "none.csv"), "--scales", str(SPEC))
    assert refused.returncode == 1 and "no such file" in refused.stderr
    assert "Traceback" not in refused.stderr


@pytest.mark.parametrize("ordinal", [False, True], ids=["pearson", "polychoric"])
def test_a_file_of_one_digit_answers_is_analysed_without_pandas(tmp_path, ordinal):
    """The workup of such a file (bfi's items) is the workup of its rows, computed without
    importing pandas (0.15-0.2 s of a 100,000-row run); a CFA (ML or WLSMV), which takes the
    rows as a table, imports pandas but not SciPy."""
    out = tmp_path / "out.json"
    options = ["--factors", "5", *(["--ordinal"] if ordinal else [])]
    done = _console("analyze", str(BFI), "--scales", str(SPEC), *options, "--json", f"{out}")
    assert done.returncode == 0, done.stderr
    assert "HEAVY [] BLAS 1" in done.stderr
    rows = pd.read_csv(BFI)
    spec = load_scale_spec(SPEC)
    expected = run_workup(rows, spec, WorkupOptions(factors=5, ordinal=ordinal)).to_dict()
    assert json.loads(out.read_text()) == json.loads(json.dumps(expected))
    with_cfa = _console("analyze", str(BFI), "--scales", str(SPEC), *options, "--cfa")
    assert with_cfa.returncode == 0, with_cfa.stderr
    assert "HEAVY ['pandas'] BLAS 1" in with_cfa.stderr


def test_console_script_sends_every_other_command_to_the_flask_group():
    listed = _console("--help")
    assert listed.returncode == 0, listed.stderr
    for command in ("analyze", "clinic", "db", "demo", "run"):
        assert f"  {command} " in listed.stdout
    from_db = _console("analyze", "--from-db", "--help")
    assert from_db.returncode == 0 and "--from-db" in from_db.stdout
    assert "'flask'" in from_db.stderr  # the group, which builds the app for --from-db


def test_a_digit_outside_the_range_of_a_one_digit_file_is_refused_with_its_line(runner, tmp_path):
    spec = load_scale_spec(SPEC)
    items = pd.read_csv(BFI)[list(spec.item_ids)]
    path = tmp_path / "likert.csv"
    items.to_csv(path, index=False, na_rep="", float_format="%.0f")
    lines = path.read_text().splitlines()
    lines[5] = "9" + lines[5][1:]
    path.write_text("\n".join(lines) + "\n")
    refused = run(runner, path, "--scales", SPEC, "--ordinal")
    assert refused.exit_code == 1
    assert "has the value 9 on line 6, outside the response range" in refused.output
