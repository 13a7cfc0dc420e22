"""``healing-survey analyze --ordinal --cfa --group``: the WLSMV CFA and the invariance table
reach the terminal, the JSON and the HTML; bad groups are named, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

DATA = Path(__file__).parent.parent / "analysis" / "data"
BFI_GENDER = DATA / "c_bfi_gender.csv"
SPEC = "range: [1, 6]\nscales:\n  agree: [-A1, A2, A3, A4, A5]\n  consc: [C1, C2, C3, -C4, -C5]\n"


def run(runner, *args):
    return runner.invoke(args=["analyze", *map(str, args)])


@pytest.fixture(scope="module")
def ordinal_run(tmp_path_factory):
    from flask import Flask

    from survey.commands import analyze

    folder = tmp_path_factory.mktemp("invariance")
    spec = folder / "spec.yaml"
    spec.write_text(SPEC)
    out, html = folder / "r.json", folder / "r.html"
    runner = Flask("invariance-test").test_cli_runner()
    args = [BFI_GENDER, "--scales", spec, "--ordinal", "--cfa", "--group", "gender"]
    args += ["--factors", "2", "--json", out, "--html", html]
    result = runner.invoke(analyze, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text()), result.stdout, html.read_text()


def test_json_has_the_wlsmv_and_invariance_keys(ordinal_run):
    report, _, _ = ordinal_run
    cfa = report["cfa"]
    assert cfa["estimator"] == "WLSMV"
    assert {"chi2", "df", "chi2_scaled", "df_scaled", "robust", "thresholds", "srmr"} <= set(cfa)
    assert set(cfa["robust"]) == {"cfi", "tli", "rmsea"}
    # lavaan: cfa(m2, data = bfi, ordered = TRUE) (reference_wlsmv.R); reverse keying only
    # flips signs of loadings, so the fit is lavaan's on the items as answered
    assert cfa["chi2_scaled"] == pytest.approx(593.4956782, abs=0.01)
    assert cfa["robust"]["cfi"] == pytest.approx(0.9052069067, abs=1e-5)
    assert cfa["std_loadings"]["agree=~A2"] == pytest.approx(0.722235421780, abs=1e-5)
    invariance = report["invariance"]
    assert invariance["group"] == "gender" and invariance["groups"] == ["1", "2"]
    assert {"configural", "metric", "scalar", "tests", "cutoffs"} <= set(invariance)
    # lavTestLRT(wconf, wmetric, wscalar) (reference_wlsmv.R)
    assert invariance["tests"][1]["chi2_diff"] == pytest.approx(116.98275156, abs=1e-2)
    assert invariance["scalar"]["robust"] == {"cfi": None, "tli": None, "rmsea": None}
    assert report["options"]["group"] == "gender"


def test_terminal_and_html_show_the_invariance_table(ordinal_run):
    _, stdout, html = ordinal_run
    assert "CFA (WLSMV, n = 2632)" in stdout
    assert "scaled-shifted chi2(34) = 593.50" in stdout
    assert "Measurement invariance across gender (WLSMV)" in stdout
    assert "Chen (2007)" in stdout and "Chen (2007)" in html
    assert "<h2>Measurement invariance</h2>" in html
    assert "scalar vs metric" in html


def test_group_problems_are_named(runner, tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    result = run(runner, BFI_GENDER, "--scales", spec, "--cfa", "--group", "clinic")
    assert result.exit_code == 1
    assert "no column 'clinic' to group by" in result.output
    frame = pd.read_csv(BFI_GENDER)
    frame.loc[(frame["gender"] == 2) & (frame["C1"] == 1), "C1"] = 2
    path = tmp_path / "empty.csv"
    frame.to_csv(path, index=False)
    result = run(runner, path, "--scales", spec, "--ordinal", "--group", "gender")
    assert result.exit_code == 1
    assert "item 'C1' has no answer 1 in group '2'" in result.output
    assert "Traceback" not in result.output


def test_from_db_groups_by_a_response_property(app, runner, tmp_path):
    from survey.analyze import DatabaseSelection, form_responses_by_group

    assert runner.invoke(args=["demo", "--dyads", "150", "--seed", "11"]).exit_code == 0
    with app.app_context():
        frame, _ = form_responses_by_group(DatabaseSelection(form="patient"), "wave", chunk_size=37)
    assert frame["wave"].notna().all() and len(frame) > 0
    result = run(runner, "--from-db", "--form", "patient", "--group", "clinic")
    assert result.exit_code == 1  # the demo has one clinic
    assert "grouping column 'clinic' has 1 group(s) with complete answers" in result.output
    result = run(runner, "--from-db", "--form", "patient", "--group", "wave")
    # the demo's third waves are few: the group is named, not a traceback
    assert result.exit_code == 1
    assert "group '3' has 11 complete rows for 38 items: too few" in result.output
    out = tmp_path / "ordinal.json"
    result = run(runner, "--from-db", "--form", "patient", "--ordinal", "--cfa", "--json", out)
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["cfa"]["estimator"] == "WLSMV" and report["cfa"]["df"] > 0
    assert "not positive definite" in " ".join(report["notes"])  # robust indices: lavaan NA
    bad = run(runner, "--from-db", "--form", "patient", "--group", "shoe_size")
    assert bad.exit_code == 1
    assert "--from-db can group by language, clinic, wave; got 'shoe_size'" in bad.output
