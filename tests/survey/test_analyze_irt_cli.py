"""``healing-survey analyze --irt`` and ``--scores``: JSON keys, the scores file, bad paths."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

DATA = Path(__file__).parent.parent / "analysis" / "data"
BFI = DATA / "b_bfi.csv"
SPEC = DATA / "bfi_scales.yaml"
# grm(bfi[, paste0("N", 1:5)]) in tests/analysis/reference/reference_irt.R
NEURO_LOGLIK = -21721.9055826
NEURO_N1 = {"a": 3.12470818943, "b": [-0.81000391157, -0.09306182972, 0.34211093824]}


def run(runner, *args):
    return runner.invoke(args=["analyze", *map(str, args)])


@pytest.fixture(scope="module")
def irt_run(tmp_path_factory):
    from flask import Flask

    from survey.commands import analyze

    folder = tmp_path_factory.mktemp("irt")
    out, scores = folder / "bfi.json", folder / "scores.csv"
    runner = Flask("analyze-irt-test").test_cli_runner()
    result = runner.invoke(
        analyze,
        [
            str(BFI),
            "--scales",
            str(SPEC),
            "--factors",
            "5",
            "--scores",
            str(scores),
            "--json",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text()), pd.read_csv(scores), result.stdout


def test_scores_imply_irt_and_the_json_has_the_documented_keys(irt_run):
    report, _, _ = irt_run
    assert report["options"]["irt"] is True
    assert set(report["irt"]) == {
        "agree",
        "conscientious",
        "extraversion",
        "neuroticism",
        "openness",
    }
    neuro = report["irt"]["neuroticism"]
    assert neuro["loglik"] == pytest.approx(NEURO_LOGLIK, abs=0.1)
    assert 0 < neuro["marginal_reliability"] < 1
    n1 = neuro["items"]["N1"]
    assert set(n1) >= {"a", "b", "a_se", "b_se"}
    assert n1["a"] == pytest.approx(NEURO_N1["a"], abs=0.02)
    assert n1["b"][:3] == pytest.approx(NEURO_N1["b"], abs=0.03)


def test_scores_file_has_one_row_per_respondent_and_scale(irt_run):
    report, scores, stdout = irt_run
    assert list(scores.columns) == ["row", "scale", "theta_eap", "theta_sd"]
    assert len(scores) == 5 * 2800
    assert scores.groupby("scale")["row"].agg(["min", "max"]).eq([1, 2800]).all().all()
    assert scores["theta_sd"].between(0, 1).all()
    assert "EAP scores written to" in stdout
    assert "IRT: logistic graded response model" in stdout
    # The reliability in the JSON is 1 - the mean posterior variance of these scores.
    neuro = scores[scores["scale"] == "neuroticism"]
    expected = 1 - np.mean(neuro["theta_sd"] ** 2)
    reliability = report["irt"]["neuroticism"]["marginal_reliability"]
    assert reliability == pytest.approx(expected, abs=1e-5)


def test_a_bad_scores_path_stops_before_any_work(runner, tmp_path):
    result = run(runner, BFI, "--scales", SPEC, "--scores", tmp_path / "no" / "scores.csv")
    assert result.exit_code != 0
    assert "--scores" in result.output and "does not exist" in result.output
    assert "Psychometric workup" not in result.output
    result = run(runner, BFI, "--scales", SPEC, "--scores", tmp_path)
    assert result.exit_code != 0


def test_irt_from_the_database_is_a_clear_error(runner):
    for option in (["--irt"], ["--scores", "s.csv"]):
        result = run(runner, "--from-db", "--form", "patient", *option)
        assert result.exit_code != 0
        assert "--irt and --scores need DATA.csv" in result.output


def test_an_item_with_one_answer_is_named(runner, tmp_path):
    frame = pd.read_csv(BFI)
    frame["N3"] = 3
    path = tmp_path / "flat.csv"
    frame.to_csv(path, index=False)
    spec = tmp_path / "spec.yaml"
    spec.write_text("range: [1, 6]\nscales:\n  neuro: [N1, N2, N3, N4, N5]\n")
    result = run(runner, path, "--scales", spec, "--factors", "1", "--irt")
    assert result.exit_code != 0
    assert "N3" in result.output
    assert "Traceback" not in result.output
