"""DataFrame and Series views of results that are held as NumPy arrays and labels.

pandas is imported on first use, not with ``analysis``: the workup of a file of answers
(``healing-survey analyze DATA.csv``) never needs it, and importing it took 0.15-0.2 s, a third
of a 100,000-row ordinal run (measured December 2026). Results keep their arrays; the
DataFrame attributes that users of the Python API know are built from them when first read.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd


def labelled_frame(values: np.ndarray, index: Sequence, columns: Sequence) -> pd.DataFrame:
    """``values`` as a DataFrame with these row and column labels."""
    import pandas as pd

    return pd.DataFrame(values, index=pd.Index(list(index)), columns=list(columns))


def labelled_series(values: np.ndarray, index: Sequence, name: str | None = None) -> pd.Series:
    """``values`` as a Series with these labels."""
    import pandas as pd

    return pd.Series(values, index=pd.Index(list(index)), name=name)


def is_frame(data: object) -> bool:
    """Whether ``data`` is a pandas DataFrame, without importing pandas for an array: if pandas
    has not been imported, nothing can be a DataFrame."""
    pd = sys.modules.get("pandas")
    return pd is not None and isinstance(data, pd.DataFrame)
