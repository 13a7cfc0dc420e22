"""Sample statistics for ordinal CFA: thresholds, polychoric correlations and their asymptotic
covariance matrix (Muthén 1984), computed as lavaan 0.6 does for ``ordered`` data.

Everything is computed from each item's category counts and each pair's contingency table,
except the cross-products of the respondents' scores (the "meat" of the sandwich), which are
gathered from per-cell score tables in chunks of rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.distributions import bivariate_normal_cdf, normal_cdf
from analysis.polychoric import (
    bivariate_normal_density,
    cell_values,
    item_thresholds,
    log_likelihood_derivatives,
    with_infinite_ends,
)

__all__ = ["OrdinalStatistics", "ordinal_statistics"]

_CHUNK_ROWS = 8192
_NEWTON_STEPS = 50


@dataclass(frozen=True)
class OrdinalStatistics:
    """Thresholds, polychoric correlations and their asymptotic covariance (one group).

    Attributes
    ----------
    thresholds : ndarray
        Items x (categories - 1), +inf where an item has fewer categories than the widest one.
    n_thresholds : ndarray
        Thresholds per item (its categories minus one).
    correlation : ndarray
        Items x items polychoric correlations (two-step: thresholds fixed from the margins).
    gamma : ndarray
        lavaan's ``NACOV``: N times the sandwich covariance of the statistics, ordered as
        lavaan's ``WLS.obs``: the finite thresholds item by item, then the correlations of the
        pairs (0, 1), (0, 2), ..., (1, 2), ... (lavaan's ``vech(R, diagonal = FALSE)``).
    n : int
        Respondents.
    """

    thresholds: np.ndarray
    n_thresholds: np.ndarray
    correlation: np.ndarray
    gamma: np.ndarray
    n: int

    @property
    def observed(self) -> np.ndarray:
        """lavaan's ``WLS.obs``: finite thresholds, then the correlations of the pairs."""
        first, second = np.triu_indices(len(self.n_thresholds), k=1)
        return np.concatenate([self.finite_thresholds, self.correlation[first, second]])

    @property
    def finite_thresholds(self) -> np.ndarray:
        width = self.thresholds.shape[1]
        used = np.arange(width)[None, :] < self.n_thresholds[:, None]
        return self.thresholds[used]


def ordinal_statistics(codes: np.ndarray, n_categories: np.ndarray) -> OrdinalStatistics:
    """Thresholds, polychoric correlations and lavaan's ``NACOV`` of complete ordinal data.

    Parameters
    ----------
    codes : ndarray of int
        Respondents x items, each answer coded 0 .. ``n_categories[item] - 1``; no missing
        values (lavaan's listwise default), every category used.
    n_categories : ndarray of int
        Categories per item (at least 2).

    Returns
    -------
    OrdinalStatistics

    References
    ----------
    Muthén, B. (1984). A general structural equation model with dichotomous, ordered
    categorical, and continuous latent variable indicators. Psychometrika 49, 115-132.
    Olsson, U. (1979). Psychometrika 44, 443-460. R: ``lavaan:::muthen1984``,
    ``lavInspect(fit, "gamma")``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> latent = rng.multivariate_normal([0, 0, 0], 0.5 + 0.5 * np.eye(3), size=3000)
    >>> codes = np.digitize(latent, [-0.5, 0.5])
    >>> stats = ordinal_statistics(codes, np.array([3, 3, 3]))
    >>> round(float(stats.correlation[0, 1]), 1), stats.gamma.shape
    (0.5, (9, 9))
    """
    codes = np.asarray(codes, dtype=np.intp)
    n_categories = np.asarray(n_categories, dtype=np.intp)
    n_rows, n_items = codes.shape
    width = int(n_categories.max())
    counts = np.zeros((n_items, width))
    np.add.at(counts, (np.broadcast_to(np.arange(n_items), codes.shape), codes), 1.0)
    tau = _thresholds(counts, n_categories)
    tables = _pair_tables(codes, width)
    first, second = np.triu_indices(n_items, k=1)
    pair_tables = tables[first, :, second, :]
    bounds = with_infinite_ends(tau)
    row_h, col_k = bounds[first][:, :, None], bounds[second][:, None, :]
    rho = _polychoric(pair_tables, row_h, col_k)
    correlation = np.eye(n_items)
    correlation[first, second] = correlation[second, first] = rho
    gamma = _nacov(codes, counts, tau, bounds, pair_tables, rho, n_categories)
    return OrdinalStatistics(
        thresholds=tau,
        n_thresholds=n_categories - 1,
        correlation=correlation,
        gamma=gamma,
        n=n_rows,
    )


def _thresholds(counts: np.ndarray, n_categories: np.ndarray) -> np.ndarray:
    tau = item_thresholds(counts)
    used = np.arange(tau.shape[1])[None, :] < (n_categories - 1)[:, None]
    return np.where(used, tau, np.inf)


def _pair_tables(codes: np.ndarray, width: int) -> np.ndarray:
    """Counts[i, a, j, b]: respondents answering category a on item i and b on item j."""
    n_rows, n_items = codes.shape
    tables = np.zeros((n_items * width, n_items * width))
    offsets = np.arange(n_items) * width
    for start in range(0, n_rows, _CHUNK_ROWS):
        chunk = codes[start : start + _CHUNK_ROWS]
        one_hot = np.zeros((len(chunk), n_items * width))
        one_hot[np.arange(len(chunk))[:, None], offsets + chunk] = 1.0
        tables += one_hot.T @ one_hot
    return tables.reshape(n_items, width, n_items, width)


def _polychoric(tables: np.ndarray, row_h: np.ndarray, col_k: np.ndarray) -> np.ndarray:
    """Maximum-likelihood correlation of each pair given its thresholds (safeguarded Newton)."""
    n_pairs = len(tables)
    low, high = np.full(n_pairs, -0.999), np.full(n_pairs, 0.999)
    rho = np.zeros(n_pairs)
    for _ in range(_NEWTON_STEPS):
        gradient, curvature = log_likelihood_derivatives(rho, tables, row_h, col_k)
        low = np.where(gradient > 0, rho, low)
        high = np.where(gradient < 0, rho, high)
        newton = rho - gradient / np.where(curvature < 0, curvature, -1.0)
        inside = (curvature < 0) & (newton > low) & (newton < high)
        new_rho = np.where(inside, newton, (low + high) / 2)
        if np.max(np.abs(new_rho - rho)) < 1e-13:
            return new_rho
        rho = new_rho
    return rho


def _nacov(codes, counts, tau, bounds, tables, rho, n_categories) -> np.ndarray:
    """lavaan's NACOV: N B^-1 (sum of score cross-products) B^-T, B the Muthén bread."""
    n_rows, n_items = codes.shape
    width = counts.shape[1]
    first, second = np.triu_indices(n_items, k=1)
    n_pairs = len(first)
    used = np.arange(width - 1)[None, :] < (n_categories - 1)[:, None]
    th_index = np.full(used.shape, -1)
    th_index[used] = np.arange(int(used.sum()))
    n_th = int(used.sum())

    # univariate threshold scores per category: phi(tau_k) ([y == k] - [y == k + 1]) / p_y
    proportions = counts / n_rows
    phi_tau = np.where(used, _phi(tau), 0.0)  # items x (width - 1)
    category = np.arange(width)[:, None]
    step = np.arange(width - 1)[None, :]
    sign = (category == step).astype(float) - (category == step + 1).astype(float)
    safe_p = np.where(proportions > 0, proportions, 1.0)
    th_scores = phi_tau[:, None, :] * sign[None, :, :] / safe_p[:, :, None]  # item, cat, k

    # pair scores per cell
    r = rho[:, None, None]
    row_h, col_k = bounds[first][:, :, None], bounds[second][:, None, :]
    probability = cell_values(bivariate_normal_cdf(row_h, col_k, r))
    density, _ = bivariate_normal_density(row_h, col_k, r)
    safe = np.where(probability > 0, probability, 1.0)
    rho_scores = np.where(probability > 0, cell_values(density) / safe, 0.0)  # pair, a, b

    # A21: cross-products of the rho scores with the pair's threshold derivatives
    weighted = np.where(probability > 0, tables * rho_scores / safe, 0.0)
    row_slopes = _threshold_slopes(bounds[first], bounds[second], rho)  # pair, k, b
    col_slopes = _threshold_slopes(bounds[second], bounds[first], rho)  # pair, k, a
    a21_row = np.einsum("pkb,pkb->pk", row_slopes, weighted[:, :-1, :] - weighted[:, 1:, :])
    a21_col = np.einsum(
        "pka,pka->pk",
        col_slopes,
        np.transpose(weighted[:, :, :-1] - weighted[:, :, 1:], (0, 2, 1)),
    )
    a21 = np.zeros((n_pairs, n_th))
    for items_of_pair, slopes in ((first, a21_row), (second, a21_col)):
        pair, k = np.nonzero(used[items_of_pair])
        a21[pair, th_index[items_of_pair][pair, k]] = slopes[pair, k]

    # A11 (block diagonal per item) and A22 (diagonal), both outer products of scores
    a11 = np.zeros((n_th, n_th))
    per_item = np.einsum("ia,iak,ial->ikl", counts, th_scores, th_scores)
    for item in range(n_items):  # one small block per item
        index = th_index[item][used[item]]
        a11[np.ix_(index, index)] = per_item[item][np.ix_(used[item], used[item])]
    a22 = np.einsum("pab,pab->p", tables, rho_scores**2)

    inner = _score_crossproducts(codes, th_scores, used, rho_scores, first, second)
    a11_inv = np.linalg.inv(a11)
    a22_inv = 1.0 / a22
    bread_inv = np.zeros((n_th + n_pairs, n_th + n_pairs))
    bread_inv[:n_th, :n_th] = a11_inv
    bread_inv[n_th:, :n_th] = -(a22_inv[:, None] * a21) @ a11_inv
    bread_inv[n_th:, n_th:] = np.diag(a22_inv)
    return n_rows * bread_inv @ inner @ bread_inv.T


def _phi(x: np.ndarray) -> np.ndarray:
    finite = np.isfinite(x)
    xf = np.where(finite, x, 0.0)
    return np.where(finite, np.exp(-0.5 * xf**2) / np.sqrt(2 * np.pi), 0.0)


def _threshold_slopes(own: np.ndarray, other: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """d P(cell) / d tau_k of the own item: phi(tau_k) times the other item's band.

    ``own`` and ``other`` are the pairs' bounds (-inf, thresholds, +inf). Returns
    pair x k x (other category); zero for infinite (unused) thresholds.
    """
    tau = own[:, 1:-1]  # pair x k
    s = np.sqrt(1 - rho**2)[:, None, None]
    z = (
        other[:, None, :] - rho[:, None, None] * np.where(np.isfinite(tau), tau, 0)[:, :, None]
    ) / s
    band = np.diff(normal_cdf(z), axis=2)  # pair x k x other category
    return _phi(tau)[:, :, None] * band


def _score_crossproducts(codes, th_scores, used, rho_scores, first, second) -> np.ndarray:
    """Sum over respondents of the outer product of their stacked scores, in row chunks.

    Each respondent's score of a pair is looked up in the pair's cell table by one flat index
    (pair offset + a * width + b), which is cheaper than three-way fancy indexing.
    """
    n_rows, n_items = codes.shape
    width = rho_scores.shape[1]
    n_th = int(used.sum())
    size = n_th + len(first)
    inner = np.zeros((size, size))
    items = np.arange(n_items)
    rho_flat = rho_scores.ravel()
    pair_offset = (np.arange(len(first)) * width * width).astype(np.int32)
    small = codes.astype(np.int32)
    for start in range(0, n_rows, _CHUNK_ROWS):
        chunk = small[start : start + _CHUNK_ROWS]
        scores = np.empty((len(chunk), size))
        scores[:, :n_th] = th_scores[items, chunk][:, used]
        cells = chunk[:, first] * width + chunk[:, second] + pair_offset
        np.take(rho_flat, cells, out=scores[:, n_th:])
        inner += scores.T @ scores
    return inner
