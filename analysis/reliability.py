"""Internal consistency: Cronbach's alpha, item-deleted statistics and McDonald's omega.

The numbers reproduce R psych 2.2.9: ``alpha()`` (pairwise-complete covariances by default),
``alpha.ci()`` (Feldt bounds) and ``omega()`` (minres factors, oblimin, Schmid-Leiman).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from analysis._blas import one_blas_thread
from analysis._frames import labelled_frame, labelled_series
from analysis._input import item_frame
from analysis._spec import keyed_responses, read_scales
from analysis.distributions import f_quantile
from analysis.factors import _extract, oblimin
from analysis.moments import PairwiseMoments, pairwise_correlation, pairwise_covariance

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "AlphaResult",
    "ItemReliability",
    "OmegaResult",
    "ScaleReliability",
    "ScaleReliabilityResult",
    "cronbach_alpha",
    "item_reliability",
    "omega",
    "omega_from_correlation",
    "omega_total",
    "scale_reliability",
    "scale_reliability_from_moments",
]

_MISSING = ("pairwise", "listwise")
_CI_METHODS = ("feldt", "bootstrap")
_ITEM_COLUMNS = ("r_drop", "alpha_if_deleted", "std_alpha_if_deleted", "mean", "sd")


@dataclass(frozen=True)
class AlphaResult:
    """Cronbach's alpha of one scale.

    Attributes
    ----------
    alpha : float
        Raw alpha from the item covariance matrix (psych ``raw_alpha``).
    std_alpha : float
        Alpha of the standardized items (psych ``std.alpha``).
    ci : (float, float)
        Lower and upper confidence bound for ``alpha``.
    ci_method : str
        ``"feldt"`` or ``"bootstrap"`` (percentile).
    ci_level : float
        Coverage of ``ci``, e.g. 0.95.
    n : int
        Respondents used: rows with at least one answer (pairwise) or complete rows (listwise).
    n_items : int
        Items in the scale.
    average_r : float
        Mean inter-item correlation (psych ``average_r``).
    missing : str
        ``"pairwise"`` or ``"listwise"``.
    """

    alpha: float
    std_alpha: float
    ci: tuple[float, float]
    ci_method: str
    ci_level: float
    n: int
    n_items: int
    average_r: float
    missing: str

    def to_dict(self) -> dict:
        """JSON-ready dictionary of all fields."""
        return {
            "alpha": self.alpha,
            "std_alpha": self.std_alpha,
            "ci": list(self.ci),
            "ci_method": self.ci_method,
            "ci_level": self.ci_level,
            "n": self.n,
            "n_items": self.n_items,
            "average_r": self.average_r,
            "missing": self.missing,
        }


@dataclass(frozen=True)
class ItemReliability:
    """Item statistics of one scale.

    Attributes
    ----------
    items : tuple of str
        The scale's items, in the order of every array.
    r_drop : ndarray
        Correlation of each item with the sum of the other items (psych ``r.drop``).
    alpha_if_deleted, std_alpha_if_deleted : ndarray
        Raw and standardized alpha of the scale without the item (psych
        ``alpha.drop$raw_alpha`` and ``alpha.drop$std.alpha``); NaN for scales of two items.
    mean, sd : ndarray
        Mean and SD of each (reverse-scored) item.
    table : DataFrame
        The arrays as one row per item with the columns ``r_drop``, ``alpha_if_deleted``,
        ``std_alpha_if_deleted``, ``mean`` and ``sd``.
    """

    items: tuple[str, ...]
    r_drop: np.ndarray
    alpha_if_deleted: np.ndarray
    std_alpha_if_deleted: np.ndarray
    mean: np.ndarray
    sd: np.ndarray

    @cached_property
    def table(self) -> pd.DataFrame:
        """One row per item: ``r_drop``, ``alpha_if_deleted``, ``std_alpha_if_deleted``,
        ``mean`` and ``sd``."""
        return labelled_frame(self._table_values(), self.items, _ITEM_COLUMNS)

    def to_dict(self) -> dict:
        """``{item: {r_drop, alpha_if_deleted, std_alpha_if_deleted, mean, sd}}``."""
        return {
            str(item): {key: _plain(value) for key, value in zip(_ITEM_COLUMNS, row, strict=True)}
            for item, row in zip(self.items, self._table_values(), strict=True)
        }

    def _table_values(self) -> np.ndarray:
        return np.column_stack([getattr(self, column) for column in _ITEM_COLUMNS])


@dataclass(frozen=True)
class OmegaResult:
    """McDonald's omega from a Schmid-Leiman transformation (psych ``omega``).

    Attributes
    ----------
    omega_hierarchical : float
        Share of total-score variance due to the general factor (psych ``omega_h``).
    omega_total : float
        Share of total-score variance due to all common factors (psych ``omega.tot``).
    explained_common_variance : float
        General-factor share of the common variance (psych ``ECV``).
    items : tuple of str
        Item names, in the order of the loading arrays.
    general_loading_vector : ndarray
        Loadings on the general factor (psych ``schmid$sl[, "g"]``), one per item.
    group_loading_matrix : ndarray
        Residualized group-factor loadings, items in rows, ``F1* .. Fk*`` in columns.
    communality_vector : ndarray
        ``h2`` of each item.
    reversed_items : tuple of str
        Items with a negative general loading, reversed before the omegas (psych ``flip``).
    n_factors : int
        Group factors extracted.
    n : int
        Respondents (rows) in the data.
    general_loadings : Series
        ``general_loading_vector`` by item, named ``g``.
    group_loadings : DataFrame
        ``group_loading_matrix`` with the items as rows and ``F1* .. Fk*`` as columns.
    communalities : Series
        ``communality_vector`` by item, named ``h2``.
    """

    omega_hierarchical: float
    omega_total: float
    explained_common_variance: float
    items: tuple[str, ...]
    general_loading_vector: np.ndarray
    group_loading_matrix: np.ndarray
    communality_vector: np.ndarray
    reversed_items: tuple[str, ...]
    n_factors: int
    n: int

    @cached_property
    def general_loadings(self) -> pd.Series:
        """Loadings on the general factor by item."""
        return labelled_series(self.general_loading_vector, self.items, name="g")

    @cached_property
    def group_loadings(self) -> pd.DataFrame:
        """Residualized group-factor loadings, columns ``F1* .. Fk*``."""
        factors = [f"F{i + 1}*" for i in range(self.group_loading_matrix.shape[1])]
        return labelled_frame(self.group_loading_matrix, self.items, factors)

    @cached_property
    def communalities(self) -> pd.Series:
        """``h2`` by item."""
        return labelled_series(self.communality_vector, self.items, name="h2")

    def to_dict(self) -> dict:
        """JSON-ready dictionary; loadings as ``{item: value}`` / ``{item: [values]}``."""
        items = [str(item) for item in self.items]
        return {
            "omega_hierarchical": self.omega_hierarchical,
            "omega_total": self.omega_total,
            "explained_common_variance": self.explained_common_variance,
            "general_loadings": dict(zip(items, self.general_loading_vector.tolist(), strict=True)),
            "group_loadings": dict(zip(items, self.group_loading_matrix.tolist(), strict=True)),
            "communalities": dict(zip(items, self.communality_vector.tolist(), strict=True)),
            "reversed_items": list(self.reversed_items),
            "n_factors": self.n_factors,
            "n": self.n,
        }


@dataclass(frozen=True)
class ScaleReliability:
    """Reliability of one scale, the ``scales.<name>`` record of ``analyze --json``."""

    n_items: int
    alpha: float
    alpha_ci: tuple[float, float]
    std_alpha: float
    omega_total: float
    items: ItemReliability

    def to_dict(self) -> dict:
        """The ``scales.<name>`` keys of ``analyze --json``; NaN becomes None.

        ``{n_items, alpha, alpha_ci, std_alpha, omega_total,
        items: {item: {mean, sd, r_drop, alpha_if_deleted}}}``
        """
        columns = ("mean", "sd", "r_drop", "alpha_if_deleted")
        return {
            "n_items": self.n_items,
            "alpha": _plain(self.alpha),
            "alpha_ci": [_plain(v) for v in self.alpha_ci],
            "std_alpha": _plain(self.std_alpha),
            "omega_total": _plain(self.omega_total),
            "items": {
                item: {key: record[key] for key in columns}
                for item, record in self.items.to_dict().items()
            },
        }


@dataclass(frozen=True)
class ScaleReliabilityResult:
    """Reliability of every scale of a specification, in the specification's order."""

    scales: dict[str, ScaleReliability]

    def to_dict(self) -> dict:
        """``{scale name: ScaleReliability.to_dict()}``."""
        return {name: result.to_dict() for name, result in self.scales.items()}


def cronbach_alpha(
    data: pd.DataFrame | np.ndarray,
    *,
    ci: float = 0.95,
    ci_method: str = "feldt",
    n_boot: int = 1000,
    seed: int | np.random.Generator | None = None,
    missing: str = "pairwise",
) -> AlphaResult:
    """Cronbach's alpha with a Feldt or bootstrap confidence interval.

    Parameters
    ----------
    data : DataFrame or 2-D array
        Respondents in rows, the scale's items in columns (already reverse-keyed).
    ci : float, default 0.95
        Confidence level.
    ci_method : {"feldt", "bootstrap"}
        Feldt's F-distribution bounds (psych ``alpha.ci``, as ``alpha()$feldt``) or a
        percentile bootstrap over respondents.
    n_boot : int, default 1000
        Bootstrap resamples.
    seed : int or numpy Generator, optional
        Seed of the bootstrap.
    missing : {"pairwise", "listwise"}
        Pairwise-complete covariances (psych's default ``use="pairwise"``) or complete rows.

    Returns
    -------
    AlphaResult

    Notes
    -----
    Rows without any answer are dropped first; psych counts them in the ``n`` of the Feldt
    bounds. Items without variance raise ``ValueError``.

    References
    ----------
    Cronbach, L. J. (1951). Psychometrika 16, 297-334. Feldt, L. S., Woodruff, D. J. &
    Salih, F. A. (1987). Applied Psychological Measurement 11, 93-103. R: ``psych::alpha``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1, 2, 2], [2, 2, 3], [3, 4, 4], [4, 4, 5], [5, 5, 5]])
    >>> round(cronbach_alpha(x).alpha, 4)
    0.9767
    """
    frame = _scale_frame(data, missing=missing)
    _check_ci(ci, ci_method, n_boot)
    values = frame.to_numpy()
    cov = pairwise_covariance(values)
    raw, std, average_r = _alpha_from_cov(cov)
    n, k = values.shape
    if ci_method == "feldt":
        bounds = _feldt(raw, n, k, ci)
    else:
        bounds = _bootstrap_ci(values, ci=ci, n_boot=n_boot, seed=seed)
    return AlphaResult(
        alpha=raw,
        std_alpha=std,
        ci=bounds,
        ci_method=ci_method,
        ci_level=ci,
        n=n,
        n_items=k,
        average_r=average_r,
        missing=missing,
    )


def item_reliability(
    data: pd.DataFrame | np.ndarray, *, missing: str = "pairwise"
) -> ItemReliability:
    """Corrected item-total correlations and alpha if each item were deleted.

    Parameters
    ----------
    data : DataFrame or 2-D array
        Respondents in rows, the scale's items in columns (already reverse-keyed).
    missing : {"pairwise", "listwise"}
        As in :func:`cronbach_alpha`.

    Returns
    -------
    ItemReliability

    References
    ----------
    R: ``psych::alpha(x)$item.stats`` (``r.drop``, ``mean``, ``sd``) and ``$alpha.drop``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1, 2, 2], [2, 2, 3], [3, 4, 4], [4, 4, 5], [5, 5, 5]])
    >>> item_reliability(x).table["r_drop"].round(3).tolist()
    [0.977, 0.937, 0.958]
    """
    frame = _scale_frame(data, missing=missing)
    values = frame.to_numpy()
    answered = ~np.isnan(values)
    centered = np.where(answered, values - np.nanmean(values, axis=0), 0.0)
    counts = answered.sum(axis=0)
    return _item_table(
        pairwise_covariance(values),
        means=np.nanmean(values, axis=0),
        sds=np.sqrt((centered**2).sum(axis=0) / (counts - 1)),
        items=tuple(frame.columns),
    )


def _item_table(cov: np.ndarray, *, means, sds, items) -> ItemReliability:
    """r.drop and alpha if deleted from a scale's (pairwise) covariance matrix."""
    k = cov.shape[0]
    variances = np.diag(cov)
    total = cov.sum()
    row_sums = cov.sum(axis=1)
    rest_total = total - 2 * row_sums + variances
    r_drop = (row_sums - variances) / np.sqrt(variances * rest_total)
    corr = _cov_to_corr(cov)
    rest_corr_total = corr.sum() - 2 * corr.sum(axis=1) + 1
    if k > 2:
        alpha_drop = (1 - (variances.sum() - variances) / rest_total) * (k - 1) / (k - 2)
        std_drop = (1 - (k - 1) / rest_corr_total) * (k - 1) / (k - 2)
    else:
        alpha_drop = std_drop = np.full(k, np.nan)
    return ItemReliability(
        items=tuple(items),
        r_drop=r_drop,
        alpha_if_deleted=alpha_drop,
        std_alpha_if_deleted=std_drop,
        mean=np.asarray(means, dtype=float),
        sd=np.asarray(sds, dtype=float),
    )


def omega_total(data: pd.DataFrame | np.ndarray) -> float:
    """McDonald's omega total of one scale from a one-factor minres solution.

    Reproduces ``psych::omega(x, nfactors=1)$omega.tot``: the correlation matrix ``R``
    (pairwise complete), one minres factor with loadings ``l``, items with a negative loading
    reversed, and omega total = ``(sum(R) - sum(1 - l^2)) / sum(R)``.

    Parameters
    ----------
    data : DataFrame or 2-D array
        Respondents in rows, at least three items in columns.

    Returns
    -------
    float

    References
    ----------
    McDonald, R. P. (1999). Test theory: a unified treatment. R: ``psych::omega``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> common = rng.normal(size=(500, 1))
    >>> x = common + rng.normal(size=(500, 4))
    >>> round(omega_total(x), 2)
    0.78
    """
    frame = _scale_frame(data, missing="pairwise", min_items=3)
    return _omega_total_from_correlation(pairwise_correlation(frame.to_numpy()))


def _omega_total_from_correlation(corr: np.ndarray) -> float:
    with one_blas_thread():
        loadings = _minres(corr, 1)[:, 0]
    key = np.where(loadings < 0, -1.0, 1.0)
    flipped = corr * np.outer(key, key)
    total = flipped.sum()
    return float((total - np.sum(1 - loadings**2)) / total)


def omega(
    data: pd.DataFrame | np.ndarray,
    *,
    n_factors: int = 3,
    fm: str = "minres",
    rotation: str = "oblimin",
) -> OmegaResult:
    """Omega hierarchical and total from a Schmid-Leiman transformation (psych ``omega``).

    Steps as psych 2.2.9: pairwise-complete correlations; ``n_factors`` minres factors;
    varimax (``stats::varimax``) then oblimin (GPArotation, gamma 0) starting from it;
    one minres factor of the factor correlations gives the general loadings (two group
    factors: equal loadings ``sqrt(|phi_12|)``); items with negative general loadings are
    reversed (psych's ``flip``).

    Parameters
    ----------
    data : DataFrame or 2-D array
        Respondents in rows, the items of the whole instrument in columns.
    n_factors : int, default 3
        Group factors.
    fm : {"minres"}
        Factoring method; only minres (psych's default) is implemented.
    rotation : {"oblimin"}
        Oblique rotation; only oblimin (psych's default) is implemented.

    Returns
    -------
    OmegaResult

    References
    ----------
    Schmid, J. & Leiman, J. M. (1957). Psychometrika 22, 53-61. Zinbarg, R. E., Revelle, W.,
    Yovel, I. & Li, W. (2005). Psychometrika 70, 123-133. R: ``psych::omega``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(2)
    >>> g, groups = rng.normal(size=(800, 1)), rng.normal(size=(800, 3))
    >>> x = 0.6 * g + 0.5 * np.repeat(groups, 3, axis=1) + 0.6 * rng.normal(size=(800, 9))
    >>> result = omega(x, n_factors=3)
    >>> result.omega_hierarchical < result.omega_total
    True
    """
    frame = _scale_frame(data, missing="pairwise", min_items=3)
    _check_omega_options(n_factors, fm, rotation, frame.shape[1])
    corr = pairwise_correlation(frame.to_numpy())
    return omega_from_correlation(
        corr, items=tuple(frame.columns), n=len(frame), n_factors=n_factors
    )


def omega_from_correlation(
    corr: np.ndarray, *, items: Iterable[str], n: int, n_factors: int = 3
) -> OmegaResult:
    """:func:`omega` from a correlation matrix (pairwise complete, as ``omega`` computes it).

    Parameters
    ----------
    corr : 2-D array
        Item correlation matrix.
    items : iterable of str
        Item names in the order of ``corr``.
    n : int
        Respondents behind ``corr`` (reported only).
    n_factors : int, default 3
        Group factors of the Schmid-Leiman solution.

    Returns
    -------
    OmegaResult

    Examples
    --------
    >>> import numpy as np
    >>> r = np.full((6, 6), 0.3) + np.kron(np.eye(2), np.full((3, 3), 0.2))
    >>> np.fill_diagonal(r, 1.0)
    >>> result = omega_from_correlation(r, items="abcdef", n=200, n_factors=2)
    >>> round(result.omega_total, 3) > round(result.omega_hierarchical, 3)
    True
    """
    corr = np.asarray(corr, dtype=float)
    items = tuple(items)
    _check_omega_options(n_factors, "minres", "oblimin", corr.shape[0])
    with one_blas_thread():
        general, group, communality = _schmid_leiman(corr, n_factors)
    key = np.where(general < 0, -1.0, 1.0)
    general, group = general * key, group * key[:, None]
    total = (corr * np.outer(key, key)).sum()
    uniqueness = np.sum(1 - communality)
    general_variance = np.sum(general**2)
    return OmegaResult(
        omega_hierarchical=float(general.sum() ** 2 / total),
        omega_total=float((total - uniqueness) / total),
        explained_common_variance=float(general_variance / (general_variance + np.sum(group**2))),
        items=items,
        general_loading_vector=general,
        group_loading_matrix=group,
        communality_vector=communality,
        reversed_items=tuple(item for item, k in zip(items, key, strict=True) if k < 0),
        n_factors=n_factors,
        n=n,
    )


def scale_reliability(
    data: pd.DataFrame,
    spec: Any,
    *,
    reverse_keyed: Iterable[str] | None = None,
    response_range: tuple[int, int] | None = None,
    ci: float = 0.95,
    ci_method: str = "feldt",
    n_boot: int = 1000,
    seed: int | np.random.Generator | None = None,
) -> ScaleReliabilityResult:
    """Alpha (Feldt or bootstrap CI), standardized alpha, omega total and item statistics.

    Parameters
    ----------
    data : DataFrame
        Respondents in rows, items in columns.
    spec : ScaleSpec or mapping
        ``items.ScaleSpec`` or ``{scale: [item ids]}`` (leading ``-`` = reverse-keyed).
    reverse_keyed : iterable of str, optional
        More reverse-keyed ids.
    response_range : (int, int), optional
        Overrides the spec's range, which reverses the reverse-keyed items.
    ci : float, default 0.95
        Level of the interval.
    ci_method, n_boot, seed
        As in :func:`cronbach_alpha`: Feldt bounds, or a seeded percentile bootstrap.

    Returns
    -------
    ScaleReliabilityResult
        Its ``to_dict()`` gives the ``scales`` object of ``healing-survey analyze --json``.
        Item means and SDs are those of the reverse-scored items. A one-item scale has NaN
        alpha; omega total needs three items.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(3)
    >>> trait = rng.normal(size=(300, 1))
    >>> x = np.clip(np.round(3 + trait + rng.normal(size=(300, 4))), 1, 5)
    >>> x[:, 3] = 6 - x[:, 3]
    >>> answers = pd.DataFrame(x, columns=["t1", "t2", "t3", "t4"])
    >>> result = scale_reliability(answers, {"trust": ["t1", "t2", "t3", "-t4"]},
    ...                            response_range=(1, 5))
    >>> sorted(result.to_dict()["trust"])
    ['alpha', 'alpha_ci', 'items', 'n_items', 'omega_total', 'std_alpha']
    """
    scales = read_scales(spec, reverse_keyed=reverse_keyed, response_range=response_range)
    frame = keyed_responses(data, scales)
    results = {
        name: _one_scale(frame[list(members)], ci=ci, ci_method=ci_method, n_boot=n_boot, seed=seed)
        for name, members in scales.items.items()
    }
    return ScaleReliabilityResult(scales=results)


def scale_reliability_from_moments(
    moments: PairwiseMoments,
    spec: Any,
    *,
    reverse_keyed: Iterable[str] | None = None,
    response_range: tuple[int, int] | None = None,
    ci: float = 0.95,
) -> ScaleReliabilityResult:
    """:func:`scale_reliability` from pairwise moments accumulated chunk by chunk.

    Gives the same numbers as :func:`scale_reliability` on the rows behind ``moments`` (the
    covariances, correlations, means and SDs are the same pairwise-complete ones), without
    holding the rows. Reverse keying ``x -> min + max - x`` flips the sign of an item's
    covariances and correlations and reflects its mean. Feldt's ``n`` per scale is
    ``moments.rows_answering[scale]`` when the moments counted it, else the largest item ``n``.

    Parameters
    ----------
    moments : analysis.moments.PairwiseMoments
        Moments over the items of the spec (possibly more).
    spec, reverse_keyed, response_range, ci
        As in :func:`scale_reliability`.

    Returns
    -------
    ScaleReliabilityResult

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from analysis.moments import PairwiseMoments, pairwise_correlation, pairwise_covariance
    >>> rng = np.random.default_rng(3)
    >>> x = np.clip(np.round(3 + rng.normal(size=(300, 1)) + rng.normal(size=(300, 3))), 1, 5)
    >>> moments = PairwiseMoments(items=("a", "b", "c"), groups={"s": ("a", "b", "c")})
    >>> moments.update(x[:100]); moments.update(x[100:])
    >>> from_rows = scale_reliability(pd.DataFrame(x, columns=["a", "b", "c"]), {"s": "abc"})
    >>> from_moments = scale_reliability_from_moments(moments, {"s": "abc"})
    >>> bool(abs(from_rows.scales["s"].alpha - from_moments.scales["s"].alpha) < 1e-12)
    True
    """
    scales = read_scales(spec, reverse_keyed=reverse_keyed, response_range=response_range)
    column = {item: j for j, item in enumerate(moments.items)}
    used = list(dict.fromkeys(item for members in scales.items.values() for item in members))
    absent = sorted(set(used) - set(column))
    if absent:
        raise ValueError(f"scale items not in the data: {absent}")
    sign = np.ones(len(column))
    means = moments.means()
    to_reverse = sorted(scales.reverse_keyed & set(used))
    if to_reverse:
        if scales.response_range is None:
            raise ValueError(f"reverse-keyed items {to_reverse} need a response_range")
        low, high = scales.response_range
        reversed_columns = [column[item] for item in to_reverse]
        sign[reversed_columns] = -1.0
        means[reversed_columns] = low + high - means[reversed_columns]
    flip = np.outer(sign, sign)
    cov = moments.covariance() * flip
    corr = moments.correlation() * flip
    sds = moments.standard_deviations()
    counts = moments.n_items
    results = {}
    for name, members in scales.items.items():
        idx = [column[item] for item in members]
        n = moments.rows_answering.get(name) or int(counts[idx].max())
        if len(members) > 1 and n < 3:
            raise ValueError(f"need at least 3 respondents with answers, got {n}")
        constant = [item for item, j in zip(members, idx, strict=True) if not cov[j, j] > 0]
        if constant:
            raise ValueError(f"items without variance (or fewer than 2 answers): {constant}")
        results[name] = _scale_from_moments(
            cov[np.ix_(idx, idx)],
            corr[np.ix_(idx, idx)],
            means=means[idx],
            sds=sds[idx],
            items=members,
            n=n,
            ci=ci,
        )
    return ScaleReliabilityResult(scales=results)


def _scale_from_moments(cov, corr, *, means, sds, items, n: int, ci: float) -> ScaleReliability:
    k = len(items)
    items_table = _item_table(cov, means=means, sds=sds, items=items)
    if k < 2:
        nan = float("nan")
        return ScaleReliability(1, nan, (nan, nan), nan, nan, items_table)
    raw, std, _ = _alpha_from_cov(cov)
    return ScaleReliability(
        n_items=k,
        alpha=raw,
        alpha_ci=_feldt(raw, n, k, ci),
        std_alpha=std,
        omega_total=_omega_total_from_correlation(corr) if k >= 3 else float("nan"),
        items=items_table,
    )


def _one_scale(
    frame: pd.DataFrame, *, ci: float, ci_method: str = "feldt", n_boot: int = 1000, seed=None
) -> ScaleReliability:
    k = frame.shape[1]
    if k < 2:
        nan = float("nan")
        items = ItemReliability(
            items=tuple(frame.columns),
            r_drop=np.array([nan]),
            alpha_if_deleted=np.array([nan]),
            std_alpha_if_deleted=np.array([nan]),
            mean=frame.mean().to_numpy(),
            sd=frame.std().to_numpy(),
        )
        return ScaleReliability(1, nan, (nan, nan), nan, nan, items)
    alpha = cronbach_alpha(frame, ci=ci, ci_method=ci_method, n_boot=n_boot, seed=seed)
    return ScaleReliability(
        n_items=k,
        alpha=alpha.alpha,
        alpha_ci=alpha.ci,
        std_alpha=alpha.std_alpha,
        omega_total=omega_total(frame) if k >= 3 else float("nan"),
        items=item_reliability(frame),
    )


# --- validation -----------------------------------------------------------------------------


def _scale_frame(data, *, missing: str, min_items: int = 2) -> pd.DataFrame:
    if missing not in _MISSING:
        raise ValueError(f"missing must be one of {_MISSING}, got {missing!r}")
    frame = item_frame(data, min_items=min_items)
    answered = frame.notna()
    frame = frame[answered.all(axis=1)] if missing == "listwise" else frame[answered.any(axis=1)]
    if len(frame) < 3:
        raise ValueError(f"need at least 3 respondents with answers, got {len(frame)}")
    variances = frame.var()
    constant = list(frame.columns[~(variances > 0)])
    if constant:
        raise ValueError(f"items without variance (or fewer than 2 answers): {constant}")
    return frame


def _check_ci(ci: float, ci_method: str, n_boot: int) -> None:
    if not 0 < ci < 1:
        raise ValueError(f"ci must be between 0 and 1, got {ci!r}")
    if ci_method not in _CI_METHODS:
        raise ValueError(f"ci_method must be one of {_CI_METHODS}, got {ci_method!r}")
    if ci_method == "bootstrap" and (not isinstance(n_boot, int) or n_boot < 10):
        raise ValueError(f"n_boot must be an integer >= 10, got {n_boot!r}")


def _check_omega_options(n_factors: int, fm: str, rotation: str, n_items: int) -> None:
    if fm != "minres":
        raise ValueError(f"fm must be 'minres' (the only method implemented), got {fm!r}")
    if rotation != "oblimin":
        raise ValueError(f"rotation must be 'oblimin' (the only one implemented), got {rotation!r}")
    if isinstance(n_factors, bool) or not isinstance(n_factors, int) or n_factors < 1:
        raise ValueError(f"n_factors must be a positive integer, got {n_factors!r}")
    if n_factors >= n_items:
        raise ValueError(f"n_factors={n_factors} needs more than {n_factors} items, got {n_items}")


# --- covariance and alpha -------------------------------------------------------------------


def _cov_to_corr(cov: np.ndarray) -> np.ndarray:
    scale = 1 / np.sqrt(np.diag(cov))
    return cov * np.outer(scale, scale)


def _alpha_from_cov(cov: np.ndarray) -> tuple[float, float, float]:
    k = cov.shape[0]
    raw = (1 - np.trace(cov) / cov.sum()) * k / (k - 1)
    corr_sum = _cov_to_corr(cov).sum()
    std = (1 - k / corr_sum) * k / (k - 1)
    average_r = (corr_sum - k) / (k * (k - 1))
    return float(raw), float(std), float(average_r)


def _feldt(alpha: float, n: int, k: int, ci: float) -> tuple[float, float]:
    tail = (1 - ci) / 2
    df1, df2 = n - 1, (n - 1) * (k - 1)
    low = 1 - (1 - alpha) * f_quantile(1 - tail, df1, df2)
    high = 1 - (1 - alpha) * f_quantile(tail, df1, df2)
    return float(low), float(high)


def _bootstrap_ci(values, *, ci: float, n_boot: int, seed) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    n = len(values)
    alphas = np.empty(n_boot)
    for b in range(n_boot):  # one resample at a time keeps memory at one copy of the data
        sample = values[rng.integers(0, n, size=n)]
        alphas[b] = _alpha_from_cov(pairwise_covariance(sample))[0]
    tail = (1 - ci) / 2
    low, high = np.nanquantile(alphas, [tail, 1 - tail])
    return float(low), float(high)


# --- minres factoring, rotations, Schmid-Leiman (ports of psych / GPArotation / stats) -----


def _minres(corr: np.ndarray, n_factors: int) -> np.ndarray:
    """Unrotated minres loadings as psych ``fa(fm="minres")``, columns signed positive."""
    loadings, _ = _extract(corr, n_factors, "minres", smc_start=True)
    return loadings * np.where(loadings.sum(axis=0) < 0, -1.0, 1.0)


def _varimax(loadings: np.ndarray, *, eps: float = 1e-5) -> np.ndarray:
    """R ``stats::varimax`` with Kaiser normalization."""
    norms = np.sqrt(np.sum(loadings**2, axis=1))
    x = loadings / norms[:, None]
    p, k = x.shape
    rotation = np.eye(k)
    criterion = 0.0
    for _ in range(1000):
        z = x @ rotation
        b = x.T @ (z**3 - z * (np.sum(z**2, axis=0) / p))
        u, singular, vt = np.linalg.svd(b)
        rotation = u @ vt
        previous, criterion = criterion, singular.sum()
        if criterion < previous * (1 + eps):
            break
    return (x @ rotation) * norms[:, None]


def _schmid_leiman(corr: np.ndarray, n_factors: int):
    """General loadings, group loadings and communalities as psych ``schmid``."""
    unrotated = _minres(corr, n_factors)
    if n_factors == 1:
        return unrotated[:, 0], np.zeros_like(unrotated), unrotated[:, 0] ** 2
    orthogonal = _varimax(unrotated)
    orthogonal = orthogonal * np.where(orthogonal.sum(axis=0) < 0, -1.0, 1.0)
    orthogonal = orthogonal[:, np.argsort(-np.sum(orthogonal**2, axis=0), kind="stable")]
    rotation = oblimin(orthogonal)
    pattern, phi = rotation.loadings, rotation.factor_correlations
    if n_factors == 2:
        weight = np.sqrt(abs(phi[0, 1]))
        general_of_factors = np.array([weight, np.sign(phi[0, 1]) * weight])
    else:
        general_of_factors = _minres(phi, 1)[:, 0]
    general = pattern @ general_of_factors
    communality = np.sum(orthogonal**2, axis=1)
    group_variance = np.maximum(pattern**2 * (1 - general_of_factors**2), 0)
    return general, np.sign(pattern) * np.sqrt(group_variance), communality


def _plain(value: float) -> float | None:
    return None if value is None or np.isnan(value) else float(value)
