"""Agreement between raters: intraclass correlations, Bland-Altman limits, patient-clinician
dyads, and the reliability of clinician-level means (patients nested in clinicians)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "ClinicianReliability",
    "DyadAgreement",
    "ICCResult",
    "LimitsOfAgreement",
    "clinician_reliability",
    "dyad_agreement",
    "icc",
    "limits_of_agreement",
    "responses_needed",
]

_ICC_FORMS = ("ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k")


@dataclass(frozen=True)
class ICCResult:
    """The six Shrout-Fleiss intraclass correlations of an n targets x k raters table.

    Attributes
    ----------
    table : DataFrame
        Rows ``ICC1, ICC2, ICC3, ICC1k, ICC2k, ICC3k``; columns ``icc``, ``f``, ``df1``,
        ``df2``, ``p``, ``lower``, ``upper`` (psych ``ICC()$results``).
    n_targets : int
        Targets (rows) with ratings from every rater.
    n_raters : int
        Raters (columns).
    ci_level : float
        Coverage of ``lower``/``upper``.
    """

    table: pd.DataFrame
    n_targets: int
    n_raters: int
    ci_level: float

    def to_dict(self) -> dict:
        """``{"n_targets", "n_raters", "ci_level", "forms": {form: {icc, f, ...}}}``."""
        return {
            "n_targets": self.n_targets,
            "n_raters": self.n_raters,
            "ci_level": self.ci_level,
            "forms": {
                form: {key: _plain(value) for key, value in row.items()}
                for form, row in self.table.iterrows()
            },
        }


@dataclass(frozen=True)
class LimitsOfAgreement:
    """Bland-Altman summary of paired differences ``a - b``."""

    mean_difference: float
    sd_difference: float
    lower: float
    upper: float
    n: int
    level: float

    def to_dict(self) -> dict:
        """All fields as a dictionary."""
        return {
            "mean_difference": _plain(self.mean_difference),
            "sd_difference": _plain(self.sd_difference),
            "lower": _plain(self.lower),
            "upper": _plain(self.upper),
            "n": self.n,
            "level": self.level,
        }


@dataclass(frozen=True)
class DyadAgreement:
    """Patient versus clinician view of the same dyads, per construct.

    Attributes
    ----------
    table : DataFrame
        One row per construct: ``n`` (dyads with both scores), ``patient_mean``,
        ``clinician_mean``, ``mean_difference`` (patient - clinician), ``sd_difference``,
        ``lower_limit``, ``upper_limit`` (Bland-Altman), ``icc`` (ICC2: absolute agreement,
        single rater), ``icc_lower``, ``icc_upper``.
    """

    table: pd.DataFrame

    def to_dict(self) -> dict:
        """``{construct: {n, patient_mean, ...}}``; NaN becomes None."""
        return {
            str(construct): {
                key: (int(value) if key == "n" else _plain(value)) for key, value in row.items()
            }
            for construct, row in self.table.iterrows()
        }


@dataclass(frozen=True)
class ClinicianReliability:
    """ICC(1) of patients within clinicians and the reliability of clinician means.

    Attributes
    ----------
    icc1 : float
        Share of score variance between clinicians (one-way random effects, ANOVA estimator
        with the adjusted group size ``n0`` for unbalanced groups).
    f, df1, df2, p : float
        F test of clinician differences.
    n0 : float
        Adjusted average number of respondents per clinician.
    n_clinicians, n_respondents : int
        Groups and scores used.
    reliability : Series
        Spearman-Brown reliability of each clinician's mean given their own respondents:
        ``n * icc1 / (1 + (n - 1) * icc1)``.
    respondents : Series
        Respondents per clinician.
    """

    icc1: float
    f: float
    df1: int
    df2: int
    p: float
    n0: float
    n_clinicians: int
    n_respondents: int
    reliability: pd.Series
    respondents: pd.Series

    def reliability_at(self, n: int) -> float:
        """Spearman-Brown reliability of a clinician mean over ``n`` respondents."""
        return _spearman_brown(self.icc1, n)

    def to_dict(self) -> dict:
        """Scalars plus ``clinicians: {id: {respondents, reliability}}``."""
        return {
            "icc1": _plain(self.icc1),
            "f": _plain(self.f),
            "df1": self.df1,
            "df2": self.df2,
            "p": _plain(self.p),
            "n0": _plain(self.n0),
            "n_clinicians": self.n_clinicians,
            "n_respondents": self.n_respondents,
            "clinicians": {
                str(c): {
                    "respondents": int(self.respondents[c]),
                    "reliability": _plain(self.reliability[c]),
                }
                for c in self.respondents.index
            },
        }


def icc(ratings: pd.DataFrame | np.ndarray, *, ci: float = 0.95) -> ICCResult:
    """Shrout-Fleiss intraclass correlations with F tests and confidence bounds.

    Parameters
    ----------
    ratings : DataFrame or 2-D array
        Targets in rows, raters in columns. Rows with a missing rating are dropped
        (complete cases).
    ci : float, default 0.95
        Confidence level of the bounds.

    Returns
    -------
    ICCResult

    Notes
    -----
    Mean squares from the two-way ANOVA, as ``psych::ICC(x, lmer=FALSE)``; with complete
    data and positive variance components psych's default (lme4) estimates agree.
    ICC1: one-way random, absolute agreement; ICC2: two-way random, absolute agreement
    (McGraw-Wong ICC(A,1)); ICC3: two-way mixed, consistency; ``k`` forms: mean of k raters.

    References
    ----------
    Shrout, P. E. & Fleiss, J. L. (1979). Psychological Bulletin 86, 420-428.
    McGraw, K. O. & Wong, S. P. (1996). Psychological Methods 1, 30-46. R: ``psych::ICC``.

    Examples
    --------
    >>> import numpy as np
    >>> sf = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8],
    ...                [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]])
    >>> icc(sf).table.loc[["ICC1", "ICC2", "ICC3"], "icc"].round(2).tolist()
    [0.17, 0.29, 0.71]
    """
    values = _ratings(ratings, ci)
    n, k = values.shape
    grand = values.mean()
    ss_total = np.sum((values - grand) ** 2)
    ss_targets = k * np.sum((values.mean(axis=1) - grand) ** 2)
    ss_raters = n * np.sum((values.mean(axis=0) - grand) ** 2)
    ss_error = ss_total - ss_targets - ss_raters
    msb = ss_targets / (n - 1)
    msj = ss_raters / (k - 1)
    mse = ss_error / ((n - 1) * (k - 1))
    msw = (ss_raters + ss_error) / (n * (k - 1))
    table = _icc_table(msb, msj, mse, msw, n, k, alpha=1 - ci)
    return ICCResult(table=table, n_targets=n, n_raters=k, ci_level=ci)


def limits_of_agreement(
    a: pd.Series | np.ndarray, b: pd.Series | np.ndarray, *, level: float = 0.95
) -> LimitsOfAgreement:
    """Bland-Altman mean difference and limits of agreement of paired measurements.

    Parameters
    ----------
    a, b : 1-D arrays or Series of equal length
        Paired measurements; pairs with a missing value are dropped.
    level : float, default 0.95
        The limits are ``mean +/- z * sd`` with ``z = norm.ppf((1 + level) / 2)`` (1.96).

    Returns
    -------
    LimitsOfAgreement

    References
    ----------
    Bland, J. M. & Altman, D. G. (1986). Lancet 327, 307-310.

    Examples
    --------
    >>> loa = limits_of_agreement([4.0, 3.5, 5.0, 4.5], [3.5, 3.5, 4.0, 4.0])
    >>> round(loa.mean_difference, 3), round(loa.upper, 3)
    (0.5, 1.3)
    """
    first, second = _paired(a, b)
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level!r}")
    difference = first - second
    n = len(difference)
    mean = float(difference.mean()) if n else float("nan")
    sd = float(difference.std(ddof=1)) if n > 1 else float("nan")
    z = stats.norm.ppf((1 + level) / 2)
    return LimitsOfAgreement(mean, sd, float(mean - z * sd), float(mean + z * sd), n, level)


def dyad_agreement(
    patient_scores: pd.DataFrame, clinician_scores: pd.DataFrame, *, ci: float = 0.95
) -> DyadAgreement:
    """Compare patient and clinician scores of the same dyads, construct by construct.

    Parameters
    ----------
    patient_scores, clinician_scores : DataFrame
        Indexed by dyad, one column per construct (scale means). Dyads and constructs
        present in both are compared; per construct, dyads missing either score are dropped.
    ci : float, default 0.95
        Level of the ICC bounds and of the limits of agreement.

    Returns
    -------
    DyadAgreement

    Notes
    -----
    The ICC is Shrout-Fleiss ICC2 (single rater, absolute agreement). The two raters are
    fixed (the patient and the clinician), and McGraw and Wong's mixed-model coefficient
    for absolute agreement, ICC(A,1), has the same formula as ICC2. Absolute agreement is
    wanted: a clinician who rates every relationship higher than their patients do should
    lower agreement, which ICC3 (consistency) would ignore.

    Examples
    --------
    >>> import pandas as pd
    >>> patient = pd.DataFrame({"trust": [4.0, 3.0, 5.0, 2.5, 4.5]}, index=list("abcde"))
    >>> clinician = pd.DataFrame({"trust": [3.5, 3.0, 4.5, 2.0, 4.0]}, index=list("abcde"))
    >>> float(dyad_agreement(patient, clinician).table.loc["trust", "mean_difference"])
    0.4
    """
    patient, clinician = _dyad_frames(patient_scores, clinician_scores)
    rows = {}
    for construct in patient.columns:
        pair = pd.concat([patient[construct], clinician[construct]], axis=1).dropna()
        limits = limits_of_agreement(pair.iloc[:, 0], pair.iloc[:, 1], level=ci)
        agreement = _icc2_or_nan(pair.to_numpy(), ci)
        rows[construct] = {
            "n": len(pair),
            "patient_mean": pair.iloc[:, 0].mean(),
            "clinician_mean": pair.iloc[:, 1].mean(),
            "mean_difference": limits.mean_difference,
            "sd_difference": limits.sd_difference,
            "lower_limit": limits.lower,
            "upper_limit": limits.upper,
            "icc": agreement[0],
            "icc_lower": agreement[1],
            "icc_upper": agreement[2],
        }
    return DyadAgreement(table=pd.DataFrame.from_dict(rows, orient="index"))


def clinician_reliability(
    scores: pd.Series | np.ndarray, groups: pd.Series | np.ndarray
) -> ClinicianReliability:
    """ICC(1) of patients within clinicians and the reliability of each clinician's mean.

    Parameters
    ----------
    scores : 1-D array or Series
        One score per respondent (e.g. a scale mean); NaN scores are dropped.
    groups : 1-D array or Series
        The clinician of each respondent. Groups may differ in size.

    Returns
    -------
    ClinicianReliability

    Notes
    -----
    One-way random-effects ANOVA: ``icc1 = (MSB - MSW) / (MSB + (n0 - 1) MSW)`` with
    ``n0 = (N - sum(n_g^2) / N) / (k - 1)``. The reliability of a clinician's mean over
    ``n`` respondents is the Spearman-Brown step-up ``n icc1 / (1 + (n - 1) icc1)``, the
    clinician-level reliability used for CG-CAHPS.

    References
    ----------
    Shrout & Fleiss (1979); Bartko, J. J. (1976). Psychological Bulletin 83, 762-765.

    Examples
    --------
    >>> result = clinician_reliability([4, 5, 4.5, 2, 2.5, 3, 3.5, 4], list("aaabbbcc"))
    >>> round(result.icc1, 3), result.n_clinicians
    (0.827, 3)
    """
    values, labels = _grouped(scores, groups)
    frame = pd.DataFrame({"score": values, "group": labels})
    summary = frame.groupby("group", sort=True)["score"].agg(["size", "mean"])
    sizes = summary["size"].to_numpy(dtype=float)
    n_total, k = sizes.sum(), len(sizes)
    group_mean = frame["group"].map(summary["mean"]).to_numpy()
    ss_between = np.sum(sizes * (summary["mean"].to_numpy() - values.mean()) ** 2)
    ss_within = np.sum((values - group_mean) ** 2)
    df1, df2 = k - 1, int(n_total - k)
    msb, msw = ss_between / df1, ss_within / df2
    n0 = (n_total - np.sum(sizes**2) / n_total) / df1
    icc1 = float((msb - msw) / (msb + (n0 - 1) * msw))
    f = msb / msw
    respondents = summary["size"].rename("respondents")
    return ClinicianReliability(
        icc1=icc1,
        f=float(f),
        df1=df1,
        df2=df2,
        p=float(stats.f.sf(f, df1, df2)),
        n0=float(n0),
        n_clinicians=k,
        n_respondents=int(n_total),
        reliability=respondents.map(lambda n: _spearman_brown(icc1, n)).rename("reliability"),
        respondents=respondents,
    )


def responses_needed(icc1: float, target: float = 0.70) -> int:
    """Respondents per clinician for a clinician mean to reach ``target`` reliability.

    Inverts Spearman-Brown: ``n = target (1 - icc1) / (icc1 (1 - target))``, rounded up.

    Parameters
    ----------
    icc1 : float
        ICC(1) of respondents within clinicians, strictly between 0 and 1.
    target : float, default 0.70
        Wanted reliability, strictly between 0 and 1.

    Returns
    -------
    int

    Examples
    --------
    >>> responses_needed(0.05)
    45
    """
    for name, value in (("icc1", icc1), ("target", target)):
        if not 0 < value < 1:
            raise ValueError(f"{name} must be strictly between 0 and 1, got {value!r}")
    return math.ceil(target * (1 - icc1) / (icc1 * (1 - target)) - 1e-9)


# --- helpers --------------------------------------------------------------------------------


def _icc_table(msb, msj, mse, msw, n, k, *, alpha: float) -> pd.DataFrame:
    """The six forms, F tests and bounds exactly as psych::ICC computes them."""
    icc1 = (msb - msw) / (msb + (k - 1) * msw)
    icc2 = (msb - mse) / (msb + (k - 1) * mse + k * (msj - mse) / n)
    icc3 = (msb - mse) / (msb + (k - 1) * mse)
    icc1k = (msb - msw) / msb
    icc2k = (msb - mse) / (msb + (msj - mse) / n)
    icc3k = (msb - mse) / msb
    f1, df1n, df1d = msb / msw, n - 1, n * (k - 1)
    f3, df3n, df3d = msb / mse, n - 1, (n - 1) * (k - 1)
    p1, p3 = stats.f.sf(f1, df1n, df1d), stats.f.sf(f3, df3n, df3d)
    upper_q = 1 - alpha / 2
    f1_low = f1 / stats.f.ppf(upper_q, df1n, df1d)
    f1_high = f1 * stats.f.ppf(upper_q, df1d, df1n)
    f3_low = f3 / stats.f.ppf(upper_q, df3n, df3d)
    f3_high = f3 * stats.f.ppf(upper_q, df3d, df3n)
    fj = msj / mse
    v_num = (k - 1) * (n - 1) * (k * icc2 * fj + n * (1 + (k - 1) * icc2) - k * icc2) ** 2
    v_den = (n - 1) * k**2 * icc2**2 * fj**2 + (n * (1 + (k - 1) * icc2) - k * icc2) ** 2
    v = v_num / v_den
    f_star_high = stats.f.ppf(upper_q, n - 1, v)
    f_star_low = stats.f.ppf(upper_q, v, n - 1)
    spread = k * msj + (k * n - k - n) * mse
    low2 = n * (msb - f_star_high * mse) / (f_star_high * spread + n * msb)
    high2 = n * (f_star_low * msb - mse) / (spread + n * f_star_low * msb)
    rows = [
        (icc1, f1, df1n, df1d, p1, *_single_bounds(f1_low, f1_high, k)),
        (icc2, f3, df3n, df3d, p3, low2, high2),
        (icc3, f3, df3n, df3d, p3, *_single_bounds(f3_low, f3_high, k)),
        (icc1k, f1, df1n, df1d, p1, 1 - 1 / f1_low, 1 - 1 / f1_high),
        (icc2k, f3, df3n, df3d, p3, _spearman_brown(low2, k), _spearman_brown(high2, k)),
        (icc3k, f3, df3n, df3d, p3, 1 - 1 / f3_low, 1 - 1 / f3_high),
    ]
    columns = ["icc", "f", "df1", "df2", "p", "lower", "upper"]
    return pd.DataFrame(rows, index=list(_ICC_FORMS), columns=columns, dtype=float)


def _single_bounds(f_low: float, f_high: float, k: int) -> tuple[float, float]:
    return (f_low - 1) / (f_low + k - 1), (f_high - 1) / (f_high + k - 1)


def _icc2_or_nan(values: np.ndarray, ci: float) -> tuple[float, float, float]:
    """ICC2 and its bounds, each NaN where it is undefined: fewer than 3 dyads, no spread
    between dyads, or raters who agree exactly on every dyad (the F bounds divide 0 by 0; a
    small dashboard cell can hold such dyads)."""
    if len(values) < 3 or np.ptp(values.mean(axis=1)) == 0:
        return (float("nan"),) * 3
    with np.errstate(divide="ignore", invalid="ignore"):
        row = icc(values, ci=ci).table.loc["ICC2"]
    estimates = (row["icc"], row["lower"], row["upper"])
    return tuple(float(value) if np.isfinite(value) else float("nan") for value in estimates)


def _ratings(ratings, ci: float) -> np.ndarray:
    if not 0 < ci < 1:
        raise ValueError(f"ci must be between 0 and 1, got {ci!r}")
    values = np.asarray(ratings, dtype=float)
    if values.ndim != 2:
        raise ValueError(f"ratings must be 2-D (targets x raters), got {values.ndim} dimensions")
    values = values[~np.isnan(values).any(axis=1)]
    if values.shape[1] < 2 or values.shape[0] < 2:
        raise ValueError(f"need at least 2 complete targets and 2 raters, got {values.shape}")
    return values


def _paired(a, b) -> tuple[np.ndarray, np.ndarray]:
    first, second = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if first.ndim != 1 or first.shape != second.shape:
        raise ValueError(f"a and b must be 1-D of equal length, got {first.shape}, {second.shape}")
    both = ~(np.isnan(first) | np.isnan(second))
    return first[both], second[both]


def _dyad_frames(patient, clinician) -> tuple[pd.DataFrame, pd.DataFrame]:
    if not isinstance(patient, pd.DataFrame) or not isinstance(clinician, pd.DataFrame):
        raise ValueError("patient_scores and clinician_scores must be DataFrames indexed by dyad")
    constructs = [c for c in patient.columns if c in clinician.columns]
    dyads = patient.index.intersection(clinician.index)
    if not constructs or dyads.empty:
        raise ValueError(
            f"no shared constructs or dyads: constructs {list(patient.columns)} vs "
            f"{list(clinician.columns)}, {len(dyads)} shared dyads"
        )
    if patient.index.has_duplicates or clinician.index.has_duplicates:
        raise ValueError("dyad index must be unique in both frames")
    return (
        patient.loc[dyads, constructs].astype(float),
        clinician.loc[dyads, constructs].astype(float),
    )


def _grouped(scores, groups) -> tuple[np.ndarray, np.ndarray]:
    values = np.asarray(scores, dtype=float)
    labels = np.asarray(groups)
    if values.ndim != 1 or values.shape != labels.shape:
        raise ValueError(
            f"scores and groups must be 1-D of equal length, got {values.shape}, {labels.shape}"
        )
    keep = ~np.isnan(values) & ~pd.isna(labels)
    values, labels = values[keep], labels[keep]
    n_groups = len(pd.unique(labels))
    if n_groups < 2 or len(values) <= n_groups:
        raise ValueError(
            f"need at least 2 clinicians and more respondents than clinicians, got "
            f"{n_groups} clinicians and {len(values)} scores"
        )
    return values, labels


def _spearman_brown(icc1: float, n: float) -> float:
    # At or below zero ICC(1) says clinicians do not measurably differ: no reliability exists
    # (and the formula can divide by zero when the group means are equal).
    if not icc1 > 0:
        return float("nan")
    return float(n * icc1 / (1 + (n - 1) * icc1))


def _plain(value) -> float | None:
    return None if value is None or np.isnan(value) else float(value)
