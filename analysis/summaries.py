"""Descriptive summaries for dashboards: means with t-based confidence intervals, by group,
and the mean of paired differences."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["MeanSummary", "describe", "describe_by", "paired_difference"]

_COLUMNS = ["n", "mean", "sd", "lower", "upper", "median"]


@dataclass(frozen=True)
class MeanSummary:
    """A mean with its Student-t confidence interval, and the median.

    Attributes
    ----------
    n : int
        Non-missing values used.
    mean, sd, median : float
        Sample mean, standard deviation (``ddof=1``) and median; NaN when undefined.
    lower, upper : float
        ``mean -/+ t * sd / sqrt(n)`` with ``t`` the ``(1 + level) / 2`` quantile of Student's
        t on ``n - 1`` degrees of freedom; NaN for fewer than two values.
    level : float
        Coverage of the interval.
    """

    n: int
    mean: float
    sd: float
    lower: float
    upper: float
    median: float
    level: float

    def to_dict(self) -> dict:
        """All fields; NaN becomes None."""
        return {
            "n": self.n,
            **{
                key: _plain(getattr(self, key))
                for key in ("mean", "sd", "lower", "upper", "median")
            },
            "level": self.level,
        }


def describe(values: pd.Series | np.ndarray | list, *, level: float = 0.95) -> MeanSummary:
    """Mean, t-based confidence interval, SD and median of the non-missing values.

    Parameters
    ----------
    values : 1-D array-like
        Values; NaN is ignored.
    level : float, default 0.95
        Confidence level, strictly between 0 and 1.

    Returns
    -------
    MeanSummary

    References
    ----------
    R: ``t.test(x, conf.level = level)$conf.int``, ``mean(x)``, ``sd(x)``, ``median(x)``.

    Examples
    --------
    >>> summary = describe([4.0, 3.5, 5.0, 4.5, 3.0])
    >>> round(summary.mean, 2), round(summary.lower, 4), round(summary.upper, 4)
    (4.0, 3.0184, 4.9816)
    """
    clean = _values(values, level)
    table = describe_by(clean, np.zeros(len(clean), dtype=int), level=level)
    if table.empty:
        nan = float("nan")
        return MeanSummary(0, nan, nan, nan, nan, nan, level)
    row = table.iloc[0]
    return MeanSummary(
        n=int(row["n"]),
        mean=float(row["mean"]),
        sd=float(row["sd"]),
        lower=float(row["lower"]),
        upper=float(row["upper"]),
        median=float(row["median"]),
        level=level,
    )


def describe_by(
    values: pd.Series | np.ndarray | list,
    groups: pd.Series | np.ndarray | list,
    *,
    level: float = 0.95,
) -> pd.DataFrame:
    """:func:`describe` for every group at once.

    Parameters
    ----------
    values : 1-D array-like
        Values; NaN is ignored.
    groups : 1-D array-like of the same length
        Group label of each value; rows with a missing label are ignored.
    level : float, default 0.95
        Confidence level, strictly between 0 and 1.

    Returns
    -------
    DataFrame
        Indexed by group (sorted), columns ``n, mean, sd, lower, upper, median``; groups
        with no non-missing value are absent.

    Examples
    --------
    >>> table = describe_by([4, 5, 3, 2, 2, 4], ["a", "a", "a", "b", "b", "b"])
    >>> table["mean"].round(3).tolist(), table["n"].tolist()
    ([4.0, 2.667], [3, 3])
    """
    clean = _values(values, level)
    labels = np.asarray(groups)
    if labels.shape != clean.shape:
        raise ValueError(
            f"values and groups must have the same length, got {clean.shape}, {labels.shape}"
        )
    keep = ~np.isnan(clean) & ~pd.isna(labels)
    frame = pd.DataFrame({"value": clean[keep], "group": labels[keep]})
    if frame.empty:
        return pd.DataFrame(columns=_COLUMNS, dtype=float)
    grouped = frame.groupby("group", sort=True)["value"]
    table = grouped.agg(["size", "mean", "std", "median"]).rename(
        columns={"size": "n", "std": "sd"}
    )
    n = table["n"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = stats.t.ppf((1 + level) / 2, np.where(n > 1, n - 1, np.nan))
        half_width = t * table["sd"].to_numpy() / np.sqrt(n)
    table["lower"] = table["mean"] - half_width
    table["upper"] = table["mean"] + half_width
    table["n"] = table["n"].astype(int)
    table.index.name = None
    return table[_COLUMNS]


def paired_difference(
    a: pd.Series | np.ndarray | list,
    b: pd.Series | np.ndarray | list,
    *,
    level: float = 0.95,
) -> MeanSummary:
    """Mean of the paired differences ``a - b`` with its t-based interval (complete pairs).

    Parameters
    ----------
    a, b : 1-D array-like of equal length
        Paired values; a pair with either value missing is dropped.
    level : float, default 0.95
        Confidence level, strictly between 0 and 1.

    Returns
    -------
    MeanSummary
        Of the differences; the interval is that of the paired t test.

    References
    ----------
    R: ``t.test(a, b, paired = TRUE)$conf.int``.

    Examples
    --------
    >>> result = paired_difference([4.0, 3.5, 5.0, 4.5], [3.5, 3.5, 4.0, 4.0])
    >>> round(result.mean, 2), round(result.lower, 4)
    (0.5, -0.1496)
    """
    first, second = _values(a, level), _values(b, level)
    if first.shape != second.shape:
        raise ValueError(f"a and b must have equal length, got {first.shape}, {second.shape}")
    return describe(first - second, level=level)


def _values(values, level: float) -> np.ndarray:
    if not 0 < level < 1:
        raise ValueError(f"level must be strictly between 0 and 1, got {level!r}")
    array = np.asarray(values, dtype=float)
    if array.ndim != 1:
        raise ValueError(f"values must be 1-D, got {array.ndim} dimensions")
    return array


def _plain(value: float) -> float | None:
    return None if np.isnan(value) else float(value)
