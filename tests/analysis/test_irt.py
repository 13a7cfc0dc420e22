"""The graded response model (analysis/irt.py) against R ltm 1.2-0 ``grm()``.

Expected numbers come from tests/analysis/reference/reference_irt.R on the public bfi data
(psychTools; 2800 respondents, with missing answers) in data/b_bfi.csv. ltm's ``coef()`` rounds
to 3 decimals, so the estimates are the unrounded ``ltm:::IRT.parm(fit)$parms`` (thresholds
"Extrmt1".. then "Dscrmn"), the standard errors ``summary(fit)`` of ``grm(..., Hessian = TRUE)``.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.irt import IRTError, eap_scores, grm, grm_by_scale

DATA = Path(__file__).parent / "data"

# grm(bfi[, paste0("N", 1:5)], Hessian = TRUE): logLik and ltm:::IRT.parm(fit)$parms
NEURO_LOGLIK = -21721.9055826
NEURO_PARMS = {
    "N1": [
        -0.81000391157,
        -0.09306182972,
        0.34211093824,
        0.98530742695,
        1.72042578228,
        3.12470818943,
    ],
    "N2": [-1.3661186720, -0.5549458619, -0.1113119743, 0.6478909402, 1.4832438690, 2.8898310544],
    "N3": [-1.1873419889, -0.2975860613, 0.1227666280, 0.8759628919, 1.7669130582, 2.0255828691],
    "N4": [-1.5639233630, -0.3550052171, 0.2384544230, 1.2401631200, 2.2795718354, 1.2766262511],
    "N5": [-1.2962485095, -0.1250939127, 0.4942174254, 1.4790767536, 2.5304370871, 1.1118910949],
}
# The standard errors of the same fit: summary(fit)$coefficients[[item]][, "std.err"] gives
# Extrmt1 and Dscrmn (kept here); its Extrmt2.. are wrong (see NEURO_DELTA_SE).
NEURO_SUMMARY_SE = {  # item: (se of b_1, se of a)
    "N1": (0.03190421005, 0.12854039290),
    "N2": (0.04175296551, 0.10870289769),
    "N3": (0.04387948233, 0.07451182375),
    "N4": (0.06730798324, 0.05283283960),
    "N5": (0.06542787397, 0.04940797333),
}
# ltm's IRT.parm(fit, TRUE)$se takes cov(log(beta_k - beta_{k-1}), alpha) where the delta method
# needs cov(beta_k, alpha), so its b_2.. errors are wrong (N1's b_5: 3.94). delta_se(fit_n) in
# the R script: ginv(fit$hessian) (ltm's own Hessian) with the full Jacobian of (b, a).
NEURO_DELTA_SE = {
    "N1": [
        0.03190421005,
        0.02636766898,
        0.02723644695,
        0.03345922859,
        0.04771344909,
        0.12854039290,
    ],
    "N2": [
        0.04175296551,
        0.02959370611,
        0.02701548253,
        0.02980916806,
        0.04287791638,
        0.10870289769,
    ],
    "N3": [
        0.04387948233,
        0.03120018434,
        0.03026556862,
        0.03710471417,
        0.05643389925,
        0.07451182375,
    ],
    "N4": [
        0.06730798324,
        0.04051110282,
        0.03888743497,
        0.05655461493,
        0.09065698931,
        0.05283283960,
    ],
    "N5": [
        0.06542787397,
        0.04211771330,
        0.04563281233,
        0.07011230895,
        0.10955516009,
        0.04940797333,
    ],
}

# grm(agree, Hessian = TRUE) with agree$A1 <- 7 - agree$A1 (bfi_scales.yaml's -A1)
AGREE_LOGLIK = -19604.7103199
AGREE_PARMS = {
    "A1": [-4.4586250992, -2.7744463884, -1.6542624867, -0.7441018468, 0.9053140679, 0.8616201247],
    "A2": [-3.0304121780, -2.1394934570, -1.6454398938, -0.6597138512, 0.6501020363, 1.8386485450],
    "A3": [-2.2758706965, -1.6039540931, -1.1697935411, -0.4035809101, 0.7305322399, 2.5277751822],
    "A4": [-3.3525268876, -2.2317224016, -1.6695393382, -0.7085846330, 0.4143132927, 1.0469807404],
    "A5": [-3.0045997444, -1.9556758398, -1.3192738701, -0.3692801454, 0.9485494424, 1.7002790694],
}
# delta_se(fit_a)
AGREE_DELTA_SE = {
    "A1": [
        0.25426070296,
        0.14894332607,
        0.09346957898,
        0.06004470866,
        0.06899162798,
        0.04829249649,
    ],
    "A2": [
        0.11994701685,
        0.07476640188,
        0.05791718293,
        0.03627198078,
        0.03744935191,
        0.08088476797,
    ],
    "A3": [
        0.07441034746,
        0.05043299414,
        0.04006519977,
        0.02959403750,
        0.03384208939,
        0.12185790627,
    ],
    "A4": [
        0.16199287158,
        0.10543547181,
        0.08222282354,
        0.05199644622,
        0.04794250936,
        0.05265874938,
    ],
    "A5": [
        0.11745976499,
        0.06896563846,
        0.05016103147,
        0.03420316108,
        0.04355299771,
        0.07080388941,
    ],
}

# grm(mixed, Hessian = TRUE): N5 collapsed to 3 categories ((N5 + 1) %/% 2), N4 to 4
# (c(1, 1, 2, 3, 4, 4)[N4]): unequal numbers of categories.
MIXED_LOGLIK = -18758.638482
MIXED_PARMS = {
    "N1": [
        -0.80978792695,
        -0.09585046342,
        0.33852252965,
        0.98177671316,
        1.71659208294,
        3.20881604239,
    ],
    "N2": [-1.3617009935, -0.5568307893, -0.1139605048, 0.6429545598, 1.4760891330, 2.9768902418],
    "N3": [-1.2141924403, -0.3080920181, 0.1215288252, 0.8923419693, 1.8038984180, 1.9407732911],
    "N4": [-0.3839529736, 0.2462391036, 1.3118715396, 1.1795411694],
    "N5": [-0.1222606659, 1.5413461946, 1.0591553189],
}

# plot(fit_n, type = "IIC", z = c(-4, -2, 0, 1.5, 4), plot = FALSE): item information
INFO_THETA = [-4.0, -2.0, 0.0, 1.5, 4.0]
NEURO_ITEM_INFO = {
    "N1": [0.0004577355827, 0.2259099006692, 2.9744809723982, 2.7198557933483, 0.0078602693845],
    "N2": [0.004127575081, 0.995702934825, 2.477091249728, 2.217974152569, 0.005787866861],
    "N3": [0.01367406493, 0.55869940589, 1.29063784602, 1.19813888751, 0.04357983509],
    "N4": [0.06663951487, 0.39455154874, 0.51830298062, 0.50696288705, 0.14712497457],
    "N5": [0.05556246139, 0.27539723386, 0.39470152455, 0.39150323281, 0.17018603995],
}
# ... with items = 0: test information
NEURO_TEST_INFO = [0.1404613519, 2.4502610240, 7.6552145733, 7.0344349533, 0.3745389859]

# ltm::factor.scores(fit_n, resp.patterns = patterns, method = "EAP")$score.dat[, c("z1", "se.z1")]
EAP_PATTERNS = [
    [1, 1, 1, 1, 1],
    [6, 6, 6, 6, 6],
    [3, 4, 2, 5, 3],
    [2, np.nan, 4, np.nan, 6],
    [np.nan, np.nan, 5, np.nan, np.nan],
]
EAP_LTM = [
    (-2.02130251850, 0.5476251008),
    (2.45686796071, 0.5198508576),
    (0.10153837774, 0.3068390018),
    (0.09502487436, 0.4457486273),
    (0.75039189877, 0.6764019655),
]


@pytest.fixture(scope="module")
def bfi() -> pd.DataFrame:
    return pd.read_csv(DATA / "b_bfi.csv")


@pytest.fixture(scope="module")
def neuro_fit(bfi):
    return grm(bfi[[f"N{k}" for k in range(1, 6)]], response_range=(1, 6))


@pytest.fixture(scope="module")
def agree_fit(bfi):
    agree = bfi[[f"A{k}" for k in range(1, 6)]].copy()
    agree["A1"] = 7 - agree["A1"]
    return grm(agree)


def _check_parms(fit, parms, *, a_tol=0.02, b_tol=0.03):
    assert fit.items == tuple(parms)
    for j, item in enumerate(fit.items):
        expected = parms[item]
        assert fit.a[j] == pytest.approx(expected[-1], abs=a_tol), item
        np.testing.assert_allclose(fit.b[j], expected[:-1], atol=b_tol, err_msg=item)


def test_neuroticism_matches_ltm(neuro_fit):
    assert neuro_fit.converged
    # ltm's BFGS stops slightly short of the maximum (max.sc 0.16); ours is not lower.
    assert neuro_fit.loglik == pytest.approx(NEURO_LOGLIK, abs=0.1)
    assert neuro_fit.loglik >= NEURO_LOGLIK
    _check_parms(neuro_fit, NEURO_PARMS)
    # In fact far closer than the tolerances:
    _check_parms(neuro_fit, NEURO_PARMS, a_tol=0.002, b_tol=0.0005)
    assert neuro_fit.n == 2800  # 106 rows miss some of N1..N5, none all


def test_agreeableness_with_reversed_item_matches_ltm(agree_fit):
    assert agree_fit.converged
    assert agree_fit.loglik == pytest.approx(AGREE_LOGLIK, abs=0.1)
    _check_parms(agree_fit, AGREE_PARMS)
    _check_parms(agree_fit, AGREE_PARMS, a_tol=0.002, b_tol=0.002)


def test_unequal_numbers_of_categories_match_ltm(bfi):
    mixed = bfi[[f"N{k}" for k in range(1, 6)]].copy()
    mixed["N5"] = (mixed["N5"] + 1) // 2
    mixed["N4"] = mixed["N4"].map({1: 1, 2: 1, 3: 2, 4: 3, 5: 4, 6: 4})
    fit = grm(mixed)
    assert [len(b) for b in fit.b] == [5, 5, 5, 3, 2]
    assert fit.loglik == pytest.approx(MIXED_LOGLIK, abs=0.1)
    _check_parms(fit, MIXED_PARMS)


def test_standard_errors_match_ltms_hessian(neuro_fit, agree_fit):
    for j, item in enumerate(neuro_fit.items):
        b1_se, a_se = NEURO_SUMMARY_SE[item]
        assert neuro_fit.a_se[j] == pytest.approx(a_se, rel=0.005), item
        assert neuro_fit.b_se[j][0] == pytest.approx(b1_se, rel=0.005), item
    for fit, reference in ((neuro_fit, NEURO_DELTA_SE), (agree_fit, AGREE_DELTA_SE)):
        for j, item in enumerate(fit.items):
            expected = reference[item]
            np.testing.assert_allclose(fit.b_se[j], expected[:-1], rtol=0.005, err_msg=item)
            assert fit.a_se[j] == pytest.approx(expected[-1], rel=0.005), item


def test_information_matches_ltm(neuro_fit):
    ltm_fit = _with_parameters(neuro_fit, NEURO_PARMS)
    information = ltm_fit.information(INFO_THETA)
    for j, item in enumerate(ltm_fit.items):
        np.testing.assert_allclose(information[j], NEURO_ITEM_INFO[item], rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(information.sum(axis=0), NEURO_TEST_INFO, rtol=1e-8)
    # The fit's own curves, on its grid from -4 to 4, are those of its (nearly equal) estimates.
    grid = list(neuro_fit.theta)
    at = [grid.index(t) for t in INFO_THETA]
    np.testing.assert_allclose(neuro_fit.test_information[at], NEURO_TEST_INFO, rtol=0.002)


def test_eap_scores_match_ltm_factor_scores(neuro_fit):
    patterns = pd.DataFrame(EAP_PATTERNS, columns=list(NEURO_PARMS))
    exact = eap_scores(_with_parameters(neuro_fit, NEURO_PARMS), patterns)
    expected = np.array(EAP_LTM)
    np.testing.assert_allclose(exact["theta_eap"], expected[:, 0], atol=1e-8)
    np.testing.assert_allclose(exact["theta_sd"], expected[:, 1], atol=1e-8)
    ours = eap_scores(neuro_fit, patterns)
    np.testing.assert_allclose(ours.to_numpy(), expected, atol=0.002)


def test_scores_of_the_fitted_rows_are_those_of_their_patterns(bfi, neuro_fit):
    items = list(NEURO_PARMS)
    again = eap_scores(neuro_fit, bfi[items])
    np.testing.assert_allclose(again["theta_eap"], neuro_fit.theta_eap, atol=1e-12)
    np.testing.assert_allclose(again["theta_sd"], neuro_fit.theta_sd, atol=1e-12)
    unanswered = bfi[items].isna().all(axis=1).to_numpy()
    assert np.isnan(neuro_fit.theta_eap[unanswered]).all()
    assert not np.isnan(neuro_fit.theta_eap[~unanswered]).any()


def test_marginal_reliability_is_one_minus_mean_posterior_variance(neuro_fit):
    answered = ~np.isnan(neuro_fit.theta_sd)
    expected = 1 - np.mean(neuro_fit.theta_sd[answered] ** 2)
    assert neuro_fit.marginal_reliability == pytest.approx(expected)
    # Under the model, var(EAP) + mean posterior variance = 1 (the prior variance).
    total = np.var(neuro_fit.theta_eap[answered]) + np.mean(neuro_fit.theta_sd[answered] ** 2)
    assert total == pytest.approx(1.0, abs=0.03)
    assert 0.8 < neuro_fit.marginal_reliability < 0.9


def test_duplicated_rows_double_the_loglik_and_keep_the_estimates(bfi, neuro_fit):
    items = list(NEURO_PARMS)
    twice = grm(pd.concat([bfi[items], bfi[items]], ignore_index=True))
    assert twice.loglik == pytest.approx(2 * neuro_fit.loglik, rel=1e-9)
    np.testing.assert_allclose(twice.a, neuro_fit.a, atol=1e-5)
    np.testing.assert_allclose(twice.a_se * np.sqrt(2), neuro_fit.a_se, rtol=1e-4)


def _simulate(seed, n, a, b):
    rng = np.random.default_rng(seed)
    theta = rng.normal(size=n)
    above = 1 / (1 + np.exp(-a[None, :, None] * (theta[:, None, None] - b[None, :, :])))
    return pd.DataFrame(
        1 + (rng.random((n, len(a), 1)) < above).sum(axis=2),
        columns=[f"i{j + 1}" for j in range(len(a))],
    )


def test_recovers_known_parameters():
    a = np.array([0.8, 1.2, 1.5, 1.8, 2.2, 2.6])
    b = np.array(
        [
            [-2.0, -0.8, 0.3, 1.5],
            [-1.5, -0.5, 0.5, 1.6],
            [-1.0, -0.2, 0.6, 1.2],
            [-2.2, -1.1, 0.0, 0.9],
            [-1.2, -0.4, 0.4, 1.8],
            [-0.6, 0.0, 0.7, 1.3],
        ]
    )
    fit = grm(_simulate(20261201, 2000, a, b))
    assert fit.converged
    z = np.concatenate(
        [(fit.a - a) / fit.a_se, *(((fit.b[j] - b[j]) / fit.b_se[j]) for j in range(6))]
    )
    # Each of the 30 estimates within 4 standard errors of the truth: by chance one of them
    # falls outside with probability 30 x 6.3e-5 = 0.2%. The standard errors are calibrated:
    # the standardized errors have a root mean square near 1 (chi-square with 30 df: 95% of
    # the time between 0.69 and 1.25).
    assert np.max(np.abs(z)) < 4
    assert 0.69 < np.sqrt(np.mean(z**2)) < 1.25
    # and the absolute errors are small: a within 0.25, b within 0.25
    assert np.max(np.abs(fit.a - a)) < 0.25
    assert max(np.max(np.abs(fit.b[j] - b[j])) for j in range(6)) < 0.25


def test_missing_answers_use_the_observed_items_only():
    a = np.array([1.0, 1.5, 2.0, 1.2])
    b = np.tile([-1.0, 0.0, 1.0], (4, 1))
    data = _simulate(7, 1500, a, b).astype(float)
    full = grm(data)
    holes = data.copy()
    rng = np.random.default_rng(8)
    holes[rng.random(holes.shape) < 0.15] = np.nan
    holes.iloc[0] = np.nan
    partial = grm(holes)
    assert partial.n == int(holes.notna().any(axis=1).sum()) < 1500
    assert np.isnan(partial.theta_eap[0])
    # Missing completely at random: the estimates stay near those of the full data.
    np.testing.assert_allclose(partial.a, full.a, atol=0.25)
    # Fewer answers, wider posteriors.
    assert np.nanmean(partial.theta_sd) > np.mean(full.theta_sd)


def test_an_empty_category_is_named_and_the_item_still_fits(bfi):
    items = bfi[["N1", "N2", "N3"]].copy()
    items.loc[items["N2"] == 3, "N2"] = 4
    fit = grm(items, response_range=(1, 6))
    assert len(fit.b[1]) == 4
    assert fit.categories[1] == (1.0, 2.0, 4.0, 5.0, 6.0)
    assert any("item N2: nobody answered 3" in note for note in fit.notes)
    assert fit.to_dict()["items"]["N2"]["categories"] == [1, 2, 4, 5, 6]


def test_an_item_with_one_answer_is_refused_by_name():
    data = pd.DataFrame({"x": [1, 2, 3, 1], "y": [2, 2, 2, np.nan], "z": [1, 3, 2, 2]})
    with pytest.raises(IRTError, match="item y has only the answer 2"):
        grm(data)
    with pytest.raises(IRTError, match="item y has no answer"):
        grm(data.assign(y=np.nan))


def test_bad_input_is_refused():
    with pytest.raises(IRTError, match="at least two items"):
        grm(pd.DataFrame({"x": [1, 2, 3]}))
    with pytest.raises(IRTError, match=r"non-numeric answers: \['y'\]"):
        grm(pd.DataFrame({"x": [1, 2], "y": ["a", "b"]}))
    with pytest.raises(ValueError, match="quadrature_points must be between 5 and 101, got 2"):
        grm(pd.DataFrame({"x": [1, 2], "y": [1, 2]}), quadrature_points=2)


def test_answers_outside_the_fitted_categories_are_refused(neuro_fit):
    patterns = pd.DataFrame([[1, 2, 3, 4, 7]], columns=list(NEURO_PARMS))
    with pytest.raises(IRTError, match=r"item N5: answers 7 are not among the categories"):
        eap_scores(neuro_fit, patterns)


def test_negative_discrimination_is_noted(bfi):
    unreversed = bfi[["A1", "A2", "A3", "A4", "A5"]]
    fit = grm(unreversed)
    assert fit.a[0] < 0
    assert any("negative discrimination: A1" in note for note in fit.notes)


def test_a_degenerate_fit_is_flagged():
    rng = np.random.default_rng(0)
    copies = np.repeat(rng.integers(1, 4, size=(200, 1)), 3, axis=1)
    fit = grm(pd.DataFrame(copies, columns=["x", "y", "z"]))
    assert any(note.startswith("extreme discrimination: x (a = ") for note in fit.notes)


def test_by_scale_skips_short_scales_and_names_the_scale_of_an_error(bfi):
    frame = bfi[["N1", "N2", "N3", "C1", "C2"]].assign(C3=1)
    scales = {"neuro": ("N1", "N2", "N3"), "pair": ("C1", "C2")}
    fits, notes = grm_by_scale(frame, scales)
    assert list(fits) == ["neuro"]
    assert notes == (
        "scale pair: the graded response model needs at least three items; not fitted",
    )
    with pytest.raises(IRTError, match="scale consc: item C3 has only the answer 1"):
        grm_by_scale(frame, {"consc": ("C1", "C2", "C3")})


def test_to_dict_has_the_documented_keys(neuro_fit):
    result = neuro_fit.to_dict()
    assert {"loglik", "marginal_reliability", "items", "theta", "test_information"} <= set(result)
    item = result["items"]["N1"]
    assert {"a", "b", "a_se", "b_se", "information"} <= set(item)
    assert len(item["b"]) == len(item["b_se"]) == 5
    assert len(result["theta"]) == len(result["test_information"]) == 81
    assert result["theta"][0] == -4.0 and result["theta"][-1] == 4.0


def _with_parameters(fit, parms):
    """The fit with ltm's estimates in place of ours (to compare formulas exactly)."""
    return replace(
        fit,
        a=np.array([parms[item][-1] for item in fit.items]),
        b=tuple(np.array(parms[item][:-1]) for item in fit.items),
    )


# --- the workup and its report ---------------------------------------------------------------


@pytest.fixture(scope="module")
def workup(bfi):
    from analysis.workup import WorkupOptions, run_workup
    from items import ScaleSpec

    spec = ScaleSpec.from_mapping(
        {
            "range": [1, 6],
            "scales": {"agree": ["-A1", "A2", "A3", "A4", "A5"], "neuro": ["N1", "N2", "N3"]},
        }
    )
    frame = bfi[["A1", "A2", "A3", "A4", "A5", "N1", "N2", "N3"]].copy()
    frame.loc[0, ["N1", "N2", "N3"]] = np.nan
    return run_workup(frame, spec, WorkupOptions(seed=1, factors=2, irt=True))


def test_workup_fits_each_scale_on_the_keyed_items(workup):
    report = workup.to_dict()
    assert set(report["irt"]) == {"agree", "neuro"}
    agree = report["irt"]["agree"]
    # the spec reverses A1, so the fit is ltm's on 7 - A1
    assert agree["loglik"] == pytest.approx(AGREE_LOGLIK, abs=0.1)
    for item, parms in AGREE_PARMS.items():
        assert agree["items"][item]["a"] == pytest.approx(parms[-1], abs=0.002)
        assert agree["items"][item]["b"] == pytest.approx(parms[:-1], abs=0.002)
        assert set(agree["items"][item]) >= {"a", "b", "a_se", "b_se"}
    assert 0 < agree["marginal_reliability"] < 1
    assert report["options"]["irt"] is True


def test_workup_scores_are_long_with_one_row_per_respondent_and_scale(workup):
    scores = workup.irt_scores()
    assert list(scores.columns) == ["row", "scale", "theta_eap", "theta_sd"]
    assert len(scores) == 2 * 2800
    neuro = scores[scores["scale"] == "neuro"].set_index("row")
    assert np.isnan(neuro.loc[1, "theta_eap"])  # row 1 answered no N item
    assert neuro["theta_eap"].notna().sum() == 2799


def test_workup_without_irt_has_null_irt_and_no_scores(bfi):
    from analysis.workup import WorkupOptions, run_workup

    result = run_workup(
        bfi[["N1", "N2", "N3"]], {"neuro": ["N1", "N2", "N3"]}, WorkupOptions(factors=1)
    )
    assert result.to_dict()["irt"] is None
    with pytest.raises(ValueError, match="without the graded response model"):
        result.irt_scores()


def test_workup_from_moments_refuses_irt():
    from analysis.moments import PairwiseMoments
    from analysis.workup import WorkupOptions, run_workup_from_moments

    moments = PairwiseMoments(items=("x", "y", "z"), values=range(1, 4))
    with pytest.raises(ValueError, match="--irt"):
        run_workup_from_moments(moments, {"s": ["x", "y", "z"]}, WorkupOptions(irt=True))


def test_text_summary_has_a_compact_irt_table(workup):
    from analysis.report import text_summary

    text = text_summary(workup.to_dict())
    assert "IRT: logistic graded response model" in text
    assert "agree: n = 2800, logLik = -19604.71" in text
    irt_part = text[text.index("IRT: logistic") :]
    (row,) = [line for line in irt_part.splitlines() if line.startswith("A3 ")]
    assert row.split()[:3] == ["A3", "2.53", "0.12"]
    assert max(map(len, text.splitlines())) <= 100


def test_html_report_draws_item_and_test_information(workup):
    import xml.etree.ElementTree as ET

    from analysis.report import html_report

    page = html_report(workup.to_dict())
    assert "<script" not in page.lower()
    svg_ns = "{http://www.w3.org/2000/svg}"
    figures = [
        ET.fromstring(fragment)
        for fragment in re.findall(r"<svg\b.*?</svg>", page, re.S)
        if "information of" in fragment
    ]
    assert len(figures) == 2
    series = [line.get("data-series") for line in figures[0].iter(f"{svg_ns}polyline")]
    assert series == ["test", "A1", "A2", "A3", "A4", "A5"]
    # one point per theta of the grid, the test curve above every item curve
    lines = {
        line.get("data-series"): [
            float(point.split(",")[1]) for point in line.get("points").split()
        ]
        for line in figures[0].iter(f"{svg_ns}polyline")
    }
    assert all(len(ys) == 81 for ys in lines.values())
    # SVG y grows downwards: the test curve is at or above every item curve
    assert all(t <= y for ys in lines.values() for t, y in zip(lines["test"], ys, strict=True))
    assert "A3" in page and "2.53 (0.12)" in page


def test_html_report_says_when_irt_was_not_run(workup):
    from analysis.report import html_report, text_summary

    report = workup.to_dict()
    report["irt"] = None
    assert "IRT: not run" in text_summary(report)
    assert "Not run (ask for it with <code>--irt</code>)" in html_report(report)
