"""KMO, Bartlett, parallel analysis and EFA against R psych 2.2.9 and GPArotation 2022.10-2.

Expected values come from tests/analysis/reference/reference_b.R run on the checked-in data
(b_bfi.csv = psychTools::bfi[, 1:25], 2800 rows with NAs; b_holzinger_swineford.csv =
lavaan::HolzingerSwineford1939[, paste0("x", 1:9)]). Matrices the script wrote are read from
tests/analysis/reference/b_*.csv; each test names the R call behind them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.factors import (
    bartlett_sphericity,
    correlations,
    efa,
    kmo,
    oblimin,
    parallel_analysis,
    tucker_congruence,
)

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
