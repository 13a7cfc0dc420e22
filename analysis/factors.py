"""Factorability, parallel analysis and exploratory factor analysis of item responses.

Reproduces R's psych 2.2.9 (``KMO``, ``cortest.bartlett``, ``fa.parallel``, ``fa``) and
GPArotation's ``oblimin``, and R's ``varimax`` and psych's ``Promax`` as factor_analyzer
0.5.1 ports them.

Given NumPy arrays or a :class:`Correlations`, nothing here imports pandas (see
analysis._frames): results hold arrays and labels, and build their DataFrame views when read.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from analysis._blas import one_blas_thread
from analysis._bounded import minimize_within_bounds
from analysis._frames import is_frame, labelled_frame, labelled_series
from analysis._input import item_values
from analysis.distributions import chi2_sf
from analysis.moments import PairwiseMoments

if TYPE_CHECKING:
    import pandas as pd

METHODS = ("minres", "ml", "pa")
ROTATIONS = ("oblimin", "promax", "varimax", "none")
# The rows of EFAResult.variance_accounted, psych's Vaccounted.
VARIANCE_ROWS = (
    "ss_loadings",
    "proportion",
    "cumulative",
    "proportion_explained",
    "cumulative_explained",
)

# psych's fa() bounds the uniquenesses of minres and ml to [0.005, 1] for a correlation matrix.
_LOWER_UNIQUENESS = 0.005
# psych's principal axis iterates until the summed communalities change by less than min.err.
_PA_TOLERANCE = 1e-3
_PA_MAX_ITERATIONS = 50


@dataclass(frozen=True)
class Correlations:
    """A correlation matrix with the item names and the number of respondents behind it.

    :func:`kmo`, :func:`bartlett_sphericity`, :func:`parallel_analysis`, :func:`efa` and
    :func:`correlations` take one as their data, e.g. a polychoric matrix with its ``n``; the
    matrix is checked as a correlation matrix given directly would be.
    """

    matrix: np.ndarray
    items: tuple[str, ...]
    n: int | None

    def to_frame(self) -> pd.DataFrame:
        """Return the matrix as a DataFrame labelled by item."""
        return labelled_frame(self.matrix, self.items, self.items)


@dataclass(frozen=True)
class KMOResult:
    """Kaiser-Meyer-Olkin measure of sampling adequacy, overall and per item (psych's MSA).

    Attributes
    ----------
    overall : float
        The overall KMO (psych's ``MSA``).
    items : tuple of str
        Item names.
    item_kmo : ndarray
        Each item's KMO (psych's ``MSAi``), in the order of ``items``.
    singular : bool
        The correlation matrix has no usable inverse: every KMO is NaN.
    per_item : Series
        ``item_kmo`` labelled by item, named ``"kmo"`` (built when first read).
    """

    overall: float
    items: tuple[str, ...]
    item_kmo: np.ndarray
    singular: bool = False

    @cached_property
    def per_item(self) -> pd.Series:
        """Each item's KMO, labelled by item."""
        return labelled_series(self.item_kmo, self.items, name="kmo")

    def to_dict(self) -> dict[str, Any]:
        """Return plain Python values for JSON."""
        return {
            "overall": self.overall,
            "per_item": _floats(self.items, self.item_kmo),
            "singular": self.singular,
        }


@dataclass(frozen=True)
class BartlettResult:
    """Bartlett's test that the population correlation matrix is the identity."""

    chi2: float
    df: int
    p: float
    n: int

    def to_dict(self) -> dict[str, Any]:
        """Return plain Python values for JSON."""
        return {"chi2": self.chi2, "df": self.df, "p": self.p, "n": self.n}


# The eigenvalue series of a ParallelResult, in the order to_frame and to_dict give them.
_SCREE = (
    "observed_components",
    "observed_factors",
    "simulated_components_mean",
    "simulated_components_quantile",
    "simulated_factors_mean",
    "simulated_factors_quantile",
)


@dataclass(frozen=True)
class ParallelResult:
    """Horn's parallel analysis for components and common factors, as psych's fa.parallel.

    ``observed_components`` are the eigenvalues of the correlation matrix (the scree),
    ``observed_factors`` those of the reduced matrix of a one-factor solution. The simulated
    eigenvalues summarise ``iterations`` correlation matrices of normal data of the same size.
    """

    n_factors: int
    n_components: int
    observed_components: np.ndarray
    observed_factors: np.ndarray
    simulated_components_mean: np.ndarray
    simulated_components_quantile: np.ndarray
    simulated_factors_mean: np.ndarray
    simulated_factors_quantile: np.ndarray
    quantile: float
    iterations: int
    method: str
    n: int

    def to_frame(self) -> pd.DataFrame:
        """Return the scree data: one row per eigenvalue number, one column per series."""
        import pandas as pd  # only this view needs it: see analysis._frames

        frame = pd.DataFrame({name: getattr(self, name) for name in _SCREE})
        frame.index = pd.RangeIndex(1, len(frame) + 1, name="number")
        return frame

    def to_dict(self) -> dict[str, Any]:
        """Return plain Python values for JSON."""
        scree = {name: [float(v) for v in getattr(self, name)] for name in _SCREE}
        return {
            "n_factors": self.n_factors,
            "n_components": self.n_components,
            "quantile": self.quantile,
            "iterations": self.iterations,
            "method": self.method,
            "n": self.n,
            **scree,
        }


@dataclass(frozen=True)
class EFAResult:
    """An exploratory factor solution, laid out as psych's fa() reports it.

    Factors are ordered by the variance they explain and signed so each loading column sums
    to a positive number. For oblique rotations the sums of squares in ``variance_accounted``
    include the factor correlations.

    Attributes
    ----------
    items : tuple of str
        Item names, the rows of the loadings.
    factors : tuple of str
        Factor names (``MR1``, ``ML2``, ``PA3``, ...), each keeping its number from before
        rotation as psych does.
    loading_matrix : ndarray
        Rotated loadings (pattern matrix), items x factors.
    h2 : ndarray
        Communalities (psych's ``h2``), one per item.
    factor_correlation_matrix : ndarray
        Factor correlations (psych's ``Phi``; the identity for orthogonal rotations).
    variance_accounted : ndarray
        psych's ``Vaccounted``: one row per name in ``VARIANCE_ROWS`` (``ss_loadings``,
        ``proportion``, ``cumulative``, ``proportion_explained``, ``cumulative_explained``),
        one column per factor.
    method, rotation : str
        Extraction and rotation.
    n_factors : int
    gamma : float
        Oblimin's gamma.
    n : int or None
        Number of respondents, when known.
    converged : bool
        Whether both the extraction and the rotation converged.
    loadings : DataFrame
        ``loading_matrix`` labelled by item and factor.
    communalities, uniquenesses : Series
        ``h2`` and ``1 - h2`` labelled by item (named ``"communality"``, ``"uniqueness"``).
    factor_correlations : DataFrame
        ``factor_correlation_matrix`` labelled by factor.
    variance : DataFrame
        ``variance_accounted`` with the rows ``VARIANCE_ROWS`` and a column per factor.

    The DataFrame and Series views are built when first read.
    """

    items: tuple[str, ...]
    factors: tuple[str, ...]
    loading_matrix: np.ndarray
    h2: np.ndarray
    factor_correlation_matrix: np.ndarray
    variance_accounted: np.ndarray
    method: str
    rotation: str
    n_factors: int
    gamma: float
    n: int | None
    converged: bool

    @cached_property
    def loadings(self) -> pd.DataFrame:
        """The loadings, items x factors."""
        return labelled_frame(self.loading_matrix, self.items, self.factors)

    @cached_property
    def communalities(self) -> pd.Series:
        """The communalities, by item."""
        return labelled_series(self.h2, self.items, name="communality")

    @cached_property
    def uniquenesses(self) -> pd.Series:
        """The uniquenesses (1 - communality), by item."""
        return labelled_series(1 - self.h2, self.items, name="uniqueness")

    @cached_property
    def factor_correlations(self) -> pd.DataFrame:
        """The factor correlations, factors x factors."""
        return labelled_frame(self.factor_correlation_matrix, self.factors, self.factors)

    @cached_property
    def variance(self) -> pd.DataFrame:
        """psych's Vaccounted, one row per name in ``VARIANCE_ROWS``."""
        return labelled_frame(self.variance_accounted, VARIANCE_ROWS, self.factors)

    def to_dict(self) -> dict[str, Any]:
        """Return plain Python values for JSON; ``loadings`` maps each item to its row."""
        return {
            "n_factors": self.n_factors,
            "method": self.method,
            "rotation": self.rotation,
            "gamma": self.gamma,
            "n": self.n,
            "converged": self.converged,
            "factors": [str(f) for f in self.factors],
            "loadings": _rows(self.items, self.loading_matrix),
            "communalities": _floats(self.items, self.h2),
            "uniquenesses": _floats(self.items, 1 - self.h2),
            "factor_correlations": self.factor_correlation_matrix.tolist(),
            "variance": _rows(VARIANCE_ROWS, self.variance_accounted),
        }


@dataclass(frozen=True)
class RotationResult:
    """Rotated loadings (items x factors), the factor correlations and whether it converged."""

    loadings: np.ndarray
    factor_correlations: np.ndarray
    converged: bool

    def to_dict(self) -> dict[str, Any]:
        """Return plain Python values for JSON."""
        return {
            "loadings": self.loadings.tolist(),
            "factor_correlations": self.factor_correlations.tolist(),
            "converged": self.converged,
        }


@dataclass(frozen=True)
class CongruenceResult:
    """Tucker's congruence between the factors of two loading matrices after matching them.

    Attributes
    ----------
    factors : tuple
        The factors of the first matrix (its column labels, or positions for an array).
    coefficients : ndarray
        The absolute congruence of each of ``factors`` with its partner in the second matrix.
    matched : dict of str to str
        The factor of the second matrix paired with each factor of the first.
    items : tuple
        The rows of the second matrix (its index, or positions for an array).
    aligned_loadings : ndarray
        The second matrix reordered and sign-flipped to line up with the first, items x
        factors (for element-wise comparisons).
    congruence : Series
        ``coefficients`` labelled by ``factors``.
    aligned : DataFrame
        ``aligned_loadings`` labelled by ``items`` and ``factors``.

    The Series and DataFrame views are built when first read.
    """

    factors: tuple[Hashable, ...]
    coefficients: np.ndarray
    matched: dict[str, str]
    items: tuple[Hashable, ...]
    aligned_loadings: np.ndarray

    @cached_property
    def congruence(self) -> pd.Series:
        """The congruence coefficients, by factor of the first matrix."""
        return labelled_series(self.coefficients, self.factors)

    @cached_property
    def aligned(self) -> pd.DataFrame:
        """The second matrix matched to the first, items x factors of the first."""
        return labelled_frame(self.aligned_loadings, self.items, self.factors)

    def to_dict(self) -> dict[str, Any]:
        """Return plain Python values for JSON."""
        return {
            "congruence": _floats(self.factors, self.coefficients),
            "matched": dict(self.matched),
        }


def correlations(
    data: pd.DataFrame | np.ndarray | Correlations, *, n: int | None = None, min_items: int = 2
) -> Correlations:
    """Return the correlation matrix of item responses, or check one given directly.

    Raw responses give pairwise-complete Pearson correlations (R's
    ``cor(x, use = "pairwise")``) and ``n`` is the number of rows. A square, symmetric input
    with a unit diagonal is taken to be a correlation matrix already (psych's
    ``isCorrelation`` rule), e.g. a polychoric matrix; then ``n`` is what the caller says.
    A :class:`Correlations` must be such a matrix; its ``n`` and the ``n`` given here must
    agree where both are given (either may be None). Neither an array nor a
    :class:`Correlations` imports pandas.

    Parameters
    ----------
    data : DataFrame, 2-D array or Correlations
        Respondents x items (NaN for a missing answer), or an items x items correlation matrix.
    n : int, optional
        Number of respondents behind a correlation matrix; ignored for raw data.
    min_items : int
        Fewest items accepted.

    Returns
    -------
    Correlations

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1, 2, 2], [2, 1, 3], [3, 4, 5], [4, 3, np.nan]])
    >>> correlations(x).matrix.round(3)
    array([[1.   , 0.6  , 0.982],
           [0.6  , 1.   , 0.786],
           [0.982, 0.786, 1.   ]])
    """
    if isinstance(data, Correlations):
        return _checked_correlations(data, n=n, min_items=min_items)
    values, items = item_values(data, min_items=min_items)
    if _is_correlation_matrix(values):
        return Correlations(_checked_correlation_matrix(values, items), items, _checked_n(n))
    check_raw_responses(values, items)
    moments = PairwiseMoments(items=items)
    moments.update(values)
    return correlations_from_moments(moments)


def correlations_from_moments(moments: PairwiseMoments) -> Correlations:
    """:func:`correlations` of the rows behind pairwise moments accumulated chunk by chunk.

    The same pairwise-complete Pearson correlations (R's ``cor(x, use = "pairwise")``), from
    the sums of :class:`analysis.moments.PairwiseMoments` instead of the rows; ``n`` is the
    number of rows. A pair with fewer than three joint answers, or without variance among
    them, raises ``ValueError`` as :func:`correlations` does.

    Parameters
    ----------
    moments : analysis.moments.PairwiseMoments

    Returns
    -------
    Correlations

    Examples
    --------
    >>> import numpy as np
    >>> from analysis.moments import PairwiseMoments
    >>> x = np.array([[1, 2, 2], [2, 1, 3], [3, 4, 5], [4, 3, np.nan]])
    >>> moments = PairwiseMoments(items=("a", "b", "c"))
    >>> moments.update(x)
    >>> correlations_from_moments(moments).matrix.round(3)
    array([[1.   , 0.6  , 0.982],
           [0.6  , 1.   , 0.786],
           [0.982, 0.786, 1.   ]])
    """
    items = tuple(moments.items)
    pairs = moments.n_pairwise
    r = moments.correlation()
    bad = ~np.isfinite(r) | (pairs < 3)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ValueError(
            f"items {items[row]!r} and {items[col]!r} have too few joint answers "
            f"({int(pairs[row, col])}) or no variance among them for a correlation"
        )
    return Correlations(np.clip(r, -1.0, 1.0), items, moments.n_rows)


def check_raw_responses(values: np.ndarray, items: Sequence[str]) -> None:
    """Raise ``ValueError`` for responses that :func:`correlations` cannot correlate.

    Parameters
    ----------
    values : 2-D array
        Respondents x items, NaN for a missing answer.
    items : sequence of str
        Item names, one per column, used in the messages.

    Raises
    ------
    ValueError
        Fewer respondents than items, or items without variance (constant or never answered),
        named.

    Examples
    --------
    >>> import numpy as np
    >>> check_raw_responses(np.array([[1, 2], [2, 2], [3, 2]]), ["a", "b"])
    Traceback (most recent call last):
    ...
    ValueError: items without variance (constant or empty): ['b']
    """
    n_rows, n_items = values.shape
    if n_rows < n_items:
        raise ValueError(f"fewer respondents ({n_rows}) than items ({n_items})")
    spread = np.fmax.reduce(values, axis=0) - np.fmin.reduce(values, axis=0)  # NaN: no answers
    constant = [item for item, width in zip(items, spread, strict=True) if not width > 0]
    if constant:
        raise ValueError(f"items without variance (constant or empty): {constant}")


def kmo(data: pd.DataFrame | np.ndarray | Correlations) -> KMOResult:
    """Kaiser-Meyer-Olkin measure of sampling adequacy (psych's ``KMO``).

    Works on pairwise-complete correlations, so missing answers are allowed (factor_analyzer's
    ``calculate_kmo`` returns NaN for them). KMO needs the inverse of the correlation matrix:
    for a singular matrix (or a pairwise one that is not positive definite) the result is NaN
    with ``singular`` set, where psych puts the correlations in place of the anti-image and
    reports 0.5 for every item, a number that says nothing about the data.

    Parameters
    ----------
    data : DataFrame, 2-D array or Correlations
        Respondents x items, or a correlation matrix.

    Returns
    -------
    KMOResult
        ``overall`` (psych's MSA) and ``per_item`` (MSAi).

    References
    ----------
    Kaiser, H. F. (1970). A second generation little jiffy. Psychometrika, 35, 401-415.
    R: ``psych::KMO``.

    Examples
    --------
    >>> import numpy as np
    >>> r = np.array([[1.0, 0.5, 0.4], [0.5, 1.0, 0.3], [0.4, 0.3, 1.0]])
    >>> round(kmo(r).overall, 4)
    0.6279
    """
    corr = correlations(data)
    r = corr.matrix
    inverse = _inverse_or_none(r)
    if inverse is None:
        return KMOResult(float("nan"), corr.items, np.full(len(corr.items), np.nan), singular=True)
    scale = 1 / np.sqrt(np.diag(inverse))
    partial_sq = (inverse * np.outer(scale, scale)) ** 2
    r_sq = r**2
    np.fill_diagonal(partial_sq, 0)
    np.fill_diagonal(r_sq, 0)
    per_item = r_sq.sum(axis=0) / (r_sq.sum(axis=0) + partial_sq.sum(axis=0))
    overall = r_sq.sum() / (r_sq.sum() + partial_sq.sum())
    return KMOResult(float(overall), corr.items, per_item)


def _inverse_or_none(r: np.ndarray) -> np.ndarray | None:
    """The inverse of a correlation matrix, or None where R's ``solve`` would fail: a
    reciprocal condition number (1-norm) below machine epsilon, or a non-positive diagonal
    of the inverse (a pairwise matrix that is not positive definite)."""
    try:
        inverse = np.linalg.inv(r)
    except np.linalg.LinAlgError:
        return None
    norms = np.abs(r).sum(axis=0).max() * np.abs(inverse).sum(axis=0).max()
    if not np.isfinite(norms) or 1 / norms < np.finfo(float).eps:
        return None
    return inverse if (np.diag(inverse) > 0).all() else None


def bartlett_sphericity(
    data: pd.DataFrame | np.ndarray | Correlations, *, n: int | None = None
) -> BartlettResult:
    """Bartlett's test of sphericity (psych's ``cortest.bartlett``).

    Parameters
    ----------
    data : DataFrame, 2-D array or Correlations
        Respondents x items (then ``n`` is the number of rows, as in psych), or a correlation
        matrix (then ``n`` is required, here or carried by the Correlations).
    n : int, optional
        Number of respondents behind a correlation matrix; must agree with a Correlations' n.

    Returns
    -------
    BartlettResult
        ``chi2 = -ln|R| (n - 1 - (2p + 5) / 6)`` on ``p (p - 1) / 2`` degrees of freedom.

    References
    ----------
    Bartlett, M. S. (1951). The effect of standardization on a chi square approximation in
    factor analysis. Biometrika, 38, 337-344. R: ``psych::cortest.bartlett``.

    Examples
    --------
    >>> import numpy as np
    >>> r = np.array([[1.0, 0.5, 0.4], [0.5, 1.0, 0.3], [0.4, 0.3, 1.0]])
    >>> result = bartlett_sphericity(r, n=100)
    >>> round(result.chi2, 3), result.df
    (46.449, 3)
    """
    corr = correlations(data, n=n)
    n_obs = _required_n(corr, "bartlett_sphericity")
    p = len(corr.items)
    _, log_det = np.linalg.slogdet(corr.matrix)
    chi2 = -log_det * (n_obs - 1 - (2 * p + 5) / 6)
    df = p * (p - 1) // 2
    return BartlettResult(float(chi2), df, chi2_sf(chi2, df), n_obs)


def parallel_analysis(
    data: pd.DataFrame | np.ndarray | Correlations,
    *,
    iterations: int = 20,
    seed: int | np.random.Generator | None = None,
    method: str = "minres",
    quantile: float = 0.95,
    n: int | None = None,
) -> ParallelResult:
    """Horn's parallel analysis of components and factors, following psych's ``fa.parallel``.

    As psych 2.2.9 does with ``fa = "both"``: the observed eigenvalues are those of the
    correlation matrix (components) and of the reduced correlation matrix of a one-factor
    ``method`` solution (factors); each is compared with the ``quantile`` (default 95th
    percentile) of the same eigenvalues of ``iterations`` correlation matrices of normal data
    with as many respondents and items. The number of factors (components) is the number of
    leading observed eigenvalues above that simulated quantile (psych's ``nfact`` and
    ``ncomp``; psych compares with ``quant = .95``, not with the simulated mean, which is
    reported too). psych's resampling of the observed data is not done: it does not enter
    psych's decision when simulated data are used.

    The correlation matrix of ``n`` rows of independent standard normal data is drawn without
    generating the rows: ``(n - 1)`` times its sample covariance matrix is Wishart with
    ``n - 1`` degrees of freedom and identity scale, which the Bartlett decomposition draws
    from ``p`` chi-square and ``p (p - 1) / 2`` normal variates; scaling it to unit diagonal
    gives a matrix with exactly the distribution of the normal data's correlation matrix.

    Parameters
    ----------
    data : DataFrame, 2-D array or Correlations
        Respondents x items (pairwise-complete correlations, ``n`` = number of rows, as psych),
        or a correlation matrix together with ``n`` (here or carried by the Correlations).
    iterations : int
        Number of simulated data sets (psych's ``n.iter``).
    seed : int or numpy.random.Generator, optional
        Seed for the simulation.
    method : {"minres", "ml", "pa"}
        Factor extraction for the factor eigenvalues (psych's ``fm``).
    quantile : float
        Quantile of the simulated eigenvalues an observed one must exceed (psych's ``quant``).
    n : int, optional
        Number of respondents behind a correlation matrix; must agree with a Correlations' n.

    Returns
    -------
    ParallelResult

    References
    ----------
    Horn, J. L. (1965). A rationale and test for the number of factors in factor analysis.
    Psychometrika, 30, 179-185. R: ``psych::fa.parallel``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> factor = rng.standard_normal((500, 1))
    >>> x = factor + rng.standard_normal((500, 6))
    >>> result = parallel_analysis(x, seed=2)
    >>> result.n_factors, result.n_components
    (1, 1)
    """
    _check_parallel_options(iterations=iterations, method=method, quantile=quantile)
    corr = correlations(data, n=n, min_items=3)
    n_obs = _required_n(corr, "parallel_analysis")
    p = len(corr.items)
    if n_obs <= p:
        raise ValueError(f"parallel_analysis needs more respondents than items; n={n_obs}, p={p}")
    with one_blas_thread():
        observed_components = _descending_eigenvalues(corr.matrix)
        observed_factors = _reduced_eigenvalues(corr.matrix, method=method, smc_start=True)
        simulated = _simulated_correlations(n_obs, p, iterations, np.random.default_rng(seed))
        sim_components = _descending_eigenvalues(simulated)
        # psych starts the simulated fits from unit communalities (SMC = FALSE): it only
        # matters for principal axis, whose iterations start from the diagonal.
        sim_factors = np.stack(
            [_reduced_eigenvalues(r, method=method, smc_start=False) for r in simulated]
        )
    components_quantile = np.quantile(sim_components, quantile, axis=0)
    factors_quantile = np.quantile(sim_factors, quantile, axis=0)
    return ParallelResult(
        n_factors=_leading_exceedances(observed_factors, factors_quantile),
        n_components=_leading_exceedances(observed_components, components_quantile),
        observed_components=observed_components,
        observed_factors=observed_factors,
        simulated_components_mean=sim_components.mean(axis=0),
        simulated_components_quantile=components_quantile,
        simulated_factors_mean=sim_factors.mean(axis=0),
        simulated_factors_quantile=factors_quantile,
        quantile=quantile,
        iterations=iterations,
        method=method,
        n=n_obs,
    )


def efa(
    data: pd.DataFrame | np.ndarray | Correlations,
    *,
    n_factors: int,
    method: str = "minres",
    rotation: str = "oblimin",
    n: int | None = None,
    gamma: float = 0.0,
) -> EFAResult:
    """Exploratory factor analysis as psych's ``fa()`` computes it.

    Extraction follows psych's ``fa`` exactly: minres (unweighted least squares on the
    uniquenesses, bounded to [0.005, 1], started from 1 - SMC), ml (the same bounds with the
    maximum-likelihood discrepancy) or principal axis (iterated from the SMCs until the summed
    communalities change by less than 0.001, at most 50 iterations). Rotations: varimax and
    promax (with Kaiser normalization, power 4) as factor_analyzer 0.5.1 ports R's
    ``stats::varimax`` and psych's ``Promax``, ported again here so that no rotation imports
    pandas; oblimin by GPArotation's gradient projection algorithm (``GPFoblq``), ported here
    because factor_analyzer ignores ``gamma``. Factors are then signed and ordered by
    explained variance as psych does.

    Parameters
    ----------
    data : DataFrame, 2-D array or Correlations
        Respondents x items (pairwise-complete Pearson correlations, psych's default
        ``use = "pairwise"``), or a correlation matrix such as a polychoric one.
    n_factors : int
        Number of factors; at most the number that leaves non-negative degrees of freedom,
        ``((p - k)^2 - (p + k)) / 2 >= 0``.
    method : {"minres", "ml", "pa"}
        Extraction (psych's ``fm``).
    rotation : {"oblimin", "promax", "varimax", "none"}
        Rotation (psych's ``rotate``).
    n : int, optional
        Number of respondents behind a correlation matrix (reported only); must agree with a
        Correlations' n.
    gamma : float
        Oblimin's gamma: 0 quartimin (psych's default), 0.5 biquartimin, 1 covarimin.

    Returns
    -------
    EFAResult

    References
    ----------
    Revelle, W. psych: Procedures for Psychological, Psychometric, and Personality Research,
    ``fa``. Bernaards, C. A. & Jennrich, R. I. (2005). Gradient projection algorithms and
    software for arbitrary rotation criteria in factor analysis. Educational and Psychological
    Measurement, 65, 676-696.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> f = rng.standard_normal((1000, 2))
    >>> x = np.repeat(f, 3, axis=1) + rng.standard_normal((1000, 6))
    >>> result = efa(x, n_factors=2, rotation="varimax")
    >>> result.factors, bool((np.abs(result.loading_matrix).max(axis=1) > 0.6).all())
    (('MR1', 'MR2'), True)
    """
    _check_efa_options(method=method, rotation=rotation, gamma=gamma)
    corr = correlations(data, n=n)
    p = len(corr.items)
    _check_n_factors(n_factors, p)
    with one_blas_thread():
        unrotated, extraction_converged = _extract(corr.matrix, n_factors, method, smc_start=True)
        loadings, phi, rotation_converged = _rotate(_signed(unrotated), rotation, gamma)
    communalities = np.sum(unrotated**2, axis=1)
    loadings, phi = _signed_pair(loadings, phi)
    order = _psych_order(loadings, phi)
    loadings, phi = loadings[:, order], phi[np.ix_(order, order)]
    # Like psych, a factor keeps the number it had before rotation (MR2 may come first).
    names = tuple(f"{_FACTOR_PREFIX[method]}{i + 1}" for i in order)
    return EFAResult(
        items=corr.items,
        factors=names,
        loading_matrix=loadings,
        h2=communalities,
        factor_correlation_matrix=phi,
        variance_accounted=_variance_accounted(loadings, phi, total=float(p)),
        method=method,
        rotation=rotation,
        n_factors=n_factors,
        gamma=float(gamma),
        n=corr.n,
        converged=extraction_converged and rotation_converged,
    )


def tucker_congruence(
    a: pd.DataFrame | np.ndarray, b: pd.DataFrame | np.ndarray
) -> CongruenceResult:
    """Tucker's congruence coefficient per factor, after matching the factors of ``b`` to ``a``.

    Factors are paired to maximise the summed absolute congruence (a linear assignment), and
    each factor of ``b`` is sign-flipped to agree with its partner, so a coefficient of 1.0
    means the same factor up to scale.

    Parameters
    ----------
    a, b : DataFrame or 2-D array
        Loading matrices with the same items in the same order and the same number of factors.
        An array's rows and factors are labelled by position; a 1-D array is one factor.

    Returns
    -------
    CongruenceResult

    References
    ----------
    Tucker, L. R. (1951). A method for synthesis of factor analysis studies. R:
    ``psych::factor.congruence``.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array([[0.8, 0.1], [0.7, 0.0], [0.1, 0.9], [0.0, 0.6]])
    >>> tucker_congruence(a, -a[:, ::-1]).coefficients.round(3).tolist()
    [1.0, 1.0]
    """
    x, _, factors_a = _loading_matrix(a, "a")
    y, items_b, factors_b = _loading_matrix(b, "b")
    if x.shape != y.shape:
        raise ValueError(f"loading matrices differ in shape: {x.shape} vs {y.shape}")
    # Imported here: scipy.optimize takes 0.17 s to import and nothing else in this module
    # needs it, so the analyze command does not pay for it.
    from scipy import optimize

    congruence = (x.T @ y) / np.outer(np.linalg.norm(x, axis=0), np.linalg.norm(y, axis=0))
    rows, cols = optimize.linear_sum_assignment(-np.abs(congruence))
    signs = np.sign(congruence[rows, cols])
    signs[signs == 0] = 1
    return CongruenceResult(
        factors=factors_a,
        coefficients=np.abs(congruence[rows, cols]),
        matched={str(factors_a[r]): str(factors_b[c]) for r, c in zip(rows, cols, strict=True)},
        items=items_b,
        aligned_loadings=y[:, cols] * signs,
    )


_FACTOR_PREFIX = {"minres": "MR", "ml": "ML", "pa": "PA"}


def _floats(labels: Sequence[Hashable], values: np.ndarray) -> dict[str, float]:
    return {str(label): float(v) for label, v in zip(labels, values, strict=True)}


def _rows(labels: Sequence[Hashable], matrix: np.ndarray) -> dict[str, list[float]]:
    return {str(label): [float(v) for v in row] for label, row in zip(labels, matrix, strict=True)}


def _checked_correlations(corr: Correlations, *, n: int | None, min_items: int) -> Correlations:
    """A Correlations checked as a correlation matrix given directly, with the agreed n."""
    values = np.asarray(corr.matrix, dtype=float)
    items = tuple(str(item) for item in corr.items)
    if values.shape != (len(items), len(items)):
        raise ValueError(
            f"the correlation matrix of {len(items)} items has the shape {values.shape}"
        )
    if len(items) < min_items:
        raise ValueError(f"need at least {min_items} item columns, got {len(items)}")
    if not _is_correlation_matrix(values):
        raise ValueError(
            "Correlations.matrix must be a correlation matrix: symmetric, with a unit diagonal "
            "and no NaN"
        )
    return Correlations(_checked_correlation_matrix(values, items), items, _agreed_n(corr, n))


def _agreed_n(corr: Correlations, n: int | None) -> int | None:
    """The n of a Correlations or the n given beside it: they must agree if both are given,
    since a test or a simulation on the wrong number of respondents is silently wrong."""
    carried, given = _checked_n(corr.n), _checked_n(n)
    if carried is not None and given is not None and carried != given:
        raise ValueError(f"n={given} disagrees with the n={carried} of the correlations")
    return carried if given is None else given


def _is_correlation_matrix(values: np.ndarray) -> bool:
    rows, cols = values.shape
    return (
        rows == cols
        and not np.isnan(values).any()
        and np.allclose(values, values.T)
        and np.allclose(np.diag(values), 1.0)
    )


def _checked_correlation_matrix(values: np.ndarray, items: tuple[str, ...]) -> np.ndarray:
    outside = np.abs(values) > 1 + 1e-12
    if outside.any():
        row, col = np.argwhere(outside)[0]
        raise ValueError(
            f"correlation between {items[row]!r} and {items[col]!r} is {values[row, col]}, "
            "outside [-1, 1]"
        )
    return (values + values.T) / 2


def _checked_n(n: int | None) -> int | None:
    if n is None:
        return None
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 2:
        raise ValueError(f"n must be an integer of at least 2 respondents, got {n!r}")
    return int(n)


def _required_n(corr: Correlations, function: str) -> int:
    if corr.n is None:
        raise ValueError(f"{function} needs n (the number of respondents) for a correlation matrix")
    return corr.n


def _check_parallel_options(*, iterations: int, method: str, quantile: float) -> None:
    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 1:
        raise ValueError(f"iterations must be a positive integer, got {iterations!r}")
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {METHODS}")
    if not 0 < quantile < 1:
        raise ValueError(f"quantile must be between 0 and 1, got {quantile!r}")


def _check_efa_options(*, method: str, rotation: str, gamma: float) -> None:
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {METHODS}")
    if rotation not in ROTATIONS:
        raise ValueError(f"unknown rotation {rotation!r}; expected one of {ROTATIONS}")
    if not np.isfinite(gamma) or (gamma != 0 and rotation != "oblimin"):
        raise ValueError(f"gamma={gamma!r} needs rotation='oblimin' and a finite value")


def _check_n_factors(n_factors: int, p: int) -> None:
    if isinstance(n_factors, bool) or not isinstance(n_factors, int | np.integer) or n_factors < 1:
        raise ValueError(f"n_factors must be a positive integer, got {n_factors!r}")
    degrees_of_freedom = ((p - n_factors) ** 2 - (p + n_factors)) / 2
    if degrees_of_freedom < 0:
        most = max(k for k in range(p + 1) if (p - k) ** 2 >= p + k)
        raise ValueError(
            f"n_factors={n_factors} is too many for {p} items (negative degrees of freedom); "
            f"at most {most}"
        )


def _descending_eigenvalues(matrices: np.ndarray) -> np.ndarray:
    return np.linalg.eigvalsh(matrices)[..., ::-1]


def _simulated_correlations(
    n: int, p: int, iterations: int, rng: np.random.Generator
) -> np.ndarray:
    """Correlation matrices of ``n`` x ``p`` standard normal data, via Bartlett's decomposition."""
    lower = np.tril(rng.standard_normal((iterations, p, p)), k=-1)
    diagonal = np.sqrt(rng.chisquare(n - 1 - np.arange(p), size=(iterations, p)))
    lower[:, np.arange(p), np.arange(p)] = diagonal
    wishart = lower @ lower.transpose(0, 2, 1)
    scale = 1 / np.sqrt(np.diagonal(wishart, axis1=1, axis2=2))
    return wishart * scale[:, :, None] * scale[:, None, :]


def _leading_exceedances(observed: np.ndarray, threshold: np.ndarray) -> int:
    below = np.flatnonzero(~(observed > threshold))
    return int(below[0]) if below.size else len(observed)


def _reduced_eigenvalues(r: np.ndarray, *, method: str, smc_start: bool) -> np.ndarray:
    """psych's fa(r, nfactors = 1)$values: eigenvalues of r with fitted communalities."""
    if method == "pa":
        return _principal_axis(r, 1, smc_start=smc_start)[2]
    loadings, _ = _extract(r, 1, method, smc_start=smc_start)
    reduced = r.copy()
    np.fill_diagonal(reduced, np.sum(loadings**2, axis=1))
    return _descending_eigenvalues(reduced)


def _smc(r: np.ndarray) -> np.ndarray:
    """Squared multiple correlations, clipped to [0, 1] as psych's smc does."""
    try:
        inverse = np.linalg.inv(r)
    except np.linalg.LinAlgError:
        inverse = np.linalg.pinv(r)
    return np.clip(1 - 1 / np.diag(inverse), 0.0, 1.0)


def _extract(r: np.ndarray, k: int, method: str, *, smc_start: bool) -> tuple[np.ndarray, bool]:
    """Unrotated loadings and whether the extraction converged.

    minres and ml minimize their discrepancy over the uniquenesses by L-BFGS-B, as psych's
    fa() does with optim(); analysis._bounded runs it without importing scipy.optimize.
    """
    if method == "pa":
        loadings, converged, _ = _principal_axis(r, k, smc_start=smc_start)
        return loadings, converged
    if method == "ml" and np.linalg.eigvalsh(r)[0] <= 0:
        raise ValueError("method='ml' needs a positive definite correlation matrix")
    objective = _ml_discrepancy if method == "ml" else _uls_discrepancy
    solution = minimize_within_bounds(
        objective,
        1 - _smc(r),
        _LOWER_UNIQUENESS,
        1.0,
        args=(r, k),
        ftol=1e-12,
        gtol=1e-8,
        max_iter=1000,
    )
    if method == "ml":
        return _ml_loadings(solution.x, r, k), solution.converged
    return _uls_loadings(solution.x, r, k), solution.converged


def _top_eigen(matrix: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    values, vectors = np.linalg.eigh(matrix)
    return values[::-1], vectors[:, ::-1][:, :k]


def _uls_loadings(uniquenesses: np.ndarray, r: np.ndarray, k: int) -> np.ndarray:
    values, vectors = _top_eigen(r - np.diag(uniquenesses), k)
    return vectors * np.sqrt(np.maximum(values[:k], 0))


def _uls_discrepancy(uniquenesses: np.ndarray, r: np.ndarray, k: int):
    """Half the squared residual of r - diag(u) around its best rank-k fit, and its gradient.

    psych's minres minimises the off-diagonal residuals with the gradient of this function
    (``FAgr.minres``); both have the same stationary point, where the diagonal fits exactly.
    """
    loadings = _uls_loadings(uniquenesses, r, k)
    residual = r - np.diag(uniquenesses) - loadings @ loadings.T
    return 0.5 * np.sum(residual**2), -np.diag(residual).copy()


def _ml_loadings(uniquenesses: np.ndarray, r: np.ndarray, k: int) -> np.ndarray:
    root = np.sqrt(uniquenesses)
    values, vectors = _top_eigen(r / np.outer(root, root), k)
    return root[:, None] * vectors * np.sqrt(np.maximum(values[:k] - 1, 0))


def _ml_discrepancy(uniquenesses: np.ndarray, r: np.ndarray, k: int):
    """psych's FAfn (the concentrated ML discrepancy) and its gradient FAgr."""
    root = np.sqrt(uniquenesses)
    values = np.linalg.eigvalsh(r / np.outer(root, root))[::-1]
    rest = values[k:]
    value = -(np.sum(np.log(rest) - rest) - k + len(r))
    loadings = _ml_loadings(uniquenesses, r, k)
    gradient = np.diag(loadings @ loadings.T + np.diag(uniquenesses) - r) / uniquenesses**2
    return value, gradient


def _principal_axis(r: np.ndarray, k: int, *, smc_start: bool):
    """psych's iterated principal axis; returns loadings, convergence and its eigenvalues."""
    reduced = r.copy()
    if smc_start:
        np.fill_diagonal(reduced, _smc(r))
    total = np.trace(reduced)
    for _ in range(_PA_MAX_ITERATIONS):
        values, vectors = _top_eigen(reduced, k)
        loadings = vectors * np.sqrt(np.maximum(values[:k], 0))
        communalities = np.sum(loadings**2, axis=1)
        np.fill_diagonal(reduced, communalities)
        change, total = abs(total - communalities.sum()), communalities.sum()
        if change < _PA_TOLERANCE:
            return loadings, True, values
    return loadings, False, values


def _signed(loadings: np.ndarray) -> np.ndarray:
    signs = np.sign(loadings.sum(axis=0))
    signs[signs == 0] = 1
    return loadings * signs


def _signed_pair(loadings: np.ndarray, phi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    signs = np.sign(loadings.sum(axis=0))
    signs[signs == 0] = 1
    return loadings * signs, phi * np.outer(signs, signs)


def _psych_order(loadings: np.ndarray, phi: np.ndarray) -> np.ndarray:
    explained = np.diag(phi @ loadings.T @ loadings)
    return np.argsort(-explained, kind="stable")


def _rotate(loadings: np.ndarray, rotation: str, gamma: float):
    """Rotated loadings, factor correlations and whether the rotation converged."""
    k = loadings.shape[1]
    if rotation == "none" or k == 1:
        return loadings, np.eye(k), True
    if rotation == "oblimin":
        result = oblimin(loadings, gamma=gamma)
        return result.loadings, result.factor_correlations, result.converged
    if rotation == "promax":
        rotated, phi = _promax(loadings)
        return rotated, phi, True
    return _varimax(loadings), np.eye(k), True


def _varimax(loadings: np.ndarray, *, max_iter: int = 1000, tolerance: float = 1e-5) -> np.ndarray:
    """R's ``stats::varimax`` with Kaiser normalization (``eps = 1e-5``), step by step as
    factor_analyzer 0.5.1's ``Rotator`` computes it, without importing its pandas and sklearn."""
    p, k = loadings.shape
    norms = np.sqrt(np.sum(loadings**2, axis=1))[:, np.newaxis]
    normalized = loadings / norms
    rotation = np.eye(k)
    criterion = 0.0
    for _ in range(max_iter):
        previous = criterion
        basis = normalized @ rotation
        column_squares = np.ones(p) @ basis**2
        u, singular_values, vt = np.linalg.svd(
            normalized.T @ (basis**3 - basis @ np.diag(column_squares) / p)
        )
        rotation = u @ vt
        criterion = np.sum(singular_values)
        if criterion < previous * (1 + tolerance):
            break
    return normalized @ rotation * norms


def _promax(loadings: np.ndarray, *, power: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """psych's ``Promax`` (Kaiser-normalized varimax, then the power-4 target fitted by least
    squares), as factor_analyzer 0.5.1's ``Rotator`` computes it; loadings and factor
    correlations."""
    root_h2 = np.sqrt(np.diag(loadings @ loadings.T))[:, np.newaxis]
    rotated = _varimax(loadings / root_h2)
    target = rotated * np.abs(rotated) ** (power - 1)
    coef = np.linalg.inv(rotated.T @ rotated) @ (rotated.T @ target)
    try:
        scale = np.diag(np.linalg.inv(coef.T @ coef))
    except np.linalg.LinAlgError:
        scale = np.diag(np.linalg.pinv(coef.T @ coef))
    coef = coef @ np.diag(np.sqrt(scale))
    coef_inverse = np.linalg.inv(coef)
    return rotated @ coef * root_h2, coef_inverse @ coef_inverse.T


def oblimin(
    loadings: np.ndarray, *, gamma: float = 0.0, tolerance: float = 1e-5, max_iter: int = 1000
) -> RotationResult:
    """Oblique oblimin rotation by gradient projection (GPArotation's ``oblimin``/``GPFoblq``).

    A line-by-line port of GPArotation 2022.10's ``GPFoblq`` with the ``vgQ.oblimin``
    criterion, without row normalization (its default, and what psych's ``fa`` uses).

    Parameters
    ----------
    loadings : 2-D array
        Unrotated loadings, items x factors (at least two factors).
    gamma : float
        0 quartimin, 0.5 biquartimin, 1 covarimin.
    tolerance, max_iter
        Convergence threshold on the projected gradient and iteration limit (``eps``,
        ``maxit``).

    Returns
    -------
    RotationResult
        Rotated loadings (in input order, unsigned), factor correlations and convergence.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array([[0.7, 0.3], [0.6, 0.4], [0.6, -0.4], [0.7, -0.3]])
    >>> result = oblimin(a)
    >>> rotated, phi = result.loadings, result.factor_correlations
    >>> result.converged, bool(np.allclose(rotated @ phi @ rotated.T, a @ a.T))
    (True, True)
    """
    a = np.asarray(loadings, dtype=float)
    if a.ndim != 2 or a.shape[1] < 2:
        raise ValueError(f"oblimin needs a loading matrix with two or more factors, got {a.shape}")
    p, k = a.shape
    off_diagonal = 1.0 - np.eye(k)

    def criterion(rotated: np.ndarray) -> tuple[np.ndarray, float]:
        weights = rotated**2 @ off_diagonal
        if gamma != 0:
            weights = weights - gamma * weights.mean(axis=0)
        return rotated * weights, float(np.sum(rotated**2 * weights) / 4)

    def gradient(rotated: np.ndarray, gq: np.ndarray, inverse: np.ndarray) -> np.ndarray:
        return -(rotated.T @ gq @ inverse).T

    transform = np.eye(k)
    rotated = a.copy()
    gq, value = criterion(rotated)
    grad = gradient(rotated, gq, np.eye(k))
    step = 1.0
    for _ in range(max_iter + 1):
        projected = grad - transform * np.sum(transform * grad, axis=0)
        size = np.sqrt(np.sum(projected**2))
        if size < tolerance:
            break
        step *= 2
        for _ in range(11):
            candidate = transform - step * projected
            candidate = candidate / np.sqrt(np.sum(candidate**2, axis=0))
            inverse = np.linalg.inv(candidate)
            rotated = a @ inverse.T
            gq, new_value = criterion(rotated)
            if value - new_value > 0.5 * size**2 * step:
                break
            step /= 2
        transform, value = candidate, new_value
        grad = gradient(rotated, gq, inverse)
    return RotationResult(rotated, transform.T @ transform, bool(size < tolerance))


def _variance_accounted(loadings: np.ndarray, phi: np.ndarray, *, total: float) -> np.ndarray:
    """psych's Vaccounted, one row per name in VARIANCE_ROWS."""
    explained = np.diag(phi @ loadings.T @ loadings)
    return np.vstack(
        [
            explained,
            explained / total,
            np.cumsum(explained) / total,
            explained / explained.sum(),
            np.cumsum(explained) / explained.sum(),
        ]
    )


def _loading_matrix(
    loadings: pd.DataFrame | np.ndarray, name: str
) -> tuple[np.ndarray, tuple[Hashable, ...], tuple[Hashable, ...]]:
    """A complete loading matrix as floats with its item and factor labels (an array's are
    positions, as pandas would give them; a 1-D array is one factor)."""
    if is_frame(loadings):
        values = loadings.to_numpy(dtype=float, na_value=np.nan)
    else:
        values = np.asarray(loadings, dtype=float)
    if values.ndim == 1:
        values = values[:, np.newaxis]
    if values.ndim != 2 or values.shape[1] < 1 or np.isnan(values).any():
        raise ValueError(f"{name} must be a complete items x factors loading matrix")
    if is_frame(loadings):
        return values, tuple(loadings.index), tuple(loadings.columns)
    return values, tuple(range(values.shape[0])), tuple(range(values.shape[1]))
