"""Shared input handling for the psychometric functions: item responses as a float DataFrame,
or as a float array and item names (checked without pandas, see analysis._frames)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from analysis._frames import is_frame

if TYPE_CHECKING:
    import pandas as pd


def item_frame(data: pd.DataFrame | np.ndarray, *, min_items: int = 1) -> pd.DataFrame:
    """Return ``data`` as a float DataFrame with one column per item, or raise ``ValueError``.

    Arrays get the column names ``item_1 .. item_k``. Missing answers stay NaN; infinite
    values and non-numeric columns are rejected with the offending column named.
    """
    import pandas as pd  # imported here, not with analysis: see analysis._frames

    if not isinstance(data, pd.DataFrame):
        values, names = item_values(data, min_items=min_items)
        return pd.DataFrame(values, columns=list(names))
    frame = data
    non_numeric = [str(c) for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if non_numeric:
        raise ValueError(f"item columns must be numeric; not numeric: {non_numeric}")
    if frame.shape[1] < min_items:
        raise ValueError(f"need at least {min_items} item columns, got {frame.shape[1]}")
    values = frame.to_numpy(dtype=float, na_value=np.nan)
    infinite = np.isinf(values).any(axis=0)
    if infinite.any():
        raise ValueError(f"infinite values in items {list(frame.columns[infinite].astype(str))}")
    return pd.DataFrame(values, index=frame.index, columns=frame.columns.astype(str))


def item_values(
    data: pd.DataFrame | np.ndarray, *, items: Sequence[str] | None = None, min_items: int = 1
) -> tuple[np.ndarray, tuple[str, ...]]:
    """``data`` as a float array, one column per item, and the item names, with the checks and
    messages of :func:`item_frame`; an array is checked as an array, without pandas.

    ``items`` names an array's columns (default ``item_1 .. item_k``); a DataFrame's columns
    are its names.
    """
    if is_frame(data):
        frame = item_frame(data, min_items=min_items)
        return frame.to_numpy(), tuple(frame.columns)
    array = np.asarray(data)
    if array.ndim != 2:
        raise ValueError(f"data must be 2-D (respondents x items), got {array.ndim} dimensions")
    names = tuple(f"item_{i + 1}" for i in range(array.shape[1])) if items is None else items
    if len(names) != array.shape[1]:
        raise ValueError(f"{len(names)} item names for an array of {array.shape[1]} columns")
    names = tuple(str(name) for name in names)
    if array.dtype.kind not in "biuf":
        raise ValueError(f"item columns must be numeric; not numeric: {list(names)}")
    if len(names) < min_items:
        raise ValueError(f"need at least {min_items} item columns, got {len(names)}")
    values = array.astype(float)
    infinite = np.isinf(values).any(axis=0)
    if infinite.any():
        raise ValueError(f"infinite values in items {[names[i] for i in np.flatnonzero(infinite)]}")
    return values, names


def response_range_of(response_range: tuple[int, int] | None) -> tuple[float, float] | None:
    """Validate an optional ``(min, max)`` response range."""
    if response_range is None:
        return None
    try:
        low, high = (float(v) for v in response_range)
    except (TypeError, ValueError):
        raise ValueError(f"response_range must be (min, max), got {response_range!r}") from None
    if not low < high:
        raise ValueError(f"response_range must have min < max, got {response_range!r}")
    return low, high
