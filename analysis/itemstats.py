"""Item-level descriptive statistics: n, mean, SD, missingness, floor and ceiling effects."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from analysis._frames import labelled_frame
from analysis._input import item_frame, response_range_of

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ItemStatistics", "item_statistics", "item_statistics_from_moments"]

_TABLE_COLUMNS = ("n", "mean", "sd", "missing_pct", "floor_pct", "ceiling_pct")


@dataclass(frozen=True)
class ItemStatistics:
    """Per-item statistics.

    Attributes
    ----------
    items : tuple of str
        Item names, in the order of every per-item array.
    n_answered : ndarray of int
        Answers per item.
    mean, sd : ndarray
        Mean and SD (n - 1 denominator) of the answers per item.
    missing_pct : ndarray
        Percent of the respondents who did not answer the item.
    floor_pct, ceiling_pct : ndarray
        Percent of the answered responses at the lowest / highest value of the response range.
    response_values : ndarray
        The values counted in ``value_counts``: the whole response range (given) plus any other
        value observed.
    value_counts : ndarray of int
        Answers per item (rows) and response value (columns).
    response_range : tuple of float
        The (min, max) used for floor and ceiling: given, or the observed extremes.
    n_respondents : int
        Rows in the data, answered or not.
    table : DataFrame
        The per-item arrays as one row per item with the columns ``n`` (as float), ``mean``,
        ``sd``, ``missing_pct``, ``floor_pct`` and ``ceiling_pct``.
    distribution : DataFrame
        ``value_counts``: one row per item, one column per response value.
    """

    items: tuple[str, ...]
    n_answered: np.ndarray
    mean: np.ndarray
    sd: np.ndarray
    missing_pct: np.ndarray
    floor_pct: np.ndarray
    ceiling_pct: np.ndarray
    response_values: np.ndarray
    value_counts: np.ndarray
    response_range: tuple[float, float]
    n_respondents: int

    @cached_property
    def table(self) -> pd.DataFrame:
        """One row per item, the columns ``n``, ``mean``, ``sd``, ``missing_pct``,
        ``floor_pct`` and ``ceiling_pct``."""
        return labelled_frame(self._table_values(), self.items, _TABLE_COLUMNS)

    @cached_property
    def distribution(self) -> pd.DataFrame:
        """Counts per response value: one row per item, one column per value."""
        return labelled_frame(self.value_counts, self.items, self.response_values)

    def select(self, items: Iterable[str]) -> ItemStatistics:
        """These items' statistics, in this order (the respondents and range stay the same).

        Examples
        --------
        >>> import numpy as np
        >>> stats = item_statistics(np.array([[1, 2], [3, 4], [3, 5]]), response_range=(1, 5))
        >>> stats.select(["item_2"]).mean.tolist()
        [3.6666666666666665]
        """
        items = tuple(items)
        row = {item: i for i, item in enumerate(self.items)}
        absent = [item for item in items if item not in row]
        if absent:
            raise ValueError(f"items not in the statistics: {absent}; they cover {self.items}")
        rows = [row[item] for item in items]
        return ItemStatistics(
            items=items,
            n_answered=self.n_answered[rows],
            mean=self.mean[rows],
            sd=self.sd[rows],
            missing_pct=self.missing_pct[rows],
            floor_pct=self.floor_pct[rows],
            ceiling_pct=self.ceiling_pct[rows],
            response_values=self.response_values,
            value_counts=self.value_counts[rows],
            response_range=self.response_range,
            n_respondents=self.n_respondents,
        )

    def to_dict(self) -> dict:
        """JSON-ready: ``{"n_respondents", "response_range", "items": {item: {...}}}``."""
        values = [_value_key(value) for value in self.response_values]
        items = {}
        table = self._table_values()
        rows = zip(self.items, table, self.n_answered, self.value_counts, strict=True)
        for item, row, n, counts in rows:
            record = {key: _plain(value) for key, value in zip(_TABLE_COLUMNS, row, strict=True)}
            record["n"] = int(n)
            record["distribution"] = dict(zip(values, counts.tolist(), strict=True))
            items[str(item)] = record
        return {
            "n_respondents": self.n_respondents,
            "response_range": list(self.response_range),
            "items": items,
        }

    def _table_values(self) -> np.ndarray:
        return np.column_stack(
            [
                self.n_answered,
                self.mean,
                self.sd,
                self.missing_pct,
                self.floor_pct,
                self.ceiling_pct,
            ]
        )


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
    levels, counts = _distribution(values, low, high, response_range is not None)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = _safe_mean(values, n)
        centered = np.where(answered, values - mean, 0.0)
        sd = np.sqrt((centered**2).sum(axis=0) / (n - 1))
        floor = 100.0 * (values == low).sum(axis=0) / n
        ceiling = 100.0 * (values == high).sum(axis=0) / n
    return ItemStatistics(
        items=tuple(frame.columns),
        n_answered=n,
        mean=mean,
        sd=np.where(n > 1, sd, np.nan),
        missing_pct=100.0 * (1.0 - n / max(len(values), 1)),
        floor_pct=floor,
        ceiling_pct=ceiling,
        response_values=levels,
        value_counts=counts,
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
    counts = moments.counts.copy()  # the moments go on counting if updated again
    with np.errstate(invalid="ignore", divide="ignore"):
        return ItemStatistics(
            items=tuple(moments.items),
            n_answered=n,
            mean=moments.means(),
            sd=np.where(n > 1, moments.standard_deviations(), np.nan),
            missing_pct=100.0 * (1.0 - n / max(moments.n_rows, 1)),
            floor_pct=100.0 * counts[:, 0] / n,
            ceiling_pct=100.0 * counts[:, -1] / n,
            response_values=levels,
            value_counts=counts,
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


def _distribution(values, low, high, range_given: bool) -> tuple[np.ndarray, np.ndarray]:
    """The response values to count, and the answers per item (rows) and value (columns)."""
    observed = np.unique(values[~np.isnan(values)])
    if range_given and np.all(observed == np.round(observed)):
        levels = np.union1d(np.arange(np.ceil(low), np.floor(high) + 1), observed)
    else:
        levels = observed
    counts = (values[:, :, None] == levels[None, None, :]).sum(axis=0)
    return levels, counts


def _value_key(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _plain(value: float) -> float | None:
    return None if np.isnan(value) else float(value)
