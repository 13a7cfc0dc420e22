"""Item-level descriptive statistics: n, mean, SD, missingness, floor and ceiling effects."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis._input import item_frame, response_range_of

__all__ = ["ItemStatistics", "item_statistics", "item_statistics_from_moments"]


@dataclass(frozen=True)
class ItemStatistics:
    """Per-item statistics.

    Attributes
    ----------
    table : DataFrame
        One row per item with ``n`` (answered), ``mean``, ``sd`` (n - 1 denominator),
        ``missing_pct``, ``floor_pct`` and ``ceiling_pct`` (percent of the answered responses
        at the lowest / highest value of the response range).
    distribution : DataFrame
        Counts per response value: one row per item, one column per value.
    response_range : tuple of float
        The (min, max) used for floor and ceiling: given, or the observed extremes.
    n_respondents : int
        Rows in the data, answered or not.
    """

    table: pd.DataFrame
    distribution: pd.DataFrame
    response_range: tuple[float, float]
    n_respondents: int

    def to_dict(self) -> dict:
        """JSON-ready: ``{"n_respondents", "response_range", "items": {item: {...}}}``."""
        items = {}
        for item, row in self.table.iterrows():
            record = {key: _plain(value) for key, value in row.items()}
            record["n"] = int(row["n"])
            record["distribution"] = {
                _value_key(value): int(count)
                for value, count in self.distribution.loc[item].items()
            }
            items[str(item)] = record
        return {
            "n_respondents": self.n_respondents,
            "response_range": list(self.response_range),
            "items": items,
        }


def item_statistics(
    data: pd.DataFrame | np.ndarray, *, response_range: tuple[int, int] | None = None
) -> ItemStatistics:
    """Describe each item: n, mean, SD, percent missing, floor and ceiling percentages.

    Parameters
    ----------
    data : DataFrame or 2-D array
        Respondents in rows, items in columns; NaN marks a missing answer.
    response_range : (int, int), optional
        Lowest and highest possible answer. Without it the observed extremes over all items
        are used for floor, ceiling and the value columns of the distribution.

    Returns
    -------
    ItemStatistics

    References
    ----------
    Means and SDs as R ``colMeans(x, na.rm=TRUE)`` and ``apply(x, 2, sd, na.rm=TRUE)``.

    Examples
    --------
    >>> import numpy as np
    >>> stats = item_statistics(np.array([[1, 2], [3, np.nan], [3, 5]]), response_range=(1, 5))
    >>> stats.table.loc["item_1", ["n", "floor_pct", "ceiling_pct"]].round(1).tolist()
    [3.0, 33.3, 0.0]
    """
    frame = item_frame(data)
    values = frame.to_numpy()
    answered = ~np.isnan(values)
    low, high = _range_for(values, response_range)
    n = answered.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = _safe_mean(values, n)
        centered = np.where(answered, values - mean, 0.0)
        sd = np.sqrt((centered**2).sum(axis=0) / (n - 1))
        floor = 100.0 * (values == low).sum(axis=0) / n
        ceiling = 100.0 * (values == high).sum(axis=0) / n
    table = pd.DataFrame(
        {
            "n": n.astype(float),
            "mean": mean,
            "sd": np.where(n > 1, sd, np.nan),
            "missing_pct": 100.0 * (1.0 - n / max(len(values), 1)),
            "floor_pct": floor,
            "ceiling_pct": ceiling,
        },
        index=frame.columns,
    )
    return ItemStatistics(
        table=table,
        distribution=_distribution(values, frame.columns, low, high, response_range is not None),
        response_range=(low, high),
        n_respondents=len(values),
    )


def item_statistics_from_moments(moments, *, response_range: tuple[int, int]) -> ItemStatistics:
    """:func:`item_statistics` from :class:`analysis.moments.PairwiseMoments`.

    The moments must have counted every value of ``response_range`` (``values=range(lo,
    hi + 1)``); the numbers equal :func:`item_statistics` on the rows behind them.

    Examples
    --------
    >>> import numpy as np
    >>> from analysis.moments import PairwiseMoments
    >>> moments = PairwiseMoments(items=("item_1", "item_2"), values=range(1, 6))
    >>> moments.update(np.array([[1, 2], [3, np.nan], [3, 5]]))
    >>> stats = item_statistics_from_moments(moments, response_range=(1, 5))
    >>> stats.table.loc["item_1", ["n", "floor_pct", "ceiling_pct"]].round(1).tolist()
    [3.0, 33.3, 0.0]
    """
    low, high = response_range_of(response_range)
    levels = np.arange(low, high + 1)
    counted = tuple(moments.values)
    if tuple(int(v) for v in levels) != counted:
        raise ValueError(
            f"the moments counted the values {counted}; expected {tuple(map(int, levels))} "
            f"for the response range {response_range}"
        )
    n = moments.n_items
    counts = moments.counts
    with np.errstate(invalid="ignore", divide="ignore"):
        table = pd.DataFrame(
            {
                "n": n.astype(float),
                "mean": moments.means(),
                "sd": np.where(n > 1, moments.standard_deviations(), np.nan),
                "missing_pct": 100.0 * (1.0 - n / max(moments.n_rows, 1)),
                "floor_pct": 100.0 * counts[:, 0] / n,
                "ceiling_pct": 100.0 * counts[:, -1] / n,
            },
            index=pd.Index(moments.items),
        )
    return ItemStatistics(
        table=table,
        distribution=pd.DataFrame(counts, index=pd.Index(moments.items), columns=levels),
        response_range=(low, high),
        n_respondents=moments.n_rows,
    )


def _range_for(values: np.ndarray, response_range) -> tuple[float, float]:
    checked = response_range_of(response_range)
    if checked is not None:
        return checked
    if np.isnan(values).all():
        raise ValueError("no answers in the data and no response_range to describe them")
    return float(np.nanmin(values)), float(np.nanmax(values))


def _safe_mean(values: np.ndarray, n: np.ndarray) -> np.ndarray:
    sums = np.where(np.isnan(values), 0.0, values).sum(axis=0)
    return np.where(n > 0, sums / np.maximum(n, 1), np.nan)


def _distribution(values, columns, low, high, range_given: bool) -> pd.DataFrame:
    observed = np.unique(values[~np.isnan(values)])
    if range_given and np.all(observed == np.round(observed)):
        levels = np.union1d(np.arange(np.ceil(low), np.floor(high) + 1), observed)
    else:
        levels = observed
    counts = (values[:, :, None] == levels[None, None, :]).sum(axis=0)
    return pd.DataFrame(counts, index=columns, columns=levels)


def _value_key(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _plain(value: float) -> float | None:
    return None if np.isnan(value) else float(value)
