"""Scale scores: reverse keying and the mean of the answered items of each scale."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from analysis._input import item_frame, response_range_of
from analysis._spec import keyed_responses, read_scales

__all__ = ["reverse_score", "scale_scores"]


def reverse_score(
    data: pd.DataFrame, items: Iterable[str], *, response_range: tuple[int, int]
) -> pd.DataFrame:
    """Return a copy of ``data`` with ``items`` reversed as ``min + max - x``.

    Parameters
    ----------
    data : DataFrame
        Respondents in rows, items in columns.
    items : iterable of str
        Columns to reverse.
    response_range : (int, int)
        Lowest and highest possible answer.

    Returns
    -------
    DataFrame
        Float copy of ``data``; missing answers stay missing.

    Examples
    --------
    >>> import pandas as pd
    >>> reverse_score(pd.DataFrame({"a": [1, 5], "b": [2, 4]}), ["b"], response_range=(1, 5))
         a    b
    0  1.0  4.0
    1  5.0  2.0
    """
    frame = item_frame(data)
    low, high = _checked_range(response_range)
    items = list(items)
    missing = [item for item in items if item not in frame.columns]
    if missing:
        raise ValueError(f"items to reverse not in the data: {missing}")
    frame[items] = low + high - frame[items]
    return frame


def scale_scores(
    data: pd.DataFrame,
    spec: Any,
    *,
    min_answered: float | int = 0.5,
    reverse_keyed: Iterable[str] | None = None,
    response_range: tuple[int, int] | None = None,
) -> pd.DataFrame:
    """Mean of each scale's answered items per respondent, NaN when too few were answered.

    Parameters
    ----------
    data : DataFrame
        Respondents in rows, items in columns.
    spec : ScaleSpec or mapping
        ``items.ScaleSpec`` or ``{scale: [item ids]}``; a leading ``-`` on an id marks it
        reverse-keyed.
    min_answered : float or int, default 0.5
        A float in (0, 1] is the fraction of the scale's items that must be answered
        (rounded up: 0.5 of 5 items needs 3); an int >= 1 is a count (capped at the scale's
        number of items).
    reverse_keyed : iterable of str, optional
        More reverse-keyed item ids, added to those the spec marks.
    response_range : (int, int), optional
        Overrides the spec's range; needed when any item is reverse-keyed.

    Returns
    -------
    DataFrame
        One column per scale, indexed like ``data``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> answers = pd.DataFrame({"v1": [5, 4, np.nan], "v2": [1, 2, np.nan], "v3": [5, np.nan, 3]})
    >>> scale_scores(answers, {"valuing": ["v1", "-v2", "v3"]}, response_range=(1, 5))
       valuing
    0      5.0
    1      4.0
    2      NaN
    """
    scales = read_scales(spec, reverse_keyed=reverse_keyed, response_range=response_range)
    _check_min_answered(min_answered)
    frame = keyed_responses(data, scales)
    scores = {}
    for name, members in scales.items.items():
        values = frame[list(members)].to_numpy()
        answered = (~np.isnan(values)).sum(axis=1)
        needed = _needed(min_answered, len(members))
        with np.errstate(invalid="ignore"):
            means = np.nansum(values, axis=1) / answered
        scores[name] = np.where(answered >= needed, means, np.nan)
    return pd.DataFrame(scores, index=frame.index)


def _checked_range(response_range) -> tuple[float, float]:
    checked = response_range_of(response_range)
    if checked is None:
        raise ValueError("response_range is required to reverse items")
    return checked


def _check_min_answered(min_answered) -> None:
    if isinstance(min_answered, bool) or not isinstance(min_answered, int | float):
        raise ValueError(f"min_answered must be a fraction or a count, got {min_answered!r}")
    if isinstance(min_answered, int) and min_answered < 1:
        raise ValueError(f"min_answered as a count must be >= 1, got {min_answered}")
    if isinstance(min_answered, float) and not 0 < min_answered <= 1:
        raise ValueError(f"min_answered as a fraction must be in (0, 1], got {min_answered}")


def _needed(min_answered: float | int, n_items: int) -> int:
    if isinstance(min_answered, int):
        return min(min_answered, n_items)
    return max(1, math.ceil(min_answered * n_items - 1e-9))
