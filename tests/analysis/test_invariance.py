"""Measurement invariance (configural, metric, scalar) against lavaan 0.6-14.

Expected values come from tests/analysis/reference/reference_wlsmv.R: ML on lavaan's
HolzingerSwineford1939 by school, WLSMV on psych::bfi (A and C items) by gender; each
assertion names the R call.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.invariance import InvarianceError, measurement_invariance

from .fresh_interpreter import libraries_imported

HERE = Path(__file__).parent
HS_MODEL = {
    "visual": ["x1", "x2", "x3"],
    "textual": ["x4", "x5", "x6"],
    "speed": ["x7", "x8", "x9"],
}
M2 = {"A": ["A1", "A2", "A3", "A4", "A5"], "C": ["C1", "C2", "C3", "C4", "C5"]}


@pytest.fixture(scope="module")
def hs() -> pd.DataFrame:
    return pd.read_csv(HERE / "data" / "c_hs_school.csv")


@pytest.fixture(scope="module")
def bfi_gender() -> pd.DataFrame:
    return pd.read_csv(HERE / "data" / "c_bfi_gender.csv")


@pytest.fixture(scope="module")
def ml(hs):
    return measurement_invariance(hs, HS_MODEL, "school")


@pytest.fixture(scope="module")
def wlsmv(bfi_gender):
    return measurement_invariance(bfi_gender, M2, "gender", ordinal=True)


# fitMeasures(cfa(hs_model, data = hs, group = "school", group.equal = ...)):
# configural: no group.equal; metric: "loadings"; scalar: c("loadings", "intercepts")
ML_EXPECTED = {
    "configural": (115.8513439, 48, 0.9233983804, 0.8850975706, 0.09691485677, 0.06786401175),
    "metric": (124.0435442, 54, 0.9209234686, 0.8945646248, 0.09283653587, 0.07165158379),
    "scalar": (164.1028309, 60, 0.8824718127, 0.8589661752, 0.1073710981, 0.08244705858),
}


def test_ml_models_match_lavaan(ml):
    assert ml.estimator == "ML"
    assert ml.groups == ("Pasteur", "Grant-White") and ml.group_sizes == (156, 145)
    for step, (chi2, df, cfi, tli, rmsea, srmr) in ML_EXPECTED.items():
        model = ml.models[step]
        assert model["df"] == df, step
        assert model["chi2"] == pytest.approx(chi2, abs=1e-4), step
        assert model["cfi"] == pytest.approx(cfi, abs=1e-6), step
        assert model["tli"] == pytest.approx(tli, abs=1e-6), step
        assert model["rmsea"] == pytest.approx(rmsea, abs=1e-6), step
        assert model["srmr"] == pytest.approx(srmr, abs=1e-5), step
        assert model["baseline_chi2"] == pytest.approx(957.7690508, abs=1e-4)


def test_ml_difference_tests_match_lavtestlrt(ml):
    # lavTestLRT(conf, metric, scalar): Chisq diff, Df diff, Pr(>Chisq)
    metric, scalar = ml.tests
    assert metric["chi2_diff"] == pytest.approx(8.192200304, abs=1e-4)
    assert metric["df_diff"] == 6
    assert metric["p"] == pytest.approx(0.2243577468, abs=1e-5)
    assert scalar["chi2_diff"] == pytest.approx(40.059286745, abs=1e-4)
    assert scalar["p"] == pytest.approx(4.434566180e-07, rel=1e-3)
    assert metric["delta_cfi"] == pytest.approx(0.9209234686 - 0.9233983804, abs=1e-6)
    assert scalar["delta_rmsea"] == pytest.approx(0.1073710981 - 0.09283653587, abs=1e-6)
    # Chen (2007): dCFI <= -.010 and dRMSEA >= .015 -> not invariant; one of them -> doubtful
    assert metric["verdict"] == "invariant"
    assert scalar["verdict"] == "doubtful"  # dCFI -0.038 but dRMSEA +0.0145


# fitMeasures(cfa(m2, data = bfig, ordered = TRUE, group = "gender", group.equal = ...)):
# configural: none; metric: "loadings"; scalar: c("loadings", "thresholds")
WLSMV_EXPECTED = {
    "configural": {
        "chi2": 494.9444312,
        "df": 68,
        "chi2_scaled": 644.0808543,
        "cfi": 0.9730228920,
        "cfi_scaled": 0.9423642603,
        "tli_scaled": 0.9237174033,
        "rmsea_scaled": 0.08026466330,
        "srmr": 0.05329871861,
        "robust": (0.9000179315, 0.8676707916, 0.08715785240),
    },
    "metric": {
        "chi2": 522.1984091,
        "df": 76,
        "chi2_scaled": 600.7872396,
        "cfi": 0.9718063013,
        "cfi_scaled": 0.9474960841,
        "tli_scaled": 0.9378243101,
        "rmsea_scaled": 0.07246394283,
        "srmr": 0.05462022829,
        "robust": (0.8984111689, 0.8796974369, 0.08310288547),
    },
    "scalar": {
        "chi2": 604.8400044,
        "df": 114,
        "chi2_scaled": 706.9529169,
        "cfi": 0.9689855568,
        "cfi_scaled": 0.9406762441,
        "tli_scaled": 0.9531654559,
        "rmsea_scaled": 0.06289191269,
        "srmr": 0.05396346578,
        "robust": (None, None, None),  # lavaan: NA
    },
}


def test_wlsmv_models_match_lavaan(wlsmv):
    assert wlsmv.estimator == "WLSMV"
    assert wlsmv.group_sizes == (867, 1765)  # lavInspect(fit, "nobs")
    for step, expected in WLSMV_EXPECTED.items():
        model = wlsmv.models[step]
        assert model["df"] == expected["df"], step
        for key in ("chi2", "chi2_scaled"):
            assert model[key] == pytest.approx(expected[key], abs=0.01), (step, key)
        for key in ("cfi", "cfi_scaled", "tli_scaled", "rmsea_scaled", "srmr"):
            assert model[key] == pytest.approx(expected[key], abs=1e-5), (step, key)
        robust = tuple(model["robust"][k] for k in ("cfi", "tli", "rmsea"))
        if expected["robust"][0] is None:
            assert robust == (None, None, None)
        else:
            assert robust == pytest.approx(expected["robust"], abs=1e-5), step
    assert any("not available" in note for note in wlsmv.notes)


def test_wlsmv_scaled_difference_tests_match_lavtestlrt(wlsmv):
    # lavTestLRT(wconf, wmetric, wscalar): method "satorra.2000", scaled-shifted
    metric, scalar = wlsmv.tests
    assert metric["chi2_diff"] == pytest.approx(20.40553676, abs=1e-3)
    assert metric["df_diff"] == 8
    assert metric["p"] == pytest.approx(8.905965237e-03, rel=1e-3)
    assert scalar["chi2_diff"] == pytest.approx(116.98275156, abs=1e-3)
    assert scalar["df_diff"] == 38
    assert scalar["p"] == pytest.approx(5.676980353e-10, rel=1e-3)
    assert metric["delta_cfi"] == pytest.approx(0.9474960841 - 0.9423642603, abs=1e-6)


def test_to_dict_keys(wlsmv):
    out = wlsmv.to_dict()
    assert {"configural", "metric", "scalar", "tests", "cutoffs"} <= set(out)
    assert out["cutoffs"]["source"] == "Chen (2007)"
    assert out["tests"][0]["verdict"] in {"invariant", "doubtful", "not invariant"}


def test_small_group_is_named(hs):
    tiny = pd.concat([hs, hs.iloc[:5].assign(school="Tiny")], ignore_index=True)
    with pytest.raises(InvarianceError, match="group 'Tiny' has 5 complete rows"):
        measurement_invariance(tiny, HS_MODEL, "school")


def test_empty_category_in_one_group_is_named(bfi_gender):
    data = bfi_gender.copy()
    # no woman (gender 2) answers 1 on C1
    data.loc[(data["gender"] == 2) & (data["C1"] == 1), "C1"] = 2
    with pytest.raises(InvarianceError, match="item 'C1' has no answer 1 in group '2'"):
        measurement_invariance(data, M2, "gender", ordinal=True)


def test_missing_group_column_and_single_group(hs):
    with pytest.raises(InvarianceError, match="grouping column 'clinic' is not in the data"):
        measurement_invariance(hs, HS_MODEL, "clinic")
    with pytest.raises(InvarianceError, match="at least two"):
        measurement_invariance(hs.assign(school="one"), HS_MODEL, "school")


def test_invariant_simulated_groups_pass():
    rng = np.random.default_rng(4)
    f = rng.standard_normal((2000, 2)) @ np.array([[1, 0.3], [0, 0.95]])
    x = np.repeat(f, 3, axis=1) * 0.8 + rng.standard_normal((2000, 6)) * 0.6
    data = pd.DataFrame(x, columns=["a1", "a2", "a3", "b1", "b2", "b3"])
    data["site"] = np.repeat(["north", "south"], 1000)
    result = measurement_invariance(
        data, {"a": ["a1", "a2", "a3"], "b": ["b1", "b2", "b3"]}, "site"
    )
    assert [t["verdict"] for t in result.tests] == ["invariant", "invariant"]
    assert all(result.models[s]["converged"] for s in ("configural", "metric", "scalar"))


def test_binary_and_three_category_items_match_lavaan(bfi_gender):
    # reference_wlsmv.R, "mixed categories": A1 > 3 (binary), C1 collapsed to 3..5
    mixed = bfi_gender.assign(
        A1=(bfi_gender["A1"] > 3).astype(float).where(bfi_gender["A1"].notna()),
        C1=bfi_gender["C1"].clip(3, 5),
    )
    result = measurement_invariance(mixed, M2, "gender", ordinal=True)
    scalar = result.models["scalar"]
    # fitMeasures(cfa(m2, mixed, ordered = TRUE, group = "gender",
    #                 group.equal = c("loadings", "thresholds"))): lavaan 0.6-14 frees the
    # scale factor of the binary item too (df 107)
    assert scalar["df"] == 107
    assert scalar["chi2"] == pytest.approx(463.70144491781, abs=0.01)
    assert scalar["chi2_scaled"] == pytest.approx(554.34892039208, abs=0.01)
    assert scalar["cfi_scaled"] == pytest.approx(0.95117558956, abs=1e-5)
    assert scalar["rmsea_scaled"] == pytest.approx(0.05638562926, abs=1e-5)
    # lavTestLRT(me, sc)
    assert result.tests[1]["chi2_diff"] == pytest.approx(74.94862808, abs=1e-3)
    assert result.tests[1]["df_diff"] == 31


def test_unidentified_model_is_refused(hs):
    with pytest.raises(ValueError, match="not identified"):
        measurement_invariance(hs, {"visual": ["x1", "x2"]}, "school")


def test_chi2_p_values_are_scipy_stats_without_scipy():
    """analysis.distributions' chi-square tail (tested against SciPy and mpmath there): within
    1e-12 of scipy.stats down to p = 1e-220 (6e-16 for p above 1e-9), the same 1 for a negative
    statistic and NaN without degrees of freedom; the WLSMV and invariance fits import no
    SciPy at all."""
    import itertools

    from scipy import stats

    from analysis._sem import chi2_sf

    statistics = [-3.0, -0.5, 0.0, 1e-9, 0.7, 3.0, 55.5, 1e3, np.nan, np.inf]
    dfs = [-1, 0, 0.5, 1, 2, 7.3, 390, np.nan]
    for chi2, df in itertools.product(statistics, dfs):
        expected = float(stats.chi2.sf(chi2, df))
        assert chi2_sf(chi2, df) == pytest.approx(expected, rel=1e-12, abs=0, nan_ok=True), (
            chi2,
            df,
        )
    code = "import analysis.invariance, analysis.ordinal_cfa"
    assert libraries_imported(code, watched=("scipy",)) == []
