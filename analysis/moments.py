"""Pairwise-complete moments of item responses, accumulated chunk by chunk.

Everything the reliability and factor workup needs from the raw data (pairwise covariances and
correlations, item means, response counts) follows from a handful of sums that add up across
chunks, so a million responses can be analysed in constant memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from analysis._blas import one_blas_thread


@dataclass
class PairwiseMoments:
    """Running sums over rows for every pair of items, missing values (NaN) left out pairwise.

    Parameters
    ----------
    items : sequence of str
        The item names, in column order of every chunk passed to :meth:`update`.
    values : sequence of int, optional
        The response values to count for the response distribution (for example 1..5).
    groups : mapping of str to sequence of str, optional
        Sets of items (scales) for which to count the rows with at least one answer, the ``n``
        that psych's Feldt interval uses.

    Notes
    -----
    For items i and j, ``n[i, j]`` counts rows where both are present, ``sum_x[i, j]`` and
    ``sum_xx[i, j]`` sum x_i and x_i**2 over those rows, and ``sum_xy[i, j]`` sums x_i * x_j.
    The sums are of x minus ``shift``, the item means of the first chunk: the statistics do not
    depend on the shift, and centring keeps the differences of large sums exact (with a single
    chunk, these are the usual centred sums).
    These give R's ``cov(x, use = "pairwise")`` and ``cor(x, use = "pairwise")`` exactly
    (pair-specific means and variances), which is what ``psych::alpha`` and ``psych::fa`` use.

    Examples
    --------
    >>> import numpy as np
    >>> moments = PairwiseMoments(items=("a", "b"))
    >>> moments.update(np.array([[1.0, 2.0], [2.0, np.nan]]))
    >>> moments.update(np.array([[3.0, 4.0], [5.0, 5.0]]))
    >>> moments.n_rows, moments.n_pairwise.tolist()
    (4, [[4, 3], [3, 3]])
    >>> round(float(moments.correlation()[0, 1]), 4)
    0.982
    """

    items: tuple[str, ...]
    values: tuple[int, ...] = ()
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)
    n_rows: int = 0
    n_pairwise: np.ndarray = field(init=False, repr=False)
    sum_x: np.ndarray = field(init=False, repr=False)
    sum_xx: np.ndarray = field(init=False, repr=False)
    sum_xy: np.ndarray = field(init=False, repr=False)
    counts: np.ndarray = field(init=False, repr=False)
    shift: np.ndarray | None = field(init=False, default=None, repr=False)
    rows_answering: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.items = tuple(self.items)
        column = {item: j for j, item in enumerate(self.items)}
        unknown = sorted({i for members in self.groups.values() for i in members} - set(column))
        if unknown:
            raise ValueError(f"groups name items that are not among the items: {unknown}")
        self._group_columns = {
            name: [column[item] for item in members] for name, members in self.groups.items()
        }
        self.rows_answering = dict.fromkeys(self.groups, 0)
        self.values = tuple(int(v) for v in self.values)
        p = len(self.items)
        if p == 0:
            raise ValueError("PairwiseMoments needs at least one item")
        self.n_pairwise = np.zeros((p, p), dtype=np.int64)
        self.sum_x = np.zeros((p, p))
        self.sum_xx = np.zeros((p, p))
        self.sum_xy = np.zeros((p, p))
        self.counts = np.zeros((p, len(self.values)), dtype=np.int64)

    def update(self, chunk: np.ndarray) -> None:
        """Add a chunk of rows (a float array, NaN where an answer is missing)."""
        chunk = np.asarray(chunk, dtype=float)
        if chunk.ndim != 2 or chunk.shape[1] != len(self.items):
            raise ValueError(
                f"chunk has shape {chunk.shape}; expected (rows, {len(self.items)}) for the items"
            )
        present = ~np.isnan(chunk)
        mask = present.astype(float)
        if self.shift is None:
            answered = present.sum(axis=0)
            totals = np.where(present, chunk, 0.0).sum(axis=0)
            self.shift = np.where(answered > 0, totals / np.maximum(answered, 1), 0.0)
        filled = np.where(present, chunk - self.shift, 0.0)
        self.n_rows += chunk.shape[0]
        with one_blas_thread():
            self.n_pairwise += (mask.T @ mask).astype(np.int64)
            self.sum_x += filled.T @ mask
            self.sum_xx += (filled * filled).T @ mask
            self.sum_xy += filled.T @ filled
        for k, value in enumerate(self.values):
            self.counts[:, k] += (chunk == value).sum(axis=0)
        self._count_rows_answering(present)

    def _count_rows_answering(self, answered: np.ndarray) -> None:
        for name, columns in self._group_columns.items():
            self.rows_answering[name] += int(answered[:, columns].any(axis=1).sum())

    def update_from_pair_counts(self, counts: np.ndarray, values, answered: np.ndarray) -> None:
        """Add rows given by their pair tables instead of the rows themselves.

        ``counts[i * K + a, j * K + b]`` counts the rows answering ``values[a]`` to item ``i``
        and ``values[b]`` to item ``j`` (as :class:`analysis.pair_tables.PairTables` holds
        them); ``answered`` marks the answers given (rows x items), for the rows with an answer
        in each group. Tables of integer answers hold every sum this class keeps, so a workup
        that counts them (for the polychoric correlations, or as the cheaper pass over Likert
        answers) makes one pass over the rows, not two.

        Examples
        --------
        >>> import numpy as np
        >>> from analysis.pair_tables import PairTables
        >>> rows = np.array([[1.0, 2.0], [2.0, np.nan], [3.0, 3.0]])
        >>> tables = PairTables(items=("a", "b"), values=(1, 2, 3))
        >>> tables.update(rows)
        >>> moments = PairwiseMoments(items=("a", "b"))
        >>> moments.update_from_pair_counts(tables.counts, tables.values, ~np.isnan(rows))
        >>> bool(np.allclose(moments.covariance(), pairwise_covariance(rows)))
        True
        """
        p, k = len(self.items), len(values)
        by_pair = np.asarray(counts, dtype=float).reshape(p, k, p, k)
        answers = np.asarray(values, dtype=float)
        own = np.einsum("iaia->ia", by_pair)
        if self.shift is None:
            n_answers = own.sum(axis=1)
            self.shift = np.where(n_answers > 0, own @ answers / np.maximum(n_answers, 1), 0.0)
        centred = answers[None, :] - self.shift[:, None]  # item i's answers minus its shift
        first_given_second = by_pair.sum(axis=3)  # [i, a, j]: answer a to i, j answered
        self.n_rows += len(answered)
        self.n_pairwise += np.rint(first_given_second.sum(axis=1)).astype(np.int64)
        self.sum_x += np.einsum("ia,iaj->ij", centred, first_given_second)
        self.sum_xx += np.einsum("ia,iaj->ij", centred**2, first_given_second)
        self.sum_xy += np.einsum("ia,iajb,jb->ij", centred, by_pair, centred, optimize=True)
        column = {int(value): a for a, value in enumerate(values)}
        for position, value in enumerate(self.values):
            if value in column:
                self.counts[:, position] += np.rint(own[:, column[value]]).astype(np.int64)
        self._count_rows_answering(answered)

    @property
    def n_items(self) -> np.ndarray:
        """Respondents who answered each item."""
        return np.diag(self.n_pairwise).copy()

    def means(self) -> np.ndarray:
        n = self.n_items
        shift = np.zeros(len(self.items)) if self.shift is None else self.shift
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n > 0, np.diag(self.sum_x) / n + shift, np.nan)

    def covariance(self) -> np.ndarray:
        """Pairwise-complete covariances with pair-specific means (denominator n - 1)."""
        n = self.n_pairwise.astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            cross = self.sum_xy - self.sum_x * self.sum_x.T / n
            return np.where(n > 1, cross / (n - 1), np.nan)

    def correlation(self) -> np.ndarray:
        """Pairwise-complete correlations with pair-specific variances, as R's ``cor``."""
        n = self.n_pairwise.astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            cross = self.sum_xy - self.sum_x * self.sum_x.T / n
            squares = self.sum_xx - self.sum_x**2 / n
            corr = cross / np.sqrt(squares * squares.T)
        np.fill_diagonal(corr, 1.0)
        return corr

    def standard_deviations(self) -> np.ndarray:
        return np.sqrt(np.diag(self.covariance()))


def pairwise_covariance(values: np.ndarray) -> np.ndarray:
    """R's ``cov(x, use = "pairwise")`` of one array of rows (NaN where missing).

    Examples
    --------
    >>> import numpy as np
    >>> pairwise_covariance(np.array([[1.0, 2.0], [2.0, np.nan], [3.0, 4.0]])).tolist()
    [[1.0, 2.0], [2.0, 2.0]]
    """
    values = np.asarray(values, dtype=float)
    if not np.isnan(values).any():
        return np.cov(values, rowvar=False)
    return _moments_of(values).covariance()


def pairwise_correlation(values: np.ndarray) -> np.ndarray:
    """R's ``cor(x, use = "pairwise")`` of one array of rows: each correlation uses the means
    and SDs of its own complete pairs (so it is not ``cov2cor`` of the pairwise covariances).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1.0, 2.0], [2.0, np.nan], [3.0, 5.0], [4.0, 5.0]])
    >>> round(float(pairwise_correlation(x)[0, 1]), 4)
    0.9449
    """
    values = np.asarray(values, dtype=float)
    if not np.isnan(values).any():
        return np.corrcoef(values, rowvar=False)
    return _moments_of(values).correlation()


def _moments_of(values: np.ndarray) -> PairwiseMoments:
    moments = PairwiseMoments(items=tuple(map(str, range(values.shape[1]))))
    moments.update(values)
    return moments
