"""ICC, Bland-Altman, dyad agreement and clinician-level reliability against R.

Expected numbers come from tests/analysis/reference/reference_a.R: psych 2.2.9 ``ICC()`` on
the Shrout & Fleiss (1979) 6 x 4 example, base R ``aov()`` on the synthetic clinician data
and ``ICC()`` plus hand-computed Bland-Altman limits on the synthetic dyads (both generated
by reference/export_data_a.R).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.agreement import (
    clinician_reliability,
    dyad_agreement,
    icc,
    limits_of_agreement,
    responses_needed,
)

DATA = Path(__file__).parent / "data"

# psych::ICC(sf, lmer=FALSE)$results: ICC, F, df1, df2, p, lower bound, upper bound
R_SHROUT_FLEISS = {
    "ICC1": (0.1657417684, 1.794678492, 5, 18, 0.1647688083446, -0.13293232487, 0.7225600623),
    "ICC2": (0.2897637795, 11.027247956, 5, 15, 0.0001345665165, 0.01878651337, 0.7610843696),
    "ICC3": (0.7148407148, 11.027247956, 5, 15, 0.0001345665165, 0.34246476503, 0.9458582600),
    "ICC1k": (0.4427971337, 1.794678492, 5, 18, 0.1647688083446, -0.88444215524, 0.9124154203),
    "ICC2k": (0.6200505476, 11.027247956, 5, 15, 0.0001345665165, 0.07113681530, 0.9272320402),
    "ICC3k": (0.9093155424, 11.027247956, 5, 15, 0.0001345665165, 0.67567471382, 0.9858916782),
}

# n, mean(patient), mean(clinician), mean(d), sd(d), mean(d) -/+ qnorm(.975) * sd(d), and
# psych::ICC(pair, lmer=FALSE)$results["Single_random_raters", c("ICC","lower bound","upper bound")]
R_DYADS = {
    "valuing": (76, 3.7553947370, 3.5273684210, 0.2280263158, 0.6360503538, -1.0186094700,
                1.4746621020, 0.5810633505, 0.3947977896, 0.7181347439),
    "trust": (75, 3.6612000000, 3.5004000000, 0.1608000000, 0.6112564818, -1.0372406900,
              1.3588406900, 0.7331985114, 0.6042397661, 0.8239833379),
    "hope": (77, 3.7675324680, 3.6197402600, 0.1477922078, 0.6644836210, -1.1545717580,
             1.4501561730, 0.5826828555, 0.4143503817, 0.7126182173),
}  # fmt: skip
DYAD_COLUMNS = [
    "n", "patient_mean", "clinician_mean", "mean_difference", "sd_difference", "lower_limit",
    "upper_limit", "icc", "icc_lower", "icc_upper",
]  # fmt: skip


@pytest.fixture(scope="module")
def shrout_fleiss() -> pd.DataFrame:
    return pd.read_csv(DATA / "a_shrout_fleiss.csv")


@pytest.fixture(scope="module")
def dyads() -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = pd.read_csv(DATA / "a_dyads.csv", index_col="dyad")
    patient = frame.filter(like="patient_").rename(columns=lambda c: c.removeprefix("patient_"))
    clinician = frame.filter(like="clinician_").rename(
        columns=lambda c: c.removeprefix("clinician_")
    )
    return patient, clinician


@pytest.mark.parametrize("form", list(R_SHROUT_FLEISS))
def test_icc_forms_match_psych_on_shrout_fleiss(shrout_fleiss, form):
    row = icc(shrout_fleiss).table.loc[form]
    expected = R_SHROUT_FLEISS[form]
    actual = [row[c] for c in ["icc", "f", "df1", "df2", "p", "lower", "upper"]]
    np.testing.assert_allclose(actual, expected, atol=1e-8)


def test_icc_matches_shrout_fleiss_published_values(shrout_fleiss):
    # Shrout & Fleiss (1979), Table 4: ICC(1,1) .17, ICC(2,1) .29, ICC(3,1) .71,
    # ICC(1,4) .44, ICC(2,4) .62, ICC(3,4) .91
    table = icc(shrout_fleiss).table
    assert table["icc"].round(2).tolist() == [0.17, 0.29, 0.71, 0.44, 0.62, 0.91]


def test_icc_drops_incomplete_targets(shrout_fleiss):
    with_gap = pd.concat(
        [shrout_fleiss, pd.DataFrame([[1, np.nan, 3, 4]], columns=list(shrout_fleiss.columns))]
    )
    result = icc(with_gap)
    assert result.n_targets == 6 and result.n_raters == 4
    assert result.to_dict()["forms"]["ICC2"]["icc"] == pytest.approx(0.2897637795, abs=1e-9)


def test_icc_rejects_a_single_rater():
    with pytest.raises(ValueError, match="2 raters"):
        icc(np.array([[1.0], [2.0], [3.0]]))


@pytest.mark.parametrize("construct", list(R_DYADS))
def test_dyad_agreement_matches_r(dyads, construct):
    table = dyad_agreement(*dyads).table
    np.testing.assert_allclose(
        table.loc[construct, DYAD_COLUMNS].astype(float), R_DYADS[construct], atol=1e-8
    )


def test_dyad_agreement_uses_shared_dyads_only(dyads):
    patient, clinician = dyads
    result = dyad_agreement(patient.iloc[:40], clinician.iloc[20:])
    assert result.table["n"].max() <= 20
    assert set(result.to_dict()) == {"valuing", "trust", "hope"}


def test_limits_of_agreement_match_r(dyads):
    patient, clinician = dyads
    loa = limits_of_agreement(patient["trust"], clinician["trust"])
    assert loa.n == 75
    assert (loa.mean_difference, loa.sd_difference, loa.lower, loa.upper) == pytest.approx(
        R_DYADS["trust"][3:7], abs=1e-8
    )


def test_limits_of_agreement_reject_unequal_lengths():
    with pytest.raises(ValueError, match="equal length"):
        limits_of_agreement([1.0, 2.0], [1.0])


def test_clinician_icc1_matches_one_way_anova_in_r():
    # aov(score ~ factor(clinician)): MSB 1.419340430, MSW 0.6345198740, F 2.236873088,
    # p 3.732388718e-04; n0 12.52016055; ICC(1) = (MSB - MSW) / (MSB + (n0 - 1) MSW)
    data = pd.read_csv(DATA / "a_clinicians.csv")
    result = clinician_reliability(data["score"], data["clinician"])
    assert result.icc1 == pytest.approx(0.08990841486, abs=1e-9)
    assert result.f == pytest.approx(2.236873088, abs=1e-8)
    assert result.p == pytest.approx(3.732388718e-04, rel=1e-8)
    assert result.n0 == pytest.approx(12.52016055, abs=1e-7)
    assert (result.n_clinicians, result.df1) == (30, 29)
    assert result.reliability_at(10) == pytest.approx(0.4969578863, abs=1e-9)
    sizes = data["clinician"].value_counts()
    assert result.respondents.to_dict() == sizes.to_dict()
    first = sizes.index.sort_values()[0]
    n = sizes[first]
    assert result.reliability[first] == pytest.approx(n * result.icc1 / (1 + (n - 1) * result.icc1))


def test_responses_needed_inverts_spearman_brown():
    def reliability(m: int) -> float:
        return m * 0.0899 / (1 + (m - 1) * 0.0899)

    n = responses_needed(0.0899, target=0.7)
    assert reliability(n) >= 0.7 > reliability(n - 1)
    assert responses_needed(0.5, target=0.5) == 1


@pytest.mark.parametrize(("icc1", "target"), [(0.0, 0.7), (-0.1, 0.7), (0.1, 1.0)])
def test_responses_needed_rejects_impossible_values(icc1, target):
    with pytest.raises(ValueError, match="strictly between"):
        responses_needed(icc1, target=target)


def test_clinician_reliability_needs_two_clinicians():
    with pytest.raises(ValueError, match="2 clinicians"):
        clinician_reliability([1.0, 2.0, 3.0], ["a", "a", "a"])


def test_clinician_reliability_is_nan_where_clinicians_do_not_differ():
    # Equal clinician means: ICC(1) = -1 / (n0 - 1), where Spearman-Brown would divide by zero.
    scores = [1.0, 5.0, 1.0, 5.0] * 3
    groups = [1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3]
    result = clinician_reliability(scores, groups)
    assert result.icc1 == pytest.approx(-1 / 3)
    assert np.isnan(result.reliability_at(4))
    assert all(np.isnan(value) for value in result.reliability)


def test_dyads_in_exact_agreement_give_an_undefined_interval_without_a_warning():
    # Patients and clinicians agreeing on every dyad: ICC2's F bounds would divide 0 by 0
    # (a small dashboard cell can hold such dyads); the bounds are NaN, not a RuntimeWarning.
    scores = pd.DataFrame({"trust": [4.0, 3.0, 5.0, 2.5]}, index=list("abcd"))
    row = dyad_agreement(scores, scores.copy()).table.loc["trust"]
    assert row["mean_difference"] == 0
    assert np.isnan(row["icc_lower"]) and np.isnan(row["icc_upper"])
