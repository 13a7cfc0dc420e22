"""Item response theory: Samejima's logistic graded response model by marginal maximum likelihood.

Reproduces R ltm 1.2-0 ``grm()`` (IRT parameterisation, 21 Gauss-Hermite points, the likelihood
over each respondent's observed items), with the standard errors from the observed information,
item and test information, EAP scores and marginal reliability.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special

from analysis._blas import one_blas_thread

__all__ = ["GRMResult", "IRTError", "eap_scores", "grm", "grm_by_scale"]

THETA_GRID = np.round(np.linspace(-4.0, 4.0, 81), 10)
_MAX_CATEGORIES = 20
_EXTREME_SLOPE = 10.0  # beyond this a logistic item is a step function on the theta scale


class IRTError(ValueError):
    """Responses the graded response model cannot be fitted to; the message names the item."""


@dataclass(frozen=True)
class GRMResult:
    """A fitted graded response model of one scale.

    Attributes
    ----------
    items : tuple of str
    categories : tuple of tuple of float
        Per item the answers observed, in order; ``b[j][k]`` lies between ``categories[j][k]``
        and ``categories[j][k + 1]``: at theta = b the probability of answering above it is 0.5.
    a, a_se : ndarray
        Discriminations and their standard errors.
    b, b_se : tuple of ndarray
        Per item the thresholds (IRT parameterisation, ltm's "Extrmt") and standard errors.
    covariance : ndarray
        Covariance matrix of the estimates, per item ``b_1 .. b_{K-1}, a`` (ltm's order).
    loglik : float
        The marginal log-likelihood at the maximum (as ltm: without the multinomial constant).
    n : int
        Respondents with at least one answer on the scale (the others carry no information).
    n_patterns : int
        Distinct response patterns.
    theta_eap, theta_sd : ndarray
        EAP score and posterior SD per row of the input; NaN for a row without any answer.
    marginal_reliability : float
        1 - the mean posterior variance of theta over the respondents (the prior variance is 1).
    theta : ndarray
        The grid of ``item_information`` and ``test_information`` (-4 to 4 by 0.1).
    item_information : ndarray
        items x grid; ``test_information`` is its column sum (without the prior's 1).
    converged : bool
    iterations : int
    quadrature_points : int
    notes : tuple of str
    """

    items: tuple[str, ...]
    categories: tuple[tuple[float, ...], ...]
    a: np.ndarray
    a_se: np.ndarray
    b: tuple[np.ndarray, ...]
    b_se: tuple[np.ndarray, ...]
    covariance: np.ndarray
    loglik: float
    n: int
    n_patterns: int
    theta_eap: np.ndarray
    theta_sd: np.ndarray
    marginal_reliability: float
    theta: np.ndarray
    item_information: np.ndarray
    converged: bool
    iterations: int
    quadrature_points: int
    notes: tuple[str, ...] = field(default=())

    @property
    def test_information(self) -> np.ndarray:
        return self.item_information.sum(axis=0)

    def information(self, theta) -> np.ndarray:
        """Item information (items x points) at the trait levels ``theta``."""
        return _item_information(self.a, self.b, np.atleast_1d(theta))

    @property
    def n_parameters(self) -> int:
        return int(sum(len(b) + 1 for b in self.b))

    def to_dict(self) -> dict:
        """JSON-ready (the keys ``irt.<scale>`` of ``healing-survey analyze --json``)."""
        items = {}
        for j, item in enumerate(self.items):
            items[item] = {
                "a": _float(self.a[j]),
                "b": [_float(v) for v in self.b[j]],
                "a_se": _float(self.a_se[j]),
                "b_se": [_float(v) for v in self.b_se[j]],
                "categories": [_answer(v) for v in self.categories[j]],
                "information": [_rounded(v) for v in self.item_information[j]],
            }
        return {
            "model": "graded response (logistic)",
            "n": self.n,
            "n_patterns": self.n_patterns,
            "loglik": _float(self.loglik),
            "aic": _float(-2 * self.loglik + 2 * self.n_parameters),
            "bic": _float(-2 * self.loglik + np.log(self.n) * self.n_parameters),
            "marginal_reliability": _float(self.marginal_reliability),
            "converged": self.converged,
            "iterations": self.iterations,
            "quadrature_points": self.quadrature_points,
            "items": items,
            "theta": [float(v) for v in self.theta],
            "test_information": [_rounded(v) for v in self.test_information],
            "notes": list(self.notes),
        }


def grm(
    data: pd.DataFrame,
    *,
    quadrature_points: int = 21,
    response_range: tuple[float, float] | None = None,
    max_iterations: int = 200,
) -> GRMResult:
    """Fit Samejima's logistic graded response model by marginal maximum likelihood.

    P(X_j >= c_k | theta) = 1 / (1 + exp(-a_j (theta - b_jk))), theta ~ N(0, 1), integrated
    over ``quadrature_points`` Gauss-Hermite nodes. The marginal likelihood is maximised by
    Newton-Raphson with its exact Hessian (Louis 1982), damped when it is not negative
    definite; the standard errors come from that observed information, transformed to the IRT
    parameterisation by the delta method. A respondent's likelihood runs over the items they
    answered, as in ltm; rows without any answer are left out of the fit and get no score.

    Parameters
    ----------
    data : DataFrame
        Respondents x items of one scale, keyed in one direction, NaN where not answered.
        Each item's distinct answers, in order, are its categories.
    quadrature_points : int
        Gauss-Hermite nodes (ltm's ``control = list(GHk = 21)``); also used for the EAP scores.
    response_range : (low, high), optional
        The scale's response range; an integer answer in it that nobody gave is named in the
        notes (the item then has fewer categories, and its thresholds are between the answers
        that were given).
    max_iterations : int
        Newton iterations before giving up (``converged`` is then False).

    Returns
    -------
    GRMResult

    Raises
    ------
    IRTError
        Fewer than two items, an item with fewer than two distinct answers or more than 20.

    References
    ----------
    Samejima, F. (1969). Estimation of latent ability using a response pattern of graded
    scores. Psychometrika Monograph 17. Rizopoulos, D. (2006). ltm: an R package for latent
    variable modelling and item response theory analyses. Journal of Statistical Software
    17(5) (R ``ltm::grm``). Louis, T. A. (1982). Finding the observed information matrix when
    using the EM algorithm. JRSS B 44, 226-233. Green, B. F., Bock, R. D., Humphreys, L. G.,
    Linn, R. L. and Reckase, M. D. (1984). Technical guidelines for assessing computerized
    adaptive tests. Journal of Educational Measurement 21, 347-360 (marginal reliability).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(3)
    >>> theta = rng.normal(size=1000)
    >>> b = np.array([-1.5, -0.5, 0.5, 1.5])
    >>> p = 1 / (1 + np.exp(-1.8 * (theta[:, None, None] - b)))
    >>> answers = 1 + (rng.random((1000, 4, 1)) < p).sum(axis=2)
    >>> fit = grm(pd.DataFrame(answers, columns=["i1", "i2", "i3", "i4"]))
    >>> fit.converged, round(float(fit.a.mean()), 1)
    (True, 1.8)
    """
    _check_options(quadrature_points, max_iterations)
    items = tuple(str(c) for c in data.columns)
    if len(items) < 2:
        raise IRTError(f"the graded response model needs at least two items, got {list(items)}")
    values = _numeric(data)
    codes, categories, notes = _categorize(values, items, response_range)
    answered = (codes >= 0).any(axis=1)
    patterns, counts, inverse = _patterns(codes[answered], categories)
    model = _Model(patterns, counts, [len(c) for c in categories], quadrature_points)
    # The products are patterns x nodes by nodes x parameters: too small for threaded BLAS,
    # whose threads only wait on each other (5x slower on a busy 2-core machine).
    with one_blas_thread():
        params, loglik, hessian, iterations, converged = model.maximize(
            model.start_values(), max_iterations=max_iterations
        )
        eap, sd = model.eap(params)
        a, b, covariance = model.irt_parameters(params, hessian, notes)
    a_se, b_se = model.split_errors(np.sqrt(np.clip(np.diag(covariance), 0, None)))
    notes += _fit_notes(items, a, converged=converged, max_iterations=max_iterations)
    theta_eap = np.full(len(codes), np.nan)
    theta_sd = np.full(len(codes), np.nan)
    theta_eap[answered] = eap[inverse]
    theta_sd[answered] = sd[inverse]
    return GRMResult(
        items=items,
        categories=tuple(tuple(float(v) for v in c) for c in categories),
        a=a,
        a_se=a_se,
        b=tuple(b),
        b_se=b_se,
        covariance=covariance,
        loglik=float(loglik),
        n=int(answered.sum()),
        n_patterns=len(patterns),
        theta_eap=theta_eap,
        theta_sd=theta_sd,
        marginal_reliability=float(1.0 - np.mean(theta_sd[answered] ** 2)),
        theta=THETA_GRID.copy(),
        item_information=_item_information(a, tuple(b), THETA_GRID),
        converged=converged,
        iterations=iterations,
        quadrature_points=quadrature_points,
        notes=tuple(notes),
    )


def eap_scores(fit: GRMResult, data: pd.DataFrame) -> pd.DataFrame:
    """EAP scores and posterior SDs of response patterns under a fitted model.

    The posterior runs over the fit's quadrature nodes and a standard normal prior, as ltm's
    ``factor.scores(fit, resp.patterns = data, method = "EAP")``; missing answers are left out
    of the likelihood, and a row without any answer gets NaN.

    Parameters
    ----------
    fit : GRMResult
    data : DataFrame
        Columns named as ``fit.items``; answers among the categories the fit saw.

    Returns
    -------
    DataFrame
        Columns ``theta_eap`` and ``theta_sd``, the index of ``data``.

    Examples
    --------
    >>> import pandas as pd
    >>> answers = pd.DataFrame({"x": [1, 2, 3, 2, 1, 3], "y": [1, 2, 3, 3, 1, 2],
    ...                         "z": [1, 3, 3, 2, 2, 3]})
    >>> scores = eap_scores(grm(answers), pd.DataFrame({"x": [3], "y": [3], "z": [3]}))
    >>> bool(scores["theta_eap"].iloc[0] > 0)
    True
    """
    absent = [item for item in fit.items if item not in data.columns]
    if absent:
        raise IRTError(f"items of the fitted model not in the data: {absent}")
    values = _numeric(data[list(fit.items)])
    codes = np.full(values.shape, -1, dtype=np.int16)
    for j, item in enumerate(fit.items):
        given = ~np.isnan(values[:, j])
        known = np.asarray(fit.categories[j])
        position = np.searchsorted(known, values[given, j])
        inside = (position < len(known)) & (
            known[np.minimum(position, len(known) - 1)] == values[given, j]
        )
        if not inside.all():
            unknown = sorted(set(values[given, j][~inside].tolist()))
            raise IRTError(
                f"item {item}: answers {', '.join(_number(v) for v in unknown)} are not among "
                f"the categories of the fit ({', '.join(_number(v) for v in known)})"
            )
        codes[given, j] = position
    answered = (codes >= 0).any(axis=1)
    model = _Model(
        codes, np.ones(len(codes)), [len(c) for c in fit.categories], fit.quadrature_points
    )
    params = np.concatenate([[a, *(-a * b)] for a, b in zip(fit.a, fit.b, strict=True)])
    with one_blas_thread():
        mean, sd = model.eap(params)
    return pd.DataFrame(
        {"theta_eap": np.where(answered, mean, np.nan), "theta_sd": np.where(answered, sd, np.nan)},
        index=data.index,
    )


def grm_by_scale(
    data: pd.DataFrame,
    scales: Mapping[str, tuple[str, ...]],
    *,
    quadrature_points: int = 21,
    response_range: tuple[float, float] | None = None,
) -> tuple[dict[str, GRMResult], tuple[str, ...]]:
    """One graded response model per scale of keyed responses; scales under three items are
    skipped (two items do not identify their discriminations) and named in the notes.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"x": [1, 2, 3, 2], "y": [2, 2, 3, 1]})
    >>> fits, notes = grm_by_scale(frame, {"short": ("x", "y")})
    >>> fits, notes
    ({}, ('scale short: the graded response model needs at least three items; not fitted',))
    """
    fits: dict[str, GRMResult] = {}
    notes = []
    for name, members in scales.items():
        if len(members) < 3:
            notes.append(
                f"scale {name}: the graded response model needs at least three items; not fitted"
            )
            continue
        try:
            fits[name] = grm(
                data[list(members)],
                quadrature_points=quadrature_points,
                response_range=response_range,
            )
        except IRTError as error:
            raise IRTError(f"scale {name}: {error}") from None
    return fits, tuple(notes)


def _fit_notes(items, a, *, converged: bool, max_iterations: int) -> list[str]:
    """What a reader of the estimates must know: no convergence, degenerate or reversed items."""
    notes = []
    if not converged:
        notes.append(
            f"the estimates did not converge in {max_iterations} iterations; treat them "
            "with caution"
        )
    extreme = [
        f"{item} (a = {slope:.1f})"
        for item, slope in zip(items, a, strict=True)
        if abs(slope) > _EXTREME_SLOPE
    ]
    if extreme:
        notes.append(
            f"extreme discrimination: {', '.join(extreme)}; the likelihood rises without a "
            "finite maximum (answers nearly determined by the other items, or too few "
            "respondents): its estimates and standard errors are not meaningful"
        )
    negative = [item for item, slope in zip(items, a, strict=True) if slope < 0]
    if negative:
        notes.append(
            f"negative discrimination: {', '.join(negative)} (reverse-keyed in the "
            "specification? the model assumes all items are keyed one way)"
        )
    return notes


def _check_options(quadrature_points, max_iterations) -> None:
    if isinstance(quadrature_points, bool) or not isinstance(quadrature_points, int):
        raise ValueError(f"quadrature_points must be an integer, got {quadrature_points!r}")
    if not 5 <= quadrature_points <= 101:
        raise ValueError(f"quadrature_points must be between 5 and 101, got {quadrature_points}")
    if isinstance(max_iterations, bool) or not isinstance(max_iterations, int):
        raise ValueError(f"max_iterations must be an integer, got {max_iterations!r}")
    if max_iterations < 1:
        raise ValueError(f"max_iterations must be positive, got {max_iterations}")


def _numeric(data: pd.DataFrame) -> np.ndarray:
    try:
        values = data.to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError):
        bad = [c for c in data.columns if not pd.api.types.is_numeric_dtype(data[c])]
        raise IRTError(f"items with non-numeric answers: {bad}") from None
    if np.isinf(values).any():
        bad = [str(c) for c, col in zip(data.columns, values.T, strict=True) if np.isinf(col).any()]
        raise IRTError(f"items with infinite answers: {bad}")
    return values


def _categorize(values, items, response_range):
    """Each item's answers as category codes 0..K-1 (-1 = missing), and its categories."""
    codes = np.full(values.shape, -1, dtype=np.int16)
    categories = []
    notes = []
    for j, item in enumerate(items):
        column = values[:, j]
        given = ~np.isnan(column)
        observed = np.unique(column[given])
        if len(observed) < 2:
            shown = "no answer" if len(observed) == 0 else f"only the answer {_number(observed[0])}"
            raise IRTError(f"item {item} has {shown}; the model needs at least two categories")
        if len(observed) > _MAX_CATEGORIES:
            raise IRTError(
                f"item {item} has {len(observed)} distinct answers; the graded response model "
                f"takes ordered categories (at most {_MAX_CATEGORIES})"
            )
        codes[given, j] = np.searchsorted(observed, column[given])
        categories.append(observed)
        unused = _unused(observed, response_range)
        if unused:
            notes.append(
                f"item {item}: nobody answered {', '.join(_number(v) for v in unused)}; its "
                f"thresholds lie between the {len(observed)} answers given"
            )
    return codes, categories, notes


def _unused(observed: np.ndarray, response_range) -> list[float]:
    if response_range is None:
        return []
    low, high = response_range
    if not (float(low).is_integer() and float(high).is_integer()):
        return []
    given = set(observed.tolist())
    return [v for v in range(int(low), int(high) + 1) if v not in given]


def _patterns(codes: np.ndarray, categories) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct rows of ``codes`` with their counts and each row's pattern index."""
    radix = np.array([len(c) + 1 for c in categories], dtype=np.int64)
    if np.sum(np.log2(radix)) < 62:
        weights = np.concatenate([[1], np.cumprod(radix[:-1])])
        keys = (codes.astype(np.int64) + 1) @ weights
        _, first, inverse, counts = np.unique(
            keys, return_index=True, return_inverse=True, return_counts=True
        )
        return codes[first], counts.astype(float), inverse.ravel()
    patterns, inverse, counts = np.unique(codes, axis=0, return_inverse=True, return_counts=True)
    return patterns, counts.astype(float), inverse.ravel()


class _Model:
    """The marginal likelihood of the response patterns, in the slope-intercept form
    P(X >= k) = logistic(a theta + d_k) with d_1 > d_2 > ...; b_k = -d_k / a."""

    def __init__(self, patterns, counts, n_categories, quadrature_points):
        self.patterns = patterns
        self.counts = counts
        self.n_categories = n_categories
        nodes, weights = np.polynomial.hermite.hermgauss(quadrature_points)
        self.nodes = np.sqrt(2.0) * nodes
        self.log_weights = np.log(weights / np.sqrt(np.pi))
        self.sizes = np.array(n_categories)  # parameters per item: a and K - 1 intercepts
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)])
        # Missing answers index an extra row of zeros in the per-item tables.
        self.index = np.where(patterns >= 0, patterns, np.array(n_categories)[None, :])

    def item_params(self, params):
        for j, _ in enumerate(self.n_categories):
            block = params[self.offsets[j] : self.offsets[j + 1]]
            yield block[0], block[1:]

    def start_values(self) -> np.ndarray:
        """Discriminations from item-rest correlations, intercepts from the cumulative
        proportions, both by the normal-ogive approximation of the logistic."""
        answers = np.where(self.patterns >= 0, self.patterns, np.nan).astype(float)
        means = np.nansum(answers * self.counts[:, None], axis=0) / np.sum(
            (self.patterns >= 0) * self.counts[:, None], axis=0
        )
        filled = np.where(np.isnan(answers), means, answers)
        total = filled.sum(axis=1)
        params = []
        for j, k in enumerate(self.n_categories):
            r = _weighted_correlation(filled[:, j], total - filled[:, j], self.counts)
            loading = np.clip(r * 1.2, -0.9, 0.9) if np.isfinite(r) else 0.5
            given = self.patterns[:, j] >= 0
            freq = np.bincount(self.patterns[given, j], weights=self.counts[given], minlength=k)
            above = 1.0 - np.cumsum(freq)[:-1] / freq.sum()
            above = np.clip(above, 1e-4, 1 - 1e-4)
            scale = 1.702 / np.sqrt(1.0 - loading**2)
            params.append([loading * scale, *(special.ndtri(above) * scale)])
        return np.concatenate(params)

    def _category_tables(self, a, d, theta, *, second=False):
        """Probabilities of the categories at ``theta`` and their derivatives with respect to
        (a, d_1, .., d_{K-1}): P (K x T), dP (K x T x K), d2P (K x T x K x K)."""
        k = len(d) + 1
        eta = a * theta[None, :] + d[:, None]
        upper = special.expit(eta)
        lower = special.expit(-eta)
        ones = np.ones((1, len(theta)))
        zeros = np.zeros((1, len(theta)))
        cum = np.vstack([ones, upper, zeros])  # P(X >= c), c = 0..K
        comp = np.vstack([zeros, lower, ones])  # 1 - P(X >= c)
        # Differences taken on the side away from 1, where they do not cancel.
        prob = np.where(np.vstack([eta, zeros]) > 0, comp[1:] - comp[:-1], cum[:-1] - cum[1:])
        prob = np.maximum(prob, 1e-300)
        slope = cum * comp  # W_c = P*(1 - P*), zero at c = 0 and c = K
        sign = np.eye(k, k - 1, -1) - np.eye(k, k - 1, 0)  # d_c raises P_c, d_{c+1} lowers it
        d_prob = np.empty((k, len(theta), k))
        d_prob[:, :, 0] = theta * (slope[:-1] - slope[1:])
        d_prob[:, :, 1:] = sign[:, None, :] * slope[1:-1].T[None, :, :]
        if not second:
            return prob, d_prob, None
        curve = slope * (1.0 - 2.0 * cum)  # dW/d eta
        d2 = np.zeros((k, len(theta), k, k))
        d2[:, :, 0, 0] = theta**2 * (curve[:-1] - curve[1:])
        cross = sign[:, None, :] * curve[1:-1].T[None, :, :]
        d2[:, :, 0, 1:] = theta[None, :, None] * cross
        d2[:, :, 1:, 0] = d2[:, :, 0, 1:]
        diag = np.arange(1, k)
        d2[:, :, diag, diag] = cross
        return prob, d_prob, d2

    def _log_tables(self, params, *, second):
        """Per item: log P, d log P, d2 log P at the nodes, each with a zero row for missing."""
        tables = []
        for a, d in self.item_params(params):
            prob, d_prob, d2_prob = self._category_tables(a, d, self.nodes, second=second)
            score = d_prob / prob[:, :, None]
            log_prob = np.vstack([np.log(prob), np.zeros((1, len(self.nodes)))])
            score = np.concatenate([score, np.zeros((1, *score.shape[1:]))])
            curvature = None
            if second:
                curvature = (
                    d2_prob / prob[:, :, None, None]
                    - score[:-1, :, :, None] * (score[:-1, :, None, :])
                )
            tables.append((log_prob, score, curvature))
        return tables

    def _posterior(self, tables):
        log_joint = np.tile(self.log_weights, (len(self.patterns), 1))
        for j, (log_prob, _, _) in enumerate(tables):
            log_joint += log_prob[self.index[:, j]]
        peak = log_joint.max(axis=1, keepdims=True)
        posterior = np.exp(log_joint - peak)
        total = posterior.sum(axis=1, keepdims=True)
        posterior /= total
        log_marginal = np.log(total[:, 0]) + peak[:, 0]
        return float(self.counts @ log_marginal), posterior

    def loglik(self, params) -> float:
        return self._posterior(self._log_tables(params, second=False))[0]

    def derivatives(self, params):
        """Log-likelihood, gradient and Hessian (Louis 1982: the expected complete-data Hessian
        plus the posterior covariance of the complete-data scores).

        The posterior moments are sums over (answer of item j, answer of item k, node) cells,
        so they come from expected counts in those cells (one ``bincount`` per item pair),
        never from arrays of patterns x nodes x parameters.
        """
        tables = self._log_tables(params, second=True)
        loglik, posterior = self._posterior(tables)
        weighted = posterior * self.counts[:, None]
        q = len(self.nodes)
        n_params = int(self.offsets[-1])
        gradient = np.empty(n_params)
        hessian = np.zeros((n_params, n_params))
        spans = [slice(self.offsets[j], self.offsets[j + 1]) for j in range(len(tables))]
        node = np.arange(q)
        flat_weights = weighted.ravel()
        mean_score = np.empty((len(self.patterns), n_params))
        for j, (_, score, curvature) in enumerate(tables):
            k = self.n_categories[j]
            cells = (self.index[:, j][:, None] * q + node).ravel()
            expected = np.bincount(cells, weights=flat_weights, minlength=(k + 1) * q)
            expected = expected.reshape(k + 1, q)[:k]
            gradient[spans[j]] = np.einsum("cq,cqp->p", expected, score[:k])
            hessian[spans[j], spans[j]] += np.einsum(
                "cq,cqpr->pr", expected, curvature + score[:k, :, :, None] * score[:k, :, None, :]
            )
            # Posterior mean of item j's score per pattern: pick the row of its answer.
            by_answer = posterior @ score.transpose(1, 0, 2).reshape(q, -1)
            by_answer = by_answer.reshape(len(self.patterns), k + 1, -1)
            mean_score[:, spans[j]] = by_answer[np.arange(len(self.patterns)), self.index[:, j]]
            for i in range(j):
                size = self.n_categories[i] + 1
                pair = ((self.index[:, j] * size + self.index[:, i])[:, None] * q + node).ravel()
                table = np.bincount(pair, weights=flat_weights, minlength=(k + 1) * size * q)
                table = table.reshape(k + 1, size, q)[:k, : size - 1]
                block = np.einsum("cdq,cqp,dqr->pr", table, score[:k], tables[i][1][: size - 1])
                hessian[spans[j], spans[i]] += block
                hessian[spans[i], spans[j]] += block.T
        hessian -= (mean_score * self.counts[:, None]).T @ mean_score
        return loglik, gradient, hessian

    def _ordered(self, params) -> bool:
        return all(np.all(np.diff(d) < 0) for _, d in self.item_params(params))

    def maximize(self, params, *, max_iterations):
        """Damped Newton-Raphson (Levenberg-Marquardt) on the marginal log-likelihood."""
        damping = 0.0
        loglik, gradient, hessian = self.derivatives(params)
        for iteration in range(1, max_iterations + 1):
            step = self._step(hessian, gradient, damping)
            candidate = params + step if step is not None else None
            if candidate is not None and self._ordered(candidate):
                new_loglik = self.loglik(candidate)
                if new_loglik >= loglik - 1e-9 * abs(loglik):
                    params = candidate
                    converged = np.max(np.abs(step)) < 1e-7 or abs(new_loglik - loglik) < 1e-11
                    loglik, gradient, hessian = self.derivatives(params)
                    damping = damping / 10 if damping > 1e-6 else 0.0
                    if converged:
                        return params, loglik, hessian, iteration, True
                    continue
            scale = np.max(np.abs(np.diag(hessian))) or 1.0
            damping = max(damping * 10, 1e-6 * scale)
            if damping > 1e12 * scale:
                break
        return params, loglik, hessian, max_iterations, False

    @staticmethod
    def _step(hessian, gradient, damping):
        information = -hessian + damping * np.diag(np.maximum(np.abs(np.diag(hessian)), 1e-8))
        try:
            factor = np.linalg.cholesky(information)
        except np.linalg.LinAlgError:
            return None
        return np.linalg.solve(factor.T, np.linalg.solve(factor, gradient))

    def irt_parameters(self, params, hessian, notes):
        """a, b and the covariance of (b_1 .. b_{K-1}, a) per item by the delta method."""
        n_params = len(params)
        jacobian = np.zeros((n_params, n_params))
        a_values, b_values = [], []
        for j, (a, d) in enumerate(self.item_params(params)):
            base = self.offsets[j]
            k = len(d)
            a_values.append(a)
            b_values.append(-d / a)
            # rows: b_1..b_{K-1}, a; columns: a, d_1..d_{K-1}
            jacobian[base + np.arange(k), base] = d / a**2
            jacobian[base + np.arange(k), base + 1 + np.arange(k)] = -1.0 / a
            jacobian[base + k, base] = 1.0
        try:
            information = -hessian
            np.linalg.cholesky(information)
            covariance = np.linalg.inv(information)
        except np.linalg.LinAlgError:
            notes.append(
                "the information matrix is not positive definite at the estimates; no "
                "standard errors"
            )
            covariance = np.full((n_params, n_params), np.nan)
        return np.array(a_values), b_values, jacobian @ covariance @ jacobian.T

    def split_errors(self, errors):
        a_se, b_se = [], []
        for j in range(len(self.n_categories)):
            block = errors[self.offsets[j] : self.offsets[j + 1]]
            a_se.append(block[-1])
            b_se.append(block[:-1])
        return np.array(a_se), tuple(b_se)

    def eap(self, params):
        _, posterior = self._posterior(self._log_tables(params, second=False))
        mean = posterior @ self.nodes
        variance = posterior @ self.nodes**2 - mean**2
        return mean, np.sqrt(np.clip(variance, 0, None))


def _item_information(a: np.ndarray, b: tuple[np.ndarray, ...], theta: np.ndarray) -> np.ndarray:
    """a^2 sum_c (W_c - W_{c+1})^2 / P_c with W_c = P*_c (1 - P*_c): Samejima's item
    information at ``theta`` (ltm's ``infoprobs``)."""
    theta = np.asarray(theta, dtype=float)
    rows = []
    for slope, thresholds in zip(a, b, strict=True):
        cum = special.expit(slope * (theta[None, :] - np.asarray(thresholds)[:, None]))
        cum = np.vstack([np.ones_like(theta), cum, np.zeros_like(theta)])
        prob = np.maximum(cum[:-1] - cum[1:], 1e-300)
        weight = cum * (1.0 - cum)
        rows.append(slope**2 * np.sum((weight[:-1] - weight[1:]) ** 2 / prob, axis=0))
    return np.array(rows)


def _weighted_correlation(x, y, weights) -> float:
    total = weights.sum()
    mx, my = weights @ x / total, weights @ y / total
    cov = weights @ ((x - mx) * (y - my))
    var = np.sqrt((weights @ (x - mx) ** 2) * (weights @ (y - my) ** 2))
    return float(cov / var) if var > 0 else float("nan")


def _float(value) -> float | None:
    value = float(value)
    return None if np.isnan(value) or np.isinf(value) else value


def _rounded(value) -> float | None:
    value = _float(value)
    return None if value is None else round(value, 6)


def _number(value) -> str:
    return f"{float(value):g}"


def _answer(value) -> int | float:
    value = float(value)
    return int(value) if value.is_integer() else value
