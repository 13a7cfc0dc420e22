"""KMO, Bartlett, parallel analysis and EFA against R psych 2.2.9 and GPArotation 2022.10-2.

Expected values come from tests/analysis/reference/reference_b.R run on the checked-in data
(b_bfi.csv = psychTools::bfi[, 1:25], 2800 rows with NAs; b_holzinger_swineford.csv =
lavaan::HolzingerSwineford1939[, paste0("x", 1:9)]). Matrices the script wrote are read from
tests/analysis/reference/b_*.csv; each test names the R call behind them.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.factors import (
    METHODS,
    ROTATIONS,
    VARIANCE_ROWS,
    Correlations,
    bartlett_sphericity,
    check_raw_responses,
    correlations,
    efa,
    kmo,
    oblimin,
    parallel_analysis,
    tucker_congruence,
)

from .fresh_interpreter import libraries_imported

HERE = Path(__file__).parent
REFERENCE = HERE / "reference"


@pytest.fixture(scope="module")
def bfi() -> pd.DataFrame:
    return pd.read_csv(HERE / "data" / "b_bfi.csv")


@pytest.fixture(scope="module")
def holzinger() -> pd.DataFrame:
    return pd.read_csv(HERE / "data" / "b_holzinger_swineford.csv")


def reference(name: str) -> pd.DataFrame:
    return pd.read_csv(REFERENCE / name, index_col=0)


def test_pairwise_correlations_match_r_cor_pairwise(bfi):
    r = correlations(bfi)
    # cor(bfi, use = "pairwise")[1:2, 3]: computed per pair over the rows answering both.
    pair = bfi[["A1", "A3"]].dropna()
    assert r.n == 2800
    assert r.to_frame().loc["A1", "A3"] == pytest.approx(np.corrcoef(pair.T)[0, 1], abs=1e-12)
    assert np.allclose(r.matrix, bfi.corr().to_numpy(), atol=1e-12)


def test_kmo_matches_psych_with_missing_data(bfi):
    result = kmo(bfi)
    expected = reference("b_kmo_bfi.csv")["MSAi"]  # KMO(bfi)$MSAi
    assert result.overall == pytest.approx(0.8458974926, abs=1e-9)  # KMO(bfi)$MSA
    assert np.abs(result.per_item.to_numpy() - expected.to_numpy()).max() < 1e-9
    assert list(result.per_item.index) == list(bfi.columns)
    assert kmo(bfi.corr()).overall == pytest.approx(result.overall, abs=1e-12)


def test_bartlett_matches_psych(bfi):
    raw = bartlett_sphericity(bfi)
    assert raw.chi2 == pytest.approx(20163.78856, abs=1e-4)  # cortest.bartlett(bfi)$chisq
    assert (raw.df, raw.p, raw.n) == (300, 0.0, 2800)  # $df, $p.value
    from_matrix = bartlett_sphericity(bfi.corr(), n=500)
    # cortest.bartlett(cor(bfi, use = "pairwise"), n = 500)$chisq
    assert from_matrix.chi2 == pytest.approx(3540.317498, abs=1e-5)
    assert from_matrix.to_dict() == {"chi2": from_matrix.chi2, "df": 300, "p": 0.0, "n": 500}


def test_bartlett_p_value_is_the_chi_square_tail():
    r = np.array([[1.0, 0.5, 0.4], [0.5, 1.0, 0.3], [0.4, 0.3, 1.0]])
    result = bartlett_sphericity(r, n=30)
    # cortest.bartlett(r, n = 30): chisq 12.986639259, p.value 0.004665588071
    assert result.chi2 == pytest.approx(12.986639259, abs=1e-8)
    assert result.p == pytest.approx(0.004665588071, abs=1e-11)
    # KMO(r)$MSA
    assert kmo(r).overall == pytest.approx(0.6278611324, abs=1e-10)


def test_parallel_analysis_matches_psych_observed_eigenvalues_and_decision(bfi):
    result = parallel_analysis(bfi, iterations=20, seed=20261125)
    expected = reference("b_parallel_bfi.csv")  # fa.parallel(bfi, fa = "both", n.iter = 20)
    assert np.abs(result.observed_components - expected["pc.values"]).max() < 1e-12
    assert np.abs(result.observed_factors - expected["fa.values"]).max() < 1e-6
    assert (result.n_factors, result.n_components) == (6, 6)  # $nfact, $ncomp
    # Simulated eigenvalues are random; R's means of 20 draws (pc.sim, fa.sim) have a
    # standard error of about 0.003 (components) and 0.03 (first factor).
    assert result.simulated_components_mean[0] == pytest.approx(expected["pc.sim"][1], abs=0.02)
    assert result.simulated_factors_mean[0] == pytest.approx(expected["fa.sim"][1], abs=0.1)
    assert np.all(result.simulated_components_quantile >= result.simulated_components_mean)
    assert result.to_frame().shape == (25, 6)


def test_parallel_analysis_on_holzinger_swineford(holzinger):
    result = parallel_analysis(holzinger, seed=1)
    # fa.parallel(hs, fa = "both", n.iter = 20): nfact = 3, ncomp = 3, fa.values[1:3]
    assert (result.n_factors, result.n_components) == (3, 3)
    assert result.observed_factors[:3] == pytest.approx(
        [2.632218211, 0.9344491265, 0.50421863], abs=1e-6
    )


def test_simulated_correlation_matrices_have_the_normal_data_distribution():
    # 400 replicates of eigen(cor(matrix(rnorm(2800 * 25), 2800, 25)))$values in R:
    # means 1.172683, 1.147356, 1.128515 with sds 0.0139, 0.0099, 0.0089, so the mean of 400
    # draws from each side differs by about 0.001 (one standard error); allow four.
    r = np.eye(25)
    result = parallel_analysis(r, n=2800, iterations=400, seed=7)
    assert result.simulated_components_mean[:3] == pytest.approx(
        [1.172683, 1.147356, 1.128515], abs=0.004
    )
    assert result.n_components == 0


def test_parallel_analysis_is_reproducible_with_a_seed(bfi):
    first = parallel_analysis(bfi, iterations=5, seed=3)
    second = parallel_analysis(bfi, iterations=5, seed=3)
    assert np.array_equal(first.simulated_factors_mean, second.simulated_factors_mean)
    assert first.to_dict()["n_factors"] == first.n_factors


@pytest.mark.parametrize("method", ["minres", "ml", "pa"])
@pytest.mark.parametrize("rotation", ["oblimin", "promax", "varimax", "none"])
def test_efa_matches_psych_fa(bfi, method, rotation):
    # fa(bfi, nfactors = 5, fm = method, rotate = rotation): loadings, h2, u2, Phi, Vaccounted
    expected = reference(f"b_fa_bfi_{method}_{rotation}.csv")
    expected_phi = reference(f"b_fa_bfi_{method}_{rotation}_phi.csv")
    expected_variance = reference(f"b_fa_bfi_{method}_{rotation}_var.csv")
    result = efa(bfi, n_factors=5, method=method, rotation=rotation)
    loadings = expected.iloc[:, :5]
    congruence = tucker_congruence(loadings, result.loadings)
    assert congruence.congruence.min() > 0.99999
    # psych's factor order, signs and names are reproduced, so no matching is needed.
    assert list(result.loadings.columns) == list(loadings.columns)
    assert np.abs(result.loadings.to_numpy() - loadings.to_numpy()).max() < 2e-5
    assert np.abs(result.communalities - expected["h2"]).max() < 1e-5
    assert np.abs(result.uniquenesses - expected["u2"]).max() < 1e-5
    assert np.abs(result.factor_correlations.to_numpy() - expected_phi.to_numpy()).max() < 1e-5
    variance = result.variance.to_numpy()[: len(expected_variance)]
    assert np.abs(variance - expected_variance.to_numpy()).max() < 2e-5
    assert result.converged


def test_efa_on_holzinger_swineford_matches_psych(holzinger):
    result = efa(holzinger, n_factors=3)
    expected = reference("b_fa_hs_minres_oblimin.csv")  # fa(hs, 3)$loadings
    assert list(result.loadings.columns) == ["MR1", "MR3", "MR2"]
    assert np.abs(result.loadings.to_numpy() - expected.to_numpy()).max() < 1e-5
    # fa(hs, 3)$Phi["MR1", "MR3"]
    assert result.factor_correlations.loc["MR1", "MR3"] == pytest.approx(0.3229063318, abs=1e-5)


def test_oblimin_gamma_matches_gparotation():
    unrotated = reference("b_unrotated_bfi_minres.csv").to_numpy()
    # GPArotation::oblimin(unrotated, gam = 0.5)$loadings and $Phi
    expected = reference("b_oblimin_gam05_bfi.csv").to_numpy()
    expected_phi = reference("b_oblimin_gam05_bfi_phi.csv").to_numpy()
    result = oblimin(unrotated, gamma=0.5)
    assert result.converged
    assert np.abs(result.loadings - expected).max() < 1e-10
    assert np.abs(result.factor_correlations - expected_phi).max() < 1e-10


def test_efa_with_gamma_rotates_differently_from_quartimin(bfi):
    quartimin = efa(bfi, n_factors=5)
    biquartimin = efa(bfi, n_factors=5, gamma=0.5)
    assert biquartimin.gamma == 0.5
    gap = np.abs(biquartimin.factor_correlations.to_numpy()).max(
        initial=0, where=~np.eye(5, dtype=bool)
    )
    # GPArotation's biquartimin Phi has |correlations| up to 0.916 on these loadings.
    assert gap == pytest.approx(0.9162072105, abs=1e-6)
    assert (
        np.abs(quartimin.factor_correlations.to_numpy()).max(
            initial=0, where=~np.eye(5, dtype=bool)
        )
        < 0.4
    )


def test_efa_accepts_a_correlation_matrix(bfi):
    from_data = efa(bfi, n_factors=5)
    from_matrix = efa(bfi.corr(), n_factors=5, n=2800)
    assert from_matrix.n == 2800
    assert np.allclose(from_matrix.loadings, from_data.loadings, atol=1e-10)


def test_efa_to_dict_has_the_analyze_json_keys(holzinger):
    fitted = efa(holzinger, n_factors=3, rotation="promax")
    result = fitted.to_dict()
    assert {"n_factors", "method", "rotation", "loadings"} <= set(result)
    assert result["loadings"]["x4"] == pytest.approx(fitted.loadings.loc["x4"].tolist())
    assert result["factors"] == list(fitted.loadings.columns)
    assert (result["method"], result["rotation"], result["n_factors"]) == ("minres", "promax", 3)


def test_one_factor_solution_is_positive(holzinger):
    result = efa(holzinger[["x4", "x5", "x6"]], n_factors=1)
    assert (result.loadings["MR1"] > 0).all()
    assert result.factor_correlations.to_numpy().tolist() == [[1.0]]


def test_tucker_congruence_matches_and_flips_factors():
    a = pd.DataFrame({"F1": [0.8, 0.7, 0.1, 0.0], "F2": [0.1, 0.0, 0.9, 0.6]})
    b = pd.DataFrame({"G1": [-0.1, 0.0, -0.9, -0.6], "G2": [0.8, 0.7, 0.1, 0.05]})
    result = tucker_congruence(a, b)
    assert result.matched == {"F1": "G2", "F2": "G1"}
    # psych::factor.congruence(a, b): F1-G2 0.9989053, F2-G1 -1.0000000
    assert result.congruence["F2"] == pytest.approx(1.0)
    assert result.congruence["F1"] == pytest.approx(0.9989053, abs=1e-7)
    assert result.aligned["F2"].tolist() == [0.1, 0.0, 0.9, 0.6]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"n_factors": 0}, "n_factors must be a positive integer, got 0"),
        ({"n_factors": 6}, "n_factors=6 is too many for 9 items"),
        ({"n_factors": 2, "method": "uls"}, "unknown method 'uls'"),
        ({"n_factors": 2, "rotation": "quartimax"}, "unknown rotation 'quartimax'"),
        ({"n_factors": 2, "rotation": "varimax", "gamma": 0.5}, "gamma=0.5 needs rotation"),
    ],
)
def test_efa_rejects_bad_options(holzinger, options, message):
    with pytest.raises(ValueError, match=message):
        efa(holzinger, **options)


def test_constant_item_is_named(holzinger):
    data = holzinger.assign(x5=3.0)
    with pytest.raises(ValueError, match=r"without variance.*\['x5'\]"):
        efa(data, n_factors=2)
    with pytest.raises(ValueError, match="x5"):
        kmo(data)


def test_fewer_rows_than_items_is_rejected(holzinger):
    with pytest.raises(ValueError, match=r"fewer respondents \(5\) than items \(9\)"):
        efa(holzinger.head(5), n_factors=1)


def test_correlation_matrix_needs_n_for_bartlett_and_parallel(holzinger):
    r = holzinger.corr()
    with pytest.raises(ValueError, match="needs n"):
        bartlett_sphericity(r)
    with pytest.raises(ValueError, match="needs n"):
        parallel_analysis(r)
    with pytest.raises(ValueError, match="iterations must be a positive integer"):
        parallel_analysis(holzinger, iterations=0)


def test_items_without_joint_answers_are_named():
    data = pd.DataFrame(
        {
            "a": [1, 2, 3, 4, np.nan, np.nan],
            "b": [np.nan, np.nan, np.nan, 1, 2, 3],
            "c": [1, 3, 2, 4, 5, 6],
        }
    )
    with pytest.raises(ValueError, match="'a' and 'b' have too few joint answers"):
        correlations(data)


def test_the_workup_functions_on_correlations_do_not_import_pandas():
    code = (
        "import numpy as np\n"
        "from analysis.factors import (METHODS, ROTATIONS, Correlations, bartlett_sphericity,\n"
        "    correlations, efa, kmo, parallel_analysis)\n"
        "rng = np.random.default_rng(4)\n"
        "x = np.repeat(rng.standard_normal((300, 2)), 3, axis=1) + rng.standard_normal((300, 6))\n"
        "matrix = correlations(x).matrix\n"
        "corr = Correlations(matrix, ('a1', 'a2', 'a3', 'b1', 'b2', 'b3'), 300)\n"
        "results = [kmo(corr), bartlett_sphericity(corr, n=300), kmo(matrix),\n"
        "           parallel_analysis(corr, iterations=3, seed=1, n=300)]\n"
        "results += [efa(corr, n_factors=2, method=m, rotation=r, n=300)\n"
        "            for m in METHODS for r in ROTATIONS]\n"
        "results.append(efa(matrix, n_factors=2, n=300))\n"
        "assert correlations(corr, n=300).n == 300\n"
        "[result.to_dict() for result in results]\n"
    )
    assert libraries_imported(code, watched=("pandas", "scipy", "sklearn", "factor_analyzer")) == []


@pytest.fixture(scope="module")
def holzinger_correlations(holzinger) -> tuple[pd.DataFrame, Correlations]:
    frame = holzinger.corr()
    return frame, Correlations(frame.to_numpy(), tuple(frame.columns), len(holzinger))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("rotation", ROTATIONS)
def test_efa_of_correlations_equals_efa_of_the_labelled_frame(
    holzinger_correlations, method, rotation
):
    frame, corr = holzinger_correlations
    from_frame = efa(frame, n_factors=3, method=method, rotation=rotation, n=corr.n)
    from_corr = efa(corr, n_factors=3, method=method, rotation=rotation)
    assert from_corr.to_dict() == from_frame.to_dict()
    pd.testing.assert_frame_equal(from_corr.loadings, from_frame.loadings)


def test_kmo_bartlett_and_parallel_of_correlations_equal_those_of_the_labelled_frame(
    holzinger_correlations,
):
    frame, corr = holzinger_correlations
    assert kmo(corr).to_dict() == kmo(frame).to_dict()
    assert bartlett_sphericity(corr).to_dict() == bartlett_sphericity(frame, n=corr.n).to_dict()
    from_corr = parallel_analysis(corr, iterations=5, seed=9, n=corr.n)
    assert from_corr.to_dict() == parallel_analysis(frame, iterations=5, seed=9, n=corr.n).to_dict()
    np.testing.assert_array_equal(correlations(corr).matrix, correlations(frame).matrix)


def test_n_given_beside_correlations_must_agree_with_theirs(holzinger_correlations):
    _, corr = holzinger_correlations
    assert bartlett_sphericity(corr, n=301).n == bartlett_sphericity(corr).n == 301
    assert efa(corr, n_factors=1).n == 301
    with pytest.raises(ValueError, match="n=300 disagrees with the n=301 of the correlations"):
        bartlett_sphericity(corr, n=300)
    without_n = Correlations(corr.matrix, corr.items, None)
    assert bartlett_sphericity(without_n, n=200).n == 200
    with pytest.raises(ValueError, match="needs n"):
        parallel_analysis(without_n)


@pytest.mark.parametrize(
    ("matrix", "items", "message"),
    [
        (np.eye(3), ("a", "b"), "the correlation matrix of 2 items has the shape"),
        (2 * np.eye(3), ("a", "b", "c"), "must be a correlation matrix"),
        (np.eye(2), ("a", "b"), "need at least 3 item columns"),
    ],
)
def test_correlations_that_are_not_a_correlation_matrix_are_refused(matrix, items, message):
    with pytest.raises(ValueError, match=message):
        parallel_analysis(Correlations(matrix, items, 100))


def test_dataframe_views_equal_the_arrays_and_labels(holzinger):
    result = efa(holzinger, n_factors=3, rotation="promax")
    items, factors = list(holzinger.columns), list(result.factors)
    assert result.items == tuple(items) and len(factors) == 3
    assert result.loadings is result.loadings  # built once
    for frame, values, index, columns in [
        (result.loadings, result.loading_matrix, items, factors),
        (result.factor_correlations, result.factor_correlation_matrix, factors, factors),
        (result.variance, result.variance_accounted, list(VARIANCE_ROWS), factors),
    ]:
        np.testing.assert_array_equal(frame.to_numpy(), values)
        assert (list(frame.index), list(frame.columns)) == (index, columns)
    for series, values, name in [
        (result.communalities, result.h2, "communality"),
        (result.uniquenesses, 1 - result.h2, "uniqueness"),
    ]:
        np.testing.assert_array_equal(series.to_numpy(), values)
        assert (list(series.index), series.name) == (items, name)
    adequacy = kmo(holzinger)
    np.testing.assert_array_equal(adequacy.per_item.to_numpy(), adequacy.item_kmo)
    assert (list(adequacy.per_item.index), adequacy.per_item.name) == (items, "kmo")


def test_congruence_views_equal_the_arrays_and_labels():
    a = pd.DataFrame({"F1": [0.8, 0.7, 0.1, 0.0], "F2": [0.1, 0.0, 0.9, 0.6]}, index=list("wxyz"))
    b = pd.DataFrame(
        {"G1": [-0.1, 0.0, -0.9, -0.6], "G2": [0.8, 0.7, 0.1, 0.05]}, index=list("wxyz")
    )
    result = tucker_congruence(a, b)
    assert (result.factors, result.items) == (("F1", "F2"), tuple("wxyz"))
    np.testing.assert_array_equal(result.congruence.to_numpy(), result.coefficients)
    np.testing.assert_array_equal(result.aligned.to_numpy(), result.aligned_loadings)
    assert list(result.aligned.index) == list("wxyz")
    assert list(result.aligned.columns) == list(result.congruence.index) == ["F1", "F2"]
    from_arrays = tucker_congruence(a.to_numpy(), b.to_numpy())
    np.testing.assert_array_equal(from_arrays.coefficients, result.coefficients)
    assert from_arrays.matched == {"0": "1", "1": "0"}


def test_varimax_and_promax_reproduce_factor_analyzer():
    rotator_class = pytest.importorskip("factor_analyzer").Rotator
    unrotated = reference("b_unrotated_bfi_minres.csv").to_numpy()
    from analysis.factors import _promax, _varimax

    varimax = rotator_class(method="varimax", max_iter=1000, tol=1e-5)
    np.testing.assert_array_equal(_varimax(unrotated), varimax.fit_transform(unrotated))
    promax = rotator_class(method="promax", max_iter=1000, tol=1e-5)
    loadings, phi = _promax(unrotated)
    # factor_analyzer inverts one matrix with scipy.linalg.inv (LAPACK getri), we with
    # numpy.linalg.inv (gesv): the same numbers up to rounding.
    np.testing.assert_allclose(loadings, promax.fit_transform(unrotated), rtol=0, atol=1e-13)
    np.testing.assert_allclose(phi, promax.phi_, rtol=0, atol=1e-13)


def test_check_raw_responses_names_the_items_of_an_array():
    values = np.array([[1, 2, np.nan], [2, 2, np.nan], [3, 2, np.nan]])
    with pytest.raises(ValueError, match=r"constant or empty\): \['b', 'c'\]"):
        check_raw_responses(values, ["a", "b", "c"])
    with pytest.raises(ValueError, match=r"fewer respondents \(2\) than items \(3\)"):
        check_raw_responses(values[:2], ["a", "b", "c"])
    check_raw_responses(values[:, :1], ["a"])


@pytest.mark.parametrize(
    "array",
    [
        np.array([[1.0, np.inf], [2.0, 1.0], [3.0, 2.0]]),
        np.array([["1", "2"], ["2", "1"], ["3", "3"]]),
        np.array([[1.0, 2.0, 3.0]]),
    ],
)
def test_an_array_is_refused_with_the_message_of_its_frame(array):
    with pytest.raises(ValueError) as from_frame:
        kmo(pd.DataFrame(array, columns=["item_1", "item_2", "item_3"][: array.shape[1]]))
    with pytest.raises(ValueError, match=re.escape(str(from_frame.value))):
        kmo(array)
