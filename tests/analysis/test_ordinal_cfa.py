"""WLSMV confirmatory factor analysis of ordinal items against lavaan 0.6-14.

Expected values come from tests/analysis/reference/reference_wlsmv.R (Debian bookworm's
lavaan 0.6-14 on the checked-in psych::bfi items); each assertion names the R call.
Tolerances (the issue's): test statistics 0.5, fit indices 0.002, loadings and thresholds 0.005;
the numbers agree far closer than that, and the tighter checks below say so.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.ordinal_cfa import OrdinalDataError, wlsmv_cfa
from analysis.ordinal_stats import ordinal_statistics

HERE = Path(__file__).parent
M2 = {"A": ["A1", "A2", "A3", "A4", "A5"], "C": ["C1", "C2", "C3", "C4", "C5"]}
M5 = {f: [f"{f}{i}" for i in range(1, 6)] for f in "ACENO"}


@pytest.fixture(scope="module")
def bfi() -> pd.DataFrame:
    return pd.read_csv(HERE / "data" / "b_bfi.csv")


@pytest.fixture(scope="module")
def fit2(bfi):
    return wlsmv_cfa(bfi, M2)


@pytest.fixture(scope="module")
def fit5(bfi):
    return wlsmv_cfa(bfi, M5)


# fitMeasures(cfa(m2, data = bfi, ordered = TRUE)), m2 = A =~ A1..A5; C =~ C1..C5
M2_MEASURES = {
    "chi2": 449.2777910,
    "chi2_scaled": 593.4956782,
    "scaling_factor": 0.7642758153,
    "baseline_chi2": 16514.44655,
    "baseline_chi2_scaled": 10494.58484,
    "cfi": 0.9747849577,
    "tli": 0.9666271499,
    "rmsea": 0.06813487606,
    "cfi_scaled": 0.9464576165,
    "tli_scaled": 0.9291350807,
    "rmsea_scaled": 0.07908579516,
    "srmr": 0.05061662486,
}
M2_ROBUST = {"cfi": 0.9052069067, "tli": 0.8745385530, "rmsea": 0.08665558402}


def test_two_factor_fit_measures_match_lavaan(fit2):
    assert fit2.estimator == "WLSMV"
    assert fit2.n == 2632  # lavInspect(fit, "nobs"): listwise
    assert fit2.df == 34 and fit2.df_scaled == 34 and fit2.baseline_df == 45
    for key, expected in M2_MEASURES.items():
        tolerance = 0.5 if "chi2" in key else 0.002
        assert getattr(fit2, key) == pytest.approx(expected, abs=tolerance), key
        assert getattr(fit2, key) == pytest.approx(expected, rel=1e-5), key  # in fact
    for key, expected in M2_ROBUST.items():
        assert fit2.robust[key] == pytest.approx(expected, abs=1e-6), key
    assert fit2.converged
    # fitMeasures(fit, c("rmsea.ci.lower", "rmsea.ci.upper"))
    assert fit2.rmsea_ci == pytest.approx((0.06260181501, 0.07381780763), abs=1e-6)
    assert any("2632 of 2800 rows" in note for note in fit2.notes)


def test_two_factor_solution_matches_lavaan(fit2):
    # standardizedSolution(cfa(m2, data = bfi, ordered = TRUE)), est.std
    expected = {
        "A=~A1": 0.408168355396,
        "A=~A2": -0.722235421780,
        "A=~A3": -0.786803902513,
        "A=~A4": -0.569989806268,
        "A=~A5": -0.675675054436,
        "C=~C1": 0.594801547615,
        "C=~C2": 0.663599219618,
        "C=~C3": 0.592876381793,
        "C=~C4": -0.722002035177,
        "C=~C5": -0.643645180409,
    }
    for key, value in expected.items():
        assert fit2.std_loadings[key] == pytest.approx(value, abs=1e-5), key
    assert fit2.factor_correlations.loc["A", "C"] == pytest.approx(-0.370665082966, abs=1e-5)
    # parameterEstimates: A1|t1..t5, C5|t1..t5
    assert fit2.thresholds["A1"] == pytest.approx(
        [-0.439451597598, 0.321646694819, 0.734299935115, 1.229605192081, 1.880570299193],
        abs=1e-9,
    )
    assert fit2.thresholds["C5"] == pytest.approx(
        [-0.929589653222, -0.306638506103, 0.007619004638, 0.599810974039, 1.262728049203],
        abs=1e-9,
    )


def test_five_factor_model_matches_lavaan(fit5):
    # fitMeasures(cfa(m5, data = bfi, ordered = TRUE)): the 25 bfi items, 5 factors
    assert fit5.n == 2436 and fit5.df == 265
    assert fit5.chi2 == pytest.approx(6055.940485, abs=0.01)
    assert fit5.chi2_scaled == pytest.approx(6049.274970, abs=0.01)
    assert fit5.cfi_scaled == pytest.approx(0.8244567093, abs=1e-6)
    assert fit5.tli_scaled == pytest.approx(0.8012717464, abs=1e-6)
    assert fit5.rmsea_scaled == pytest.approx(0.09467864749, abs=1e-6)
    assert fit5.robust["cfi"] == pytest.approx(0.7514503592, abs=1e-6)
    assert fit5.robust["tli"] == pytest.approx(0.7186230481, abs=1e-6)
    assert fit5.robust["rmsea"] == pytest.approx(0.09428299741, abs=1e-6)
    assert fit5.srmr == pytest.approx(0.08274182559, abs=1e-6)
    # standardizedSolution(...), est.std of a few loadings
    assert fit5.std_loadings["A=~A1"] == pytest.approx(0.3580644923, abs=5e-5)
    assert fit5.std_loadings["N=~N5"] == pytest.approx(0.5585484483, abs=5e-5)
    assert fit5.std_loadings["O=~O4"] == pytest.approx(0.1676015131, abs=5e-5)
    assert fit5.std_loadings["E=~E2"] == pytest.approx(0.7331409756, abs=5e-5)


def test_to_dict_has_documented_keys(fit2):
    out = fit2.to_dict()
    for key in ("estimator", "chi2", "df", "chi2_scaled", "df_scaled", "robust", "thresholds"):
        assert key in out
    assert set(out["robust"]) == {"cfi", "tli", "rmsea"}
    assert out["thresholds"]["A1"][0] == pytest.approx(-0.4394515976)


def test_reverse_keying_only_flips_signs(bfi):
    reversed_a2 = bfi.assign(A2=7 - bfi["A2"])
    plain = wlsmv_cfa(bfi, M2)
    flipped = wlsmv_cfa(reversed_a2, M2)
    assert flipped.chi2 == pytest.approx(plain.chi2, rel=1e-8)
    assert flipped.std_loadings["A=~A2"] == pytest.approx(-plain.std_loadings["A=~A2"], rel=1e-6)


def test_polychoric_and_thresholds_recover_a_known_latent_correlation():
    rng = np.random.default_rng(11)
    latent = rng.multivariate_normal([0, 0], [[1, 0.5], [0.5, 1]], size=20_000)
    codes = np.digitize(latent, [-1.0, 0.0, 0.8])
    stats = ordinal_statistics(codes, np.array([4, 4]))
    assert stats.correlation[0, 1] == pytest.approx(0.5, abs=0.02)
    assert stats.thresholds[0] == pytest.approx([-1.0, 0.0, 0.8], abs=0.03)
    # the asymptotic variance of rho: N var(rho) must be positive and of the textbook size
    assert 0.3 < stats.gamma[-1, -1] < 1.0


def test_bad_input_is_named(bfi):
    with pytest.raises(ValueError, match="not in the data"):
        wlsmv_cfa(bfi, {"A": ["A1", "nope"]})
    constant = bfi.assign(A1=3)
    with pytest.raises(OrdinalDataError, match="'A1' has a single answer"):
        wlsmv_cfa(constant, M2)
    fractional = bfi.assign(A1=bfi["A1"] + 0.5)
    with pytest.raises(OrdinalDataError, match="integer answers"):
        wlsmv_cfa(fractional, M2)


def test_binary_and_three_category_items_match_lavaan():
    # reference_wlsmv.R, "mixed categories": cfa(m2, data = mixed, ordered = TRUE)
    data = pd.read_csv(HERE / "data" / "c_bfi_gender.csv")
    mixed = data.assign(
        A1=(data["A1"] > 3).astype(float).where(data["A1"].notna()), C1=data["C1"].clip(3, 5)
    )
    fit = wlsmv_cfa(mixed, M2)
    assert len(fit.thresholds["A1"]) == 1 and len(fit.thresholds["C1"]) == 2
    assert fit.chi2 == pytest.approx(346.29249259181, abs=0.01)
    assert fit.chi2_scaled == pytest.approx(450.77633303158, abs=0.01)
    assert fit.cfi_scaled == pytest.approx(0.95633223932, abs=1e-6)
    assert fit.robust["cfi"] == pytest.approx(0.90257941668, abs=1e-6)
    assert fit.robust["tli"] == pytest.approx(0.87106099266, abs=1e-6)
    assert fit.robust["rmsea"] == pytest.approx(0.08696770673, abs=1e-6)
    assert fit.srmr == pytest.approx(0.05143624165, abs=1e-6)


def test_unidentified_model_is_refused(bfi):
    with pytest.raises(ValueError, match="negative degrees of freedom"):
        wlsmv_cfa(bfi, {"A": ["A1", "A2"]})


def test_saturated_model_gives_json_safe_values(bfi):
    import json

    fit = wlsmv_cfa(bfi, {"A": ["A2", "A3", "A4"]})  # df 0
    assert fit.df == 0
    out = fit.to_dict()
    json.dumps(out, allow_nan=False)
    assert out["chi2_scaled"] is not None and out["p"] is None
