"""Shared input handling for the psychometric functions: item responses as a float DataFrame."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd


def item_frame(data: pd.DataFrame | np.ndarray, *, min_items: int = 1) -> pd.DataFrame:
    """Return ``data`` as a float DataFrame with one column per item, or raise ``ValueError``.

    Arrays get the column names ``item_1 .. item_k``. Missing answers stay NaN; infinite
    values and non-numeric columns are rejected with the offending column named.
    """
    import pandas as pd  # imported here, not with analysis: see analysis._frames

    if isinstance(data, pd.DataFrame):
        frame = data
    else:
        array = np.asarray(data)
        if array.ndim != 2:
            raise ValueError(f"data must be 2-D (respondents x items), got {array.ndim} dimensions")
        frame = pd.DataFrame(array, columns=[f"item_{i + 1}" for i in range(array.shape[1])])
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
