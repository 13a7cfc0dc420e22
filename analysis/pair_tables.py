"""Contingency tables of every pair of items, counted in NumPy alone.

They hold everything the two-step polychoric estimator and the pairwise moments of integer
answers need (``analysis.polychoric``, ``analysis.moments``): the workup's one pass over the
rows of integer answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from analysis._blas import one_blas_thread

_BLOCK_ROWS = 1 << 13  # rows per matrix product: 5 MB of float32 for 30 items x 5 answers
# Answers per item up to which one-hot tables are the cheapest pass over the rows (see
# analysis.workup); their cost grows with the square of the number of values.
MAX_TABLE_VALUES = 8


@dataclass
class PairTables:
    """Contingency tables of every pair of items, accumulated chunk by chunk.

    The tables (and the rows counted) are all the two-step polychoric estimator needs, so
    :func:`polychoric_from_tables` gives exactly :func:`polychoric` of the rows behind them,
    while memory stays that of one chunk (``healing-survey analyze --from-db --ordinal``).

    Parameters
    ----------
    items : sequence of str
        The item names, in column order of every chunk.
    values : sequence of int
        Every answer that may occur (for example 1..5); another answer is refused.

    Notes
    -----
    ``counts[i * K + a, j * K + b]`` counts the rows answering ``values[a]`` to item ``i`` and
    ``values[b]`` to item ``j`` (K values). A chunk's tables are one matrix product of its
    one-hot indicator matrix with itself, in float32 on blocks of 8,192 rows: every
    partial sum is then an integer below 2**24, which float32 holds exactly.

    Examples
    --------
    >>> import numpy as np
    >>> tables = PairTables(items=("a", "b"), values=(1, 2))
    >>> tables.update(np.array([[1.0, 1.0], [2.0, np.nan]]))
    >>> tables.update(np.array([[2.0, 2.0], [1.0, 2.0]]))
    >>> tables.n_rows, tables.table("a", "b").tolist()
    (4, [[1, 1], [0, 1]])
    """

    items: tuple[str, ...]
    values: tuple[int, ...]
    n_rows: int = 0
    counts: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.items = tuple(str(item) for item in self.items)
        self.values = tuple(int(v) for v in self.values)
        if len(self.items) < 2:
            raise ValueError(f"PairTables needs at least two items, got {len(self.items)}")
        if len(self.values) < 2 or list(self.values) != sorted(set(self.values)):
            raise ValueError(f"values must be at least two increasing integers: {self.values}")
        size = len(self.items) * len(self.values)
        self.counts = np.zeros((size, size), dtype=np.int64)

    def update(self, chunk: np.ndarray) -> None:
        """Add a chunk of rows (a float array, NaN where an answer is missing)."""
        chunk = np.asarray(chunk, dtype=float)
        if chunk.ndim != 2 or chunk.shape[1] != len(self.items):
            raise ValueError(
                f"chunk has shape {chunk.shape}; expected (rows, {len(self.items)}) for the items"
            )
        p, k = len(self.items), len(self.values)
        # Laid out value-major ([row, value, item]) so that each value's indicators are one
        # comparison into contiguous memory (a third faster than comparing against all values
        # at once); reordered to item-major once at the end.
        one_hot = np.empty((min(len(chunk), _BLOCK_ROWS), k, p), dtype=np.float32)
        value_major = np.zeros((p * k, p * k))
        with one_blas_thread():
            for start in range(0, len(chunk), _BLOCK_ROWS):
                block = chunk[start : start + _BLOCK_ROWS]
                indicators = one_hot[: len(block)]
                for position, value in enumerate(self.values):
                    np.equal(block, value, out=indicators[:, position, :], casting="unsafe")
                flat = indicators.reshape(len(block), -1)
                value_major += flat.T @ flat
        order = (np.arange(p)[:, None] + p * np.arange(k)[None, :]).ravel()
        counts = np.rint(value_major[np.ix_(order, order)]).astype(np.int64)
        # Every answer matched one value unless some answer is not among the values.
        matched = np.diag(counts).reshape(p, k).sum(axis=1)
        if (matched != (~np.isnan(chunk)).sum(axis=0)).any():
            self._refuse_unknown_answer(chunk)
        self.counts += counts
        self.n_rows += len(chunk)

    def _refuse_unknown_answer(self, chunk: np.ndarray) -> None:
        bad = ~np.isnan(chunk) & ~np.isin(chunk, self.values)
        row, col = (int(i[0]) for i in np.nonzero(bad))
        answer = chunk[row, col]
        integer = "" if float(answer).is_integer() else "polychoric needs integer answers; "
        raise ValueError(
            f"{integer}item {self.items[col]!r} has the answer {answer:g}; expected one of "
            f"{', '.join(map(str, self.values))}"
        )

    def answer_counts(self) -> np.ndarray:
        """How often each item (rows) got each value (columns): the tables' diagonal."""
        return np.diag(self.counts).reshape(len(self.items), len(self.values))

    def table(self, first: str, second: str) -> np.ndarray:
        """The contingency table of two items (rows: answers to ``first``)."""
        k = len(self.values)
        i, j = self.items.index(first), self.items.index(second)
        return self.counts[i * k : (i + 1) * k, j * k : (j + 1) * k].copy()
