"""ML confirmatory factor analysis against lavaan 0.6-14.

Expected values come from tests/analysis/reference/reference_b.R (lavaan's
HolzingerSwineford1939 three-factor model and a five-factor model of psychTools::bfi); each
assertion names the R call that printed the number.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.cfa import cfa

HERE = Path(__file__).parent
HS_MODEL = {
    "visual": ["x1", "x2", "x3"],
    "textual": ["x4", "x5", "x6"],
    "speed": ["x7", "x8", "x9"],
}
BFI_MODEL = {
    "agreeable": ["-A1", "A2", "A3", "A4", "A5"],
    "conscientious": ["C1", "C2", "C3", "-C4", "-C5"],
    "extraverted": ["-E1", "-E2", "E3", "E4", "E5"],
    "neurotic": ["N1", "N2", "N3", "N4", "N5"],
    "open": ["O1", "-O2", "O3", "O4", "-O5"],
}


@dataclass(frozen=True)
class ScaleItem:
    id: str
    reverse_keyed: bool = False


@dataclass(frozen=True)
class ScaleSpec:
    """The shape of items.ScaleSpec that cfa() relies on."""

    range: tuple[int, int]
    scales: dict[str, tuple[ScaleItem, ...]]


@pytest.fixture(scope="module")
def holzinger() -> pd.DataFrame:
    return pd.read_csv(HERE / "data" / "b_holzinger_swineford.csv")


@pytest.fixture(scope="module")
def hs_fit(holzinger):
    return cfa(holzinger, HS_MODEL)


def test_fit_measures_match_lavaan(hs_fit):
    # fitMeasures(cfa(HS.model, data = hs))
    assert hs_fit.chi2 == pytest.approx(85.30552177, abs=1e-5)  # chisq
    assert hs_fit.df == 24  # df
    assert hs_fit.p == pytest.approx(8.502553217e-09, rel=1e-5)  # pvalue
    assert hs_fit.cfi == pytest.approx(0.9305596518, abs=1e-7)  # cfi
    assert hs_fit.tli == pytest.approx(0.8958394777, abs=1e-7)  # tli
    assert hs_fit.rmsea == pytest.approx(0.09212148451, abs=1e-7)  # rmsea
    assert hs_fit.rmsea_ci == pytest.approx((0.07141849044, 0.1136780168), abs=1e-7)
    assert hs_fit.srmr == pytest.approx(0.06520505718, abs=1e-7)  # srmr
    assert hs_fit.aic == pytest.approx(7517.489853, abs=1e-4)  # aic
    assert hs_fit.bic == pytest.approx(7595.339169, abs=1e-4)  # bic
    assert hs_fit.loglik == pytest.approx(-3737.744927, abs=1e-4)  # logl
    assert hs_fit.baseline_chi2 == pytest.approx(918.8515893, abs=1e-5)  # baseline.chisq
    assert hs_fit.baseline_df == 36  # baseline.df
    assert (hs_fit.n, hs_fit.n_parameters, hs_fit.converged) == (301, 21, True)  # ntotal, npar


def test_loadings_and_variances_match_lavaan(hs_fit):
    # parameterEstimates(fit)$est for the =~ rows (markers fixed at 1)
    expected = {
        "visual=~x1": 1.0,
        "visual=~x2": 0.5535002938,
        "visual=~x3": 0.7293702098,
        "textual=~x4": 1.0,
        "textual=~x5": 1.1130765781,
        "textual=~x6": 0.9261462366,
        "speed=~x7": 1.0,
        "speed=~x8": 1.1799508395,
        "speed=~x9": 1.0815301569,
    }
    assert hs_fit.loadings == pytest.approx(expected, abs=1e-5)
    # parameterEstimates(fit)$est for the x ~~ x rows
    assert hs_fit.residual_variances.tolist() == pytest.approx(
        [0.5490539732, 1.1338390165, 0.8443240457, 0.3711729928, 0.4462550703, 0.3562026643,
         0.7993916383, 0.4876970838, 0.5661312936],
        abs=1e-5,
    )  # fmt: skip
    # parameterEstimates(fit)$est for visual ~~ visual, textual ~~ textual, visual ~~ textual
    covariances = hs_fit.factor_covariances
    assert covariances.loc["visual", "visual"] == pytest.approx(0.8093159811, abs=1e-5)
    assert covariances.loc["textual", "textual"] == pytest.approx(0.9794913729, abs=1e-5)
    assert covariances.loc["visual", "textual"] == pytest.approx(0.4082324421, abs=1e-5)


def test_standardized_solution_matches_lavaan(hs_fit):
    # standardizedSolution(fit)$est.std
    expected = [0.7718804204, 0.4236009920, 0.5811323239, 0.8515822224, 0.8550654464,
                0.8380100739, 0.5695146840, 0.7230444328, 0.6650092188]  # fmt: skip
    assert list(hs_fit.std_loadings.values()) == pytest.approx(expected, abs=1e-5)
    correlations = hs_fit.factor_correlations
    assert correlations.loc["visual", "textual"] == pytest.approx(0.4585093004, abs=1e-6)
    assert correlations.loc["visual", "speed"] == pytest.approx(0.4705345445, abs=1e-6)
    assert correlations.loc["textual", "speed"] == pytest.approx(0.2829847304, abs=1e-6)
    assert hs_fit.std_residual_variances["x1"] == pytest.approx(0.4042006167, abs=1e-5)


def test_modification_indices_match_lavaan(hs_fit):
    # head(modindices(fit, sort. = TRUE), 10)[, c("lhs", "op", "rhs", "mi", "epc")]
    expected = pd.read_csv(HERE / "reference" / "b_cfa_hs_modindices.csv", index_col=0).head(10)
    result = hs_fit.modification_indices
    assert (
        result[["lhs", "op", "rhs"]].values.tolist()
        == expected[["lhs", "op", "rhs"]].values.tolist()
    )
    assert np.abs(result["mi"].to_numpy() - expected["mi"].to_numpy()).max() < 1e-3
    assert np.abs(result["epc"].to_numpy() - expected["epc"].to_numpy()).max() < 1e-4
    assert result.loc[0, "mi"] == pytest.approx(36.41103065, abs=1e-3)  # visual =~ x9


def test_std_lv_matches_lavaan(holzinger):
    result = cfa(holzinger, HS_MODEL, std_lv=True)
    # parameterEstimates(cfa(HS.model, data = hs, std.lv = TRUE))$est[1:3]
    assert result.loadings["visual=~x1"] == pytest.approx(0.8996203139, abs=1e-5)
    assert result.loadings["visual=~x2"] == pytest.approx(0.4979405111, abs=1e-5)
    assert result.loadings["speed=~x9"] == pytest.approx(0.6699801088, abs=1e-5)
    assert result.chi2 == pytest.approx(85.30552177, abs=1e-5)  # same fit, other scaling
    assert np.allclose(result.factor_covariances.to_numpy().diagonal(), 1.0)


def test_five_factor_bfi_with_reverse_keyed_items_and_listwise_deletion():
    bfi = pd.read_csv(HERE / "data" / "b_bfi.csv")
    spec = ScaleSpec(
        range=(1, 6),
        scales={
            name: tuple(ScaleItem(i.lstrip("-"), i.startswith("-")) for i in ids)
            for name, ids in BFI_MODEL.items()
        },
    )
    result = cfa(bfi, spec)
    # fitMeasures(cfa(bfi.model, data = bfi), c(...))
    assert result.n == 2436  # ntotal: rows complete on all 25 items
    assert result.n_parameters == 60  # npar
    assert result.chi2 == pytest.approx(4165.467436, abs=1e-3)  # chisq
    assert result.df == 265  # df
    assert result.cfi == pytest.approx(0.7823656819, abs=1e-6)  # cfi
    assert result.tli == pytest.approx(0.7536215267, abs=1e-6)  # tli
    assert result.rmsea == pytest.approx(0.07773144646, abs=1e-6)  # rmsea
    assert result.rmsea_ci == pytest.approx((0.07565909634, 0.0798222699), abs=1e-6)
    assert result.srmr == pytest.approx(0.07534117098, abs=1e-6)  # srmr
    assert result.aic == pytest.approx(199800.4764, abs=1e-3)  # aic
    assert result.bic == pytest.approx(200148.3632, abs=1e-3)  # bic
    assert result.baseline_chi2 == pytest.approx(18222.11573, abs=1e-3)  # baseline.chisq
    # standardizedSolution(fit)$est.std: reverse-keyed items load negatively, no reversing
    assert result.std_loadings["agreeable=~A2"] == pytest.approx(-0.6480617502, abs=1e-5)
    assert result.std_loadings["conscientious=~C4"] == pytest.approx(-0.7022878831, abs=1e-5)
    assert result.std_loadings["open=~O4"] == pytest.approx(0.2325561139, abs=1e-5)
    # lavInspect(fit, "cor.lv")["agreeable", "extraverted"]
    assert result.factor_correlations.loc["agreeable", "extraverted"] == pytest.approx(
        0.6825374703, abs=1e-5
    )


def test_the_item_bank_scale_spec_is_accepted(holzinger, hs_fit):
    from items import ScaleSpec as BankScaleSpec

    spec = BankScaleSpec.from_mapping(
        {"range": [1, 9], "scales": {**HS_MODEL, "visual": ["x1", "x2", "-x3"]}}
    )
    result = cfa(holzinger, spec)
    # Reverse keying is ignored by the fit: same numbers as fitMeasures(fit)["chisq"].
    assert result.chi2 == pytest.approx(hs_fit.chi2, abs=1e-10)
    assert result.std_loadings == pytest.approx(hs_fit.std_loadings, abs=1e-10)


def test_an_item_may_load_on_two_factors(holzinger):
    model = {**HS_MODEL, "visual": ["x1", "x2", "x3", "x9"]}
    result = cfa(holzinger, model)
    # fitMeasures(cfa(paste(HS.model, "\nvisual =~ x9"), data = hs), c(...))
    assert (result.n_parameters, result.df) == (22, 23)  # npar, df
    assert result.chi2 == pytest.approx(52.38211527, abs=1e-4)  # chisq
    assert result.cfi == pytest.approx(0.9667190776, abs=1e-6)  # cfi
    assert result.rmsea == pytest.approx(0.06514699129, abs=1e-6)  # rmsea
    assert result.srmr == pytest.approx(0.04512864829, abs=1e-6)  # srmr
    # standardizedSolution(fit)$est.std for speed =~ x9 and visual =~ x9
    assert result.std_loadings["speed=~x9"] == pytest.approx(0.4465133680, abs=1e-5)
    assert result.std_loadings["visual=~x9"] == pytest.approx(0.3838180054, abs=1e-5)


def test_covariance_matrix_input_gives_the_raw_data_fit(holzinger, hs_fit):
    # lavaan's sample.cov rescaling: cov() has denominator N - 1 and is multiplied by (N - 1)/N.
    result = cfa(holzinger.cov(), HS_MODEL, n=301)
    assert result.chi2 == pytest.approx(hs_fit.chi2, abs=1e-8)
    assert result.std_loadings == pytest.approx(hs_fit.std_loadings, abs=1e-8)


def test_to_dict_has_the_analyze_json_keys(hs_fit):
    result = json.loads(json.dumps(hs_fit.to_dict()))
    assert {"chi2", "df", "p", "cfi", "tli", "rmsea", "rmsea_ci", "srmr", "std_loadings"} <= set(
        result
    )
    assert result["std_loadings"]["speed=~x8"] == pytest.approx(0.7230444328, abs=1e-5)
    assert len(result["rmsea_ci"]) == 2
    assert result["modification_indices"][0]["rhs"] == "x9"


def test_saturated_model_fits_exactly(holzinger):
    result = cfa(holzinger, {"visual": ["x1", "x2", "x3"]})
    assert result.df == 0
    assert result.chi2 == pytest.approx(0.0, abs=1e-8)
    assert (result.cfi, result.rmsea, result.rmsea_ci) == (1.0, 0.0, (0.0, 0.0))


@pytest.mark.parametrize(
    ("spec", "options", "message"),
    [
        ({"visual": ["x1", "x2", "y3"]}, {}, r"not in the data: \['y3'\]"),
        ({"visual": ["x1"]}, {}, "needs two or more distinct items"),
        ({"visual": "x1 x2 x3"}, {}, "must be a list"),
        ({}, {}, "spec must be a ScaleSpec"),
        (HS_MODEL, {"estimator": "wlsmv"}, "unknown estimator 'wlsmv'"),
        ({"a": ["x1", "x2"]}, {}, "not identified"),
    ],
)
def test_bad_specifications_are_rejected(holzinger, spec, options, message):
    with pytest.raises(ValueError, match=message):
        cfa(holzinger, spec, **options)


def test_bad_data_is_rejected(holzinger):
    with pytest.raises(ValueError, match="needs n"):
        cfa(holzinger.cov(), HS_MODEL)
    with pytest.raises(ValueError, match="must be a DataFrame"):
        cfa(holzinger.to_numpy(), HS_MODEL)
    with pytest.raises(ValueError, match=r"without variance: \['x2'\]"):
        cfa(holzinger.assign(x2=1.0), HS_MODEL)
    with pytest.raises(ValueError, match=r"not numeric: \['x3'\]"):
        cfa(holzinger.assign(x3="often"), HS_MODEL)


@pytest.mark.parametrize(("chi2", "df"), [(5.0, 1), (50.0, 10), (378.2, 390), (5000.0, 1000)])
def test_rmsea_interval_roots_equal_brentq(chi2, df):
    """The noncentralities of the RMSEA interval, found without scipy.optimize, are brentq's."""
    from scipy import optimize

    from analysis.cfa import _decreasing_root
    from analysis.distributions import noncentral_chi2_cdf

    for probability in (0.05, 0.95):

        def excess(nc, probability=probability):
            return noncentral_chi2_cdf(chi2, df, nc) - probability

        if excess(0) < 0:
            continue
        upper = max(chi2, 1.0)
        while excess(upper) > 0:
            upper *= 2
        assert _decreasing_root(excess, 0, upper) == pytest.approx(
            optimize.brentq(excess, 0, upper), rel=1e-12, abs=1e-10
        )
