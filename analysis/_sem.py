"""Multi-group confirmatory factor models with lavaan's ``group.equal`` constraints.

The parameter layout (which loadings, variances, intercepts, thresholds and scale factors are
free, and which are shared across groups) follows lavaan 0.6's ``cfa(..., group=,
group.equal=)`` defaults; the model-implied moments are written so that a complex-step
derivative gives their exact Jacobian. Fitting: Fisher scoring for ML, Gauss-Newton for DWLS.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from analysis import distributions

_STEP = 1e-30  # complex step: exact first derivatives of the (polynomial) moments
_TOLERANCE = 1e-10
_MAX_ITERATIONS = 300


@dataclass(frozen=True)
class Layout:
    """Free-parameter indices (-1 = fixed) of every model matrix, per group."""

    kind: str  # "ml" or "dwls"
    items: tuple[str, ...]
    factors: tuple[str, ...]
    loading: np.ndarray  # groups x items x factors
    loading_fixed: np.ndarray
    phi: np.ndarray  # groups x factors x factors (symmetric indices)
    residual: np.ndarray  # groups x items (ML)
    intercept: np.ndarray  # groups x items (ML)
    latent_mean: np.ndarray  # groups x factors
    threshold: np.ndarray  # groups x items x widest thresholds (DWLS)
    scale: np.ndarray  # groups x items (DWLS delta scale factors)
    n_thresholds: np.ndarray  # items
    n_free: int
    meanstructure: bool

    @property
    def n_groups(self) -> int:
        return self.loading.shape[0]


def build_layout(
    kind: str,
    items: Sequence[str],
    factor_items: Mapping[str, Sequence[str]],
    *,
    n_groups: int = 1,
    equal: frozenset[str] = frozenset(),
    n_thresholds: np.ndarray | None = None,
) -> Layout:
    """lavaan's parameter table for a simple-structure CFA, marker-identified.

    ML with several groups has a mean structure (intercepts free per group, latent means 0);
    ``equal`` holds lavaan's ``group.equal`` words: ``"loadings"``, ``"intercepts"``,
    ``"thresholds"``. With equal intercepts the latent means of groups 2..G are freed; with
    equal thresholds (DWLS, delta parameterization) the latent means and the scale factors of
    groups 2..G are freed, as lavaan 0.6-14 does (binary items included).
    """
    p, factors = len(items), tuple(factor_items)
    m, groups = len(factors), n_groups
    position = {item: i for i, item in enumerate(items)}
    counter = iter(range(1_000_000))
    loading = np.full((groups, p, m), -1)
    loading_fixed = np.zeros((groups, p, m))
    for f, factor in enumerate(factors):
        for rank, item in enumerate(factor_items[factor]):
            i = position[item]
            for g in range(groups):
                if rank == 0:
                    loading_fixed[g, i, f] = 1.0
                elif g > 0 and "loadings" in equal:
                    loading[g, i, f] = loading[0, i, f]
                else:
                    loading[g, i, f] = next(counter)
    phi = np.full((groups, m, m), -1)
    for g in range(groups):
        for a in range(m):
            for b in range(a + 1):
                phi[g, a, b] = phi[g, b, a] = next(counter)
    residual = np.full((groups, p), -1)
    intercept = np.full((groups, p), -1)
    latent_mean = np.full((groups, m), -1)
    widest = 0 if n_thresholds is None else int(np.max(n_thresholds))
    threshold = np.full((groups, p, widest), -1)
    scale = np.full((groups, p), -1)
    meanstructure = kind == "dwls" or groups > 1
    for g in range(groups):
        if kind == "ml":
            residual[g] = [next(counter) for _ in range(p)]
            if meanstructure:
                shared = g > 0 and "intercepts" in equal
                intercept[g] = intercept[0] if shared else [next(counter) for _ in range(p)]
        else:
            for i in range(p):
                for k in range(int(n_thresholds[i])):
                    shared = g > 0 and "thresholds" in equal
                    threshold[g, i, k] = threshold[0, i, k] if shared else next(counter)
                # lavaan 0.6-14 frees them for binary items too (0.6-20 no longer does)
                if g > 0 and "thresholds" in equal:
                    scale[g, i] = next(counter)
        # lavaan 0.6-14 frees the latent means of groups 2..G with equal intercepts, and for
        # ordinal data also with equal thresholds (with the scale factors, above)
        if g > 0 and ("intercepts" in equal or (kind == "dwls" and "thresholds" in equal)):
            latent_mean[g] = [next(counter) for _ in range(m)]
    return Layout(
        kind=kind,
        items=tuple(items),
        factors=factors,
        loading=loading,
        loading_fixed=loading_fixed,
        phi=phi,
        residual=residual,
        intercept=intercept,
        latent_mean=latent_mean,
        threshold=threshold,
        scale=scale,
        n_thresholds=np.zeros(p, int) if n_thresholds is None else np.asarray(n_thresholds),
        n_free=next(counter),
        meanstructure=meanstructure,
    )


def _fill(index: np.ndarray, theta: np.ndarray, fixed) -> np.ndarray:
    """Matrix of parameters (leading batch dimensions of ``theta`` carried along)."""
    values = theta[..., np.maximum(index, 0)]
    return np.where(index >= 0, values, fixed)


@dataclass(frozen=True)
class GroupMatrices:
    loadings: np.ndarray
    phi: np.ndarray
    residuals: np.ndarray
    intercepts: np.ndarray
    latent_means: np.ndarray
    thresholds: np.ndarray
    scales: np.ndarray


def matrices(layout: Layout, theta: np.ndarray, g: int) -> GroupMatrices:
    """The model matrices of group ``g`` at ``theta`` (complex, batched ``theta`` allowed)."""
    return GroupMatrices(
        loadings=_fill(layout.loading[g], theta, layout.loading_fixed[g]),
        phi=_fill(layout.phi[g], theta, 0.0),
        residuals=_fill(layout.residual[g], theta, 0.0),
        intercepts=_fill(layout.intercept[g], theta, 0.0),
        latent_means=_fill(layout.latent_mean[g], theta, 0.0),
        thresholds=_fill(layout.threshold[g], theta, 0.0),
        scales=_fill(layout.scale[g], theta, 1.0),
    )


def implied_ml(layout: Layout, theta: np.ndarray, g: int) -> tuple[np.ndarray, np.ndarray]:
    """Sigma = L Phi L' + diag(psi), mu = nu + L alpha."""
    mats = matrices(layout, theta, g)
    lam = mats.loadings
    sigma = lam @ mats.phi @ _t(lam) + mats.residuals[..., None] * np.eye(len(layout.items))
    return sigma, mats.intercepts + (lam @ mats.latent_means[..., None])[..., 0]


def _t(matrix: np.ndarray) -> np.ndarray:
    return np.swapaxes(matrix, -1, -2)


def implied_dwls(layout: Layout, theta: np.ndarray, g: int) -> np.ndarray:
    """lavaan's ``WLS.est`` in the delta parameterization: thresholds, then correlations.

    Thresholds ``delta_i (tau_ik - (L alpha)_i)``; correlations ``delta_i delta_j (L Phi L')_ij``
    (residual variances make the diagonal one).
    """
    mats = matrices(layout, theta, g)
    lam = mats.loadings
    common = lam @ mats.phi @ _t(lam)
    delta = mats.scales
    used = np.arange(layout.threshold.shape[2])[None, :] < layout.n_thresholds[:, None]
    means = (lam @ mats.latent_means[..., None])[..., 0]
    thresholds = delta[..., None] * (mats.thresholds - means[..., None])
    first, second = np.triu_indices(len(layout.items), k=1)
    correlations = delta[..., first] * delta[..., second] * common[..., first, second]
    return np.concatenate([thresholds[..., used], correlations], axis=-1)


def jacobian(function, theta: np.ndarray) -> np.ndarray:
    """Exact Jacobian of a polynomial-in-theta array function by the complex step.

    ``function`` takes a batch of parameter vectors (k x n_free) and returns k x outputs.
    """
    shifted = theta[None, :] + 1j * _STEP * np.eye(len(theta))
    values = function(shifted)
    return np.imag(values.reshape(len(theta), -1)).T / _STEP


# ---------------------------------------------------------------------------------------------
# starting values


def start_values(layout: Layout, covariances: Sequence[np.ndarray], means=None, thresholds=None):
    """Starting values per group from each factor's first principal component."""
    theta = np.zeros(layout.n_free)
    for g in reversed(range(layout.n_groups)):  # group 1 written last: shared values are its own
        cov = covariances[g]
        lam = layout.loading_fixed[g].copy()
        phi = np.zeros((len(layout.factors),) * 2)
        pattern = (layout.loading[g] >= 0) | (layout.loading_fixed[g] != 0)
        for f in range(len(layout.factors)):
            members = np.flatnonzero(pattern[:, f])
            values, vectors = np.linalg.eigh(cov[np.ix_(members, members)])
            component = vectors[:, -1] * np.sqrt(max(values[-1], 1e-6))
            marker = members[np.argmax(layout.loading_fixed[g][members, f])]
            marker_value = component[list(members).index(marker)]
            if abs(marker_value) < 1e-3:
                marker_value = 1e-3
            lam[members, f] = component / marker_value
            phi[f, f] = marker_value**2
        for a in range(phi.shape[0]):
            for b in range(a):
                rows, cols = np.flatnonzero(pattern[:, a]), np.flatnonzero(pattern[:, b])
                outer = np.outer(lam[rows, a], lam[cols, b])
                block = cov[np.ix_(rows, cols)]
                phi[a, b] = phi[b, a] = np.sum(block * outer) / np.sum(outer**2)
        _assign(theta, layout.loading[g], lam)
        _assign(theta, layout.phi[g], phi)
        if layout.kind == "ml":
            common = np.einsum("if,fg,ig->i", lam, phi, lam)
            diag = np.diag(cov)
            _assign(theta, layout.residual[g], np.maximum(diag - common, 0.1 * diag))
            if layout.meanstructure:
                _assign(theta, layout.intercept[g], means[g])
        else:
            _assign(theta, layout.threshold[g], thresholds[g])
            _assign(theta, layout.scale[g], np.ones(len(layout.items)))
        _assign(theta, layout.latent_mean[g], np.zeros(len(layout.factors)))
    return theta


def _assign(theta: np.ndarray, index: np.ndarray, values) -> None:
    values = np.broadcast_to(values, index.shape)
    free = index >= 0
    theta[index[free]] = values[free]


# ---------------------------------------------------------------------------------------------
# fitting


def fit_dwls(layout, observed, weights, n_obs, start) -> tuple[np.ndarray, bool]:
    """Minimise sum_g (N_g - 1) sum w_g (s_g - sigma_g)^2 by Gauss-Newton with step halving."""
    theta = start.copy()
    factor = np.asarray(n_obs, float) - 1

    def objective(values):
        return sum(
            factor[g] * np.sum(weights[g] * (observed[g] - implied_dwls(layout, values, g)) ** 2)
            for g in range(layout.n_groups)
        )

    current = objective(theta)
    for _ in range(_MAX_ITERATIONS):
        hessian = np.zeros((layout.n_free,) * 2)
        gradient = np.zeros(layout.n_free)
        for g in range(layout.n_groups):
            delta = jacobian(lambda v, g=g: implied_dwls(layout, v, g), theta)
            residual = observed[g] - implied_dwls(layout, theta, g)
            weighted = delta * weights[g][:, None]
            hessian += factor[g] * weighted.T @ delta
            gradient += factor[g] * weighted.T @ residual
        step = solve_information(hessian, gradient)
        theta, current, done = _line_search(objective, theta, step, current, gradient)
        if done:
            return theta, True
    return theta, False


def fit_ml(layout, covariances, means, n_obs, start) -> tuple[np.ndarray, bool]:
    """Fisher scoring of the multi-group ML discrepancy (lavaan: S with denominator N)."""
    theta = start.copy()
    counts = np.asarray(n_obs, float)

    def objective(values):
        total = 0.0
        for g in range(layout.n_groups):
            value = ml_discrepancy(layout, values, g, covariances[g], means[g])
            if not np.isfinite(value):
                return np.inf
            total += counts[g] * value
        return total

    current = objective(theta)
    for _ in range(_MAX_ITERATIONS):
        information = np.zeros((layout.n_free,) * 2)
        score = np.zeros(layout.n_free)
        for g in range(layout.n_groups):
            info_g, score_g = _ml_information(layout, theta, g, covariances[g], means[g])
            information += counts[g] * info_g
            score += counts[g] * score_g
        step = solve_information(information, score)
        theta, current, done = _line_search(objective, theta, step, current, score)
        if done:
            return theta, True
    return theta, False


class ModelFitError(ValueError):
    """The model cannot be fitted to these data (not identified, or degenerate data)."""


def solve_information(matrix: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """Solve with the information matrix, or say plainly why the model cannot be fitted."""
    try:
        return np.linalg.solve(matrix, vector)
    except np.linalg.LinAlgError:
        raise ModelFitError(
            "the information matrix of the model is singular: the model is not identified "
            "with these items (e.g. a one-factor model with two items) or the data are degenerate"
        ) from None


def check_degrees_of_freedom(n_statistics: int, layout: Layout) -> int:
    """Degrees of freedom, or an error when the model has more parameters than statistics."""
    df = n_statistics - layout.n_free
    if df < 0:
        raise ModelFitError(
            f"the model has {layout.n_free} free parameters but only {n_statistics} sample "
            "statistics: it is not identified (negative degrees of freedom)"
        )
    return df


def _line_search(objective, theta, step, current, gradient):
    if abs(step @ gradient) < _TOLERANCE * max(1.0, abs(current)):
        return theta + step, objective(theta + step), True
    size = 1.0
    for _ in range(30):
        candidate = theta + size * step
        value = objective(candidate)
        if value <= current:
            return candidate, value, False
        size /= 2
    return theta, current, True


def ml_derivatives(layout, theta, g):
    """dSigma/dtheta (p x p x k) and dmu/dtheta (p x k) by the complex step."""
    p = len(layout.items)

    def moments(values):
        sigma, mu = implied_ml(layout, values, g)
        return np.concatenate([sigma.reshape(len(values), -1), mu], axis=-1)

    full = jacobian(moments, theta)
    return full[: p * p].reshape(p, p, -1), full[p * p :]


def _ml_information(layout, theta, g, cov, mean):
    sigma, mu = implied_ml(layout, theta, g)
    d_sigma, d_mu = ml_derivatives(layout, theta, g)
    inverse = np.linalg.inv(sigma)
    a = np.einsum("ij,jlk->kil", inverse, d_sigma)  # k x p x p: Sigma^-1 dSigma_k
    information = 0.5 * np.einsum("kij,lji->kl", a, a)
    resid_mean = mean - mu if layout.meanstructure else np.zeros(len(mu))
    target = cov + np.outer(resid_mean, resid_mean) - sigma
    middle = inverse @ target @ inverse
    score = 0.5 * np.einsum("ij,jik->k", middle, d_sigma)
    if layout.meanstructure:
        information += d_mu.T @ inverse @ d_mu
        score += d_mu.T @ inverse @ resid_mean
    return information, score


def ml_discrepancy(layout, theta, g, cov, mean) -> float:
    """F = ln|Sigma| + tr(S Sigma^-1) - ln|S| - p (+ the mean term)."""
    sigma, mu = implied_ml(layout, theta, g)
    sign, logdet = np.linalg.slogdet(sigma)
    if sign <= 0:
        return np.inf
    inverse = np.linalg.inv(sigma)
    value = logdet + np.trace(cov @ inverse) - np.linalg.slogdet(cov)[1] - len(cov)
    if layout.meanstructure:
        d = mean - mu
        value += d @ inverse @ d
    return float(value)


def chi2_sf(chi2: float, df: float) -> float:
    """Upper tail probability of a chi-square statistic, as ``scipy.stats.chi2.sf(chi2, df)``.

    From :mod:`analysis.distributions`, without SciPy (whose import took 0.3 s or more of a
    whole ``analyze --ordinal --cfa`` run). As in ``scipy.stats``, a negative statistic (a
    scaled difference test can give one) has probability 1, and no degrees of freedom give NaN.

    Examples
    --------
    >>> round(chi2_sf(3.0, 2), 12), chi2_sf(-0.5, 2), chi2_sf(1.5, 0)
    (0.223130160148, 1.0, nan)
    """
    if not df > 0:
        return float("nan")
    return float(distributions.chi2_sf(np.maximum(chi2, 0.0), df))
