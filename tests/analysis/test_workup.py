"""The assembled workup: options, the same numbers as the statistics modules, and moments."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.moments import PairwiseMoments
from analysis.workup import WorkupOptions, run_workup, run_workup_from_moments
from items import load_scale_spec

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def bfi():
    return pd.read_csv(DATA / "a_bfi.csv")


@pytest.fixture(scope="module")
def spec():
    return load_scale_spec(DATA / "bfi_scales.yaml")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (dict(factors=0), "factors must be 'auto' or a positive integer"),
        (dict(method="uls"), "method 'uls' is not one of minres, ml, pa"),
        (dict(rotation="quartimax"), "rotation 'quartimax' is not one of"),
        (dict(iterations=0), "iterations must be a positive integer"),
        (dict(ci_method="exact"), "ci_method 'exact'"),
    ],
)
def test_options_are_checked(options, message):
    with pytest.raises(ValueError, match=message):
        WorkupOptions(**options)


def test_fixed_number_of_factors_skips_the_parallel_analysis(bfi, spec):
    result = run_workup(bfi, spec, WorkupOptions(factors=5, rotation="varimax")).to_dict()
    assert result["efa"]["parallel"] is None
    assert result["efa"]["n_factors"] == 5 and result["efa"]["rotation"] == "varimax"
    assert result["cfa"] is None
    # psych::KMO(bfi[1:25])$MSA (reference_b.R)
    assert result["efa"]["kmo"] == pytest.approx(0.8458974926, abs=1e-8)


def test_ordinal_workup_factors_the_polychoric_matrix(bfi, spec):
    from analysis.factors import efa
    from analysis.polychoric import polychoric

    items = list(bfi.columns)
    result = run_workup(bfi, spec, WorkupOptions(factors=5, ordinal=True)).to_dict()
    assert result["efa"]["correlation"] == "polychoric"
    direct = efa(polychoric(bfi[items]).correlation, n_factors=5, n=len(bfi))
    np.testing.assert_allclose(
        np.array([result["efa"]["loadings"][i] for i in items]),
        direct.loadings.loc[items].to_numpy(),
        atol=1e-10,
    )


def test_moments_workup_refuses_what_needs_the_rows(bfi, spec):
    moments = PairwiseMoments(items=tuple(bfi.columns), values=range(1, 7))
    moments.update(bfi.to_numpy(dtype=float))
    with pytest.raises(ValueError, match="polychoric"):
        run_workup_from_moments(moments, spec, WorkupOptions(ordinal=True))
    with pytest.raises(ValueError, match="bootstrap"):
        run_workup_from_moments(moments, spec, WorkupOptions(ci_method="bootstrap"))
    few = PairwiseMoments(items=("A1", "A2"), values=range(1, 7))
    with pytest.raises(ValueError, match="not in the data"):
        run_workup_from_moments(few, spec)


def test_moments_workup_equals_the_rows_workup(bfi, spec):
    groups = {name: tuple(i.id for i in members) for name, members in spec.scales.items()}
    moments = PairwiseMoments(items=tuple(bfi.columns), values=range(1, 7), groups=groups)
    for start in range(0, len(bfi), 900):
        moments.update(bfi.iloc[start : start + 900].to_numpy(dtype=float))
    options = WorkupOptions(seed=4)
    rows = run_workup(bfi, spec, options).to_dict()
    chunked = run_workup_from_moments(moments, spec, options).to_dict()
    assert chunked["n"] == rows["n"] == 2800
    assert chunked["efa"]["parallel"]["n_factors"] == rows["efa"]["parallel"]["n_factors"]
    for name in rows["scales"]:
        for key in ("alpha", "std_alpha", "omega_total"):
            assert chunked["scales"][name][key] == pytest.approx(rows["scales"][name][key])
    assert chunked["omega"]["omega_hierarchical"] == pytest.approx(
        rows["omega"]["omega_hierarchical"], abs=1e-8
    )
    assert chunked["items"]["A1"]["mean"] == pytest.approx(rows["items"]["A1"]["mean"])


def test_cfa_models_the_keyed_scales(bfi, spec):
    result = run_workup(bfi, spec, WorkupOptions(factors=5, cfa=True)).to_dict()["cfa"]
    # Reversal is affine, so the fit is lavaan's on the raw items (reference_b.R: chi2 4165.467)
    assert result["chi2"] == pytest.approx(4165.467, abs=1e-2)
    # and every keyed bfi item loads positively on its scale.
    assert min(result["std_loadings"].values()) > 0.2


def _assert_nested_close(actual, expected, *, path="", atol=1e-10):
    if isinstance(expected, dict):
        assert set(actual) == set(expected), path
        for key in expected:
            _assert_nested_close(actual[key], expected[key], path=f"{path}.{key}", atol=atol)
    elif isinstance(expected, list | tuple):
        assert len(actual) == len(expected), path
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            _assert_nested_close(a, e, path=f"{path}[{i}]", atol=atol)
    elif isinstance(expected, float):
        assert actual == pytest.approx(expected, abs=atol, nan_ok=True), path
    else:
        assert actual == expected, path


def test_workup_equals_each_statistic_on_the_rows(bfi, spec):
    """The workup's one pass of pairwise moments gives what each module gives on the rows."""
    from analysis.factors import bartlett_sphericity, efa, kmo, parallel_analysis
    from analysis.itemstats import item_statistics
    from analysis.reliability import omega, scale_reliability

    result = run_workup(bfi, spec, WorkupOptions(seed=2)).to_dict()
    rows = bfi.astype(float)
    items = item_statistics(rows, response_range=(1, 6)).to_dict()["items"]
    _assert_nested_close(result["items"], items, path="items")
    _assert_nested_close(result["scales"], scale_reliability(bfi, spec).to_dict(), path="scales")
    parallel = parallel_analysis(rows, iterations=20, seed=2).to_dict()
    for key in ("observed_components", "observed_factors"):
        np.testing.assert_allclose(result["efa"]["parallel"][key], parallel[key], atol=1e-10)
    for key in ("simulated_components", "simulated_factors"):
        np.testing.assert_allclose(
            result["efa"]["parallel"][key], parallel[f"{key}_quantile"], atol=1e-10
        )
    assert result["efa"]["parallel"]["n_factors"] == parallel["n_factors"]
    assert result["efa"]["kmo"] == pytest.approx(kmo(rows).overall, abs=1e-12)
    chi2 = bartlett_sphericity(rows).chi2
    assert result["efa"]["bartlett"]["chi2"] == pytest.approx(chi2, rel=1e-12)
    direct = efa(rows, n_factors=parallel["n_factors"])
    np.testing.assert_allclose(
        np.array([result["efa"]["loadings"][item] for item in bfi.columns]),
        direct.loadings.loc[list(bfi.columns)].to_numpy(),
        atol=1e-10,
    )
    assert result["omega"]["omega_hierarchical"] == pytest.approx(
        omega(rows, n_factors=5).omega_hierarchical, abs=1e-10
    )


def test_workup_on_answers_outside_the_counted_values(bfi, spec):
    """Half points are not counted by the moments: item statistics then come from the rows."""
    from analysis.itemstats import item_statistics

    halves = bfi.astype(float)
    halves.loc[::7, "A3"] += 0.5
    result = run_workup(halves, spec, WorkupOptions(factors=5)).to_dict()
    expected = item_statistics(halves, response_range=(1, 6)).to_dict()["items"]
    _assert_nested_close(result["items"], expected, path="items")
    assert "3.5" in result["items"]["A3"]["distribution"]


def test_bootstrap_intervals_are_seeded_and_differ_from_feldt(bfi, spec):
    options = dict(factors=5, ci_method="bootstrap", n_boot=50, seed=9)
    first = run_workup(bfi, spec, WorkupOptions(**options)).to_dict()["scales"]["agree"]
    again = run_workup(bfi, spec, WorkupOptions(**options)).to_dict()["scales"]["agree"]
    feldt = run_workup(bfi, spec, WorkupOptions(factors=5)).to_dict()["scales"]["agree"]
    assert first["alpha_ci"] == again["alpha_ci"]
    assert first["alpha_ci"] != feldt["alpha_ci"]
    assert first["alpha_ci"][0] < first["alpha"] < first["alpha_ci"][1]
    assert first["alpha"] == pytest.approx(feldt["alpha"], abs=1e-10)


def test_keyed_responses_never_write_to_the_callers_frame():
    """item_frame hands float frames on without copying (pandas 3 copies on write): reversing
    items, or writing to the result, must still leave the caller's answers as they were."""
    from analysis._input import item_frame
    from analysis._spec import keyed_responses, read_scales
    from items import ScaleSpec

    answers = pd.DataFrame(np.arange(12.0).reshape(4, 3) % 5 + 1, columns=["a", "b", "c"])
    before = answers.copy()
    spec = ScaleSpec.from_mapping({"range": [1, 5], "scales": {"s": ["a", "-b", "c"]}})
    keyed = keyed_responses(answers, read_scales(spec))
    assert keyed["b"].tolist() == (6 - before["b"]).tolist()
    passed_on = item_frame(answers)
    passed_on.iloc[0, 0] = 99.0
    passed_on["c"] = 0.0
    pd.testing.assert_frame_equal(answers, before)


@pytest.mark.parametrize(
    "options",
    [dict(factors=5), dict(factors=5, ordinal=True), dict(factors=5, cfa=True)],
    ids=["pearson", "polychoric", "with the CFA"],
)
def test_an_array_with_its_item_names_gives_the_workup_of_the_frame(bfi, spec, options):
    """healing-survey analyze passes the answers it read as an array with their names."""
    items = list(spec.item_ids)
    answers = bfi[items].to_numpy()
    from_array = run_workup(answers, spec, WorkupOptions(**options), items=items).to_dict()
    assert from_array == run_workup(bfi, spec, WorkupOptions(**options)).to_dict()


@pytest.mark.parametrize(
    ("answers", "names", "message"),
    [
        (np.ones((10, 3)), None, "an array of answers needs items="),
        (np.ones((10, 3)), ["a", "b"], "2 item names for an array of 3 columns"),
        (np.ones(10), ["a"], "data must be 2-D"),
        (np.full((10, 2), "4"), ["a", "b"], "item columns must be numeric"),
        (np.ones((10, 2)), ["a", "b"], r"scale items not in the data: \['c'\]"),
        (np.array([[1.0, np.inf, 2.0]] * 10), ["a", "b", "c"], r"infinite values in items \['b'\]"),
    ],
)
def test_an_array_of_answers_is_checked(answers, names, message):
    with pytest.raises(ValueError, match=message):
        run_workup(answers, {"s": ["a", "b", "c"]}, items=names)
