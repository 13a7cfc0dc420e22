"""Confirmatory factor analysis of a scale specification by maximum likelihood, as lavaan does it.

Each scale is a factor measured by its items (simple structure, correlated factors, uncorrelated
residuals); the fit indices, standardized solution and modification indices follow lavaan 0.6.
The reading of a model specification, the checks of its items in the data and lavaan's fit
indices (``lav_fit_cfi``, ``lav_fit_tli``, ``lav_fit_rmsea``) serve the WLSMV CFA and the
invariance models too; they live here because this module imports no SciPy.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis._blas import one_blas_thread
from analysis.distributions import chi2_cdf, chi2_sf, noncentral_chi2_cdf

ESTIMATORS = ("ml",)
# Converged when the expected decrease of F by another Fisher step is below this.
_TOLERANCE = 1e-12
_MAX_ITERATIONS = 500
_TOP_MODIFICATION_INDICES = 10


@dataclass(frozen=True)
class CFAResult:
    """A fitted ML confirmatory factor model with lavaan's fit measures.

    Loadings are keyed ``"<factor>=~<item>"`` as lavaan prints them. ``std_loadings`` and
    ``factor_correlations`` are lavaan's ``std.all`` solution; ``residual_variances`` are
    unstandardized and ``std_residual_variances`` their ``std.all`` values.
    ``modification_indices`` holds the largest ones (columns lhs, op, rhs, mi, epc) among the
    cross-loadings and residual covariances the model fixes to zero.
    """

    chi2: float
    df: int
    p: float
    cfi: float
    tli: float
    rmsea: float
    rmsea_ci: tuple[float, float]
    srmr: float
    aic: float
    bic: float
    loglik: float
    loadings: dict[str, float]
    std_loadings: dict[str, float]
    factor_covariances: pd.DataFrame
    factor_correlations: pd.DataFrame
    residual_variances: pd.Series
    std_residual_variances: pd.Series
    modification_indices: pd.DataFrame
    n: int
    n_parameters: int
    converged: bool
    baseline_chi2: float
    baseline_df: int
    estimator: str
    std_lv: bool

    def to_dict(self) -> dict[str, Any]:
        """Return plain Python values for JSON."""
        return {
            "chi2": self.chi2,
            "df": self.df,
            "p": self.p,
            "cfi": self.cfi,
            "tli": self.tli,
            "rmsea": self.rmsea,
            "rmsea_ci": list(self.rmsea_ci),
            "srmr": self.srmr,
            "aic": self.aic,
            "bic": self.bic,
            "loglik": self.loglik,
            "loadings": dict(self.loadings),
            "std_loadings": dict(self.std_loadings),
            "factor_covariances": self.factor_covariances.to_numpy().tolist(),
            "factor_correlations": self.factor_correlations.to_numpy().tolist(),
            "factors": [str(f) for f in self.factor_correlations.columns],
            "residual_variances": {str(k): float(v) for k, v in self.residual_variances.items()},
            "std_residual_variances": {
                str(k): float(v) for k, v in self.std_residual_variances.items()
            },
            "modification_indices": self.modification_indices.to_dict(orient="records"),
            "n": self.n,
            "n_parameters": self.n_parameters,
            "converged": self.converged,
            "baseline_chi2": self.baseline_chi2,
            "baseline_df": self.baseline_df,
            "estimator": self.estimator,
            "std_lv": self.std_lv,
        }


@dataclass(frozen=True)
class _Model:
    """Which parameters are free: loadings, factor (co)variances and residual variances."""

    items: tuple[str, ...]
    factors: tuple[str, ...]
    loading_free: np.ndarray  # items x factors, bool
    loading_fixed: np.ndarray  # items x factors, the fixed values (1 for markers, else 0)
    phi_free: np.ndarray  # factors x factors lower triangle, bool

    @property
    def n_parameters(self) -> int:
        return int(self.loading_free.sum() + self.phi_free.sum() + len(self.items))

    def unpack(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n_loadings, n_phi = int(self.loading_free.sum()), int(self.phi_free.sum())
        loadings = self.loading_fixed.copy()
        loadings.T[self.loading_free.T] = theta[:n_loadings]
        phi = np.eye(len(self.factors))
        phi[self.phi_free] = theta[n_loadings : n_loadings + n_phi]
        phi = np.tril(phi) + np.tril(phi, -1).T
        return loadings, phi, theta[n_loadings + n_phi :]

    def pack(self, loadings: np.ndarray, phi: np.ndarray, residuals: np.ndarray) -> np.ndarray:
        return np.concatenate([loadings.T[self.loading_free.T], phi[self.phi_free], residuals])


def cfa(
    data: pd.DataFrame,
    spec: Any,
    *,
    n: int | None = None,
    estimator: str = "ml",
    std_lv: bool = False,
) -> CFAResult:
    """Fit a confirmatory factor model of a scale specification by maximum likelihood.

    Each scale of ``spec`` is a factor loading on its items; factors correlate freely and
    residuals are uncorrelated (lavaan's ``cfa()`` defaults). The scale is set by fixing each
    factor's first loading to 1 (lavaan's marker), or the factor variances to 1 when
    ``std_lv``. The ML discrepancy ``F = ln|Sigma| + tr(S Sigma^-1) - ln|S| - p`` is minimised by
    Fisher scoring with analytic derivatives. Conventions are lavaan's: ``S`` has denominator
    N, ``chi2 = N F``, RMSEA ``= sqrt(max(chi2 - df, 0) / (df N))`` with N (not N - 1) and a
    90% interval from the noncentral chi-square, SRMR is lavaan's ``srmr`` (Bentler's, residuals
    scaled by the sample standard deviations, diagonal included), CFI and TLI are relative to
    the independence model. Reverse-keyed items need no reversing: their loadings turn
    negative.

    Parameters
    ----------
    data : DataFrame
        Respondents x items (columns named by item id; other columns are ignored; rows with a
        missing answer on a model item are dropped, lavaan's listwise default), or a covariance
        or correlation matrix labelled by item on both axes, together with ``n``. A matrix is
        taken to have denominator N - 1 and is rescaled by (N - 1) / N, as lavaan's
        ``sample.cov.rescale`` does.
    spec : ScaleSpec or mapping
        ``items.ScaleSpec`` (``.scales`` maps a scale to items with ``.id``) or a plain
        ``{factor: [item ids]}`` mapping; a leading ``-`` on an id (reverse keying) is ignored.
    n : int, optional
        Number of respondents behind a covariance matrix; ignored for raw data.
    estimator : {"ml"}
        Only maximum likelihood.
    std_lv : bool
        Fix factor variances to 1 and free all loadings (lavaan's ``std.lv = TRUE``).

    Returns
    -------
    CFAResult

    References
    ----------
    Rosseel, Y. (2012). lavaan: An R package for structural equation modeling. Journal of
    Statistical Software, 48(2). R: ``lavaan::cfa``, ``fitMeasures``, ``standardizedSolution``,
    ``modindices``.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> f = rng.multivariate_normal([0, 0], [[1, 0.4], [0.4, 1]], size=500)
    >>> x = np.repeat(f, 3, axis=1) * 0.8 + rng.standard_normal((500, 6)) * 0.6
    >>> data = pd.DataFrame(x, columns=["a1", "a2", "a3", "b1", "b2", "b3"])
    >>> result = cfa(data, {"a": ["a1", "a2", "a3"], "b": ["b1", "b2", "-b3"]})
    >>> result.df, round(result.std_loadings["a=~a1"], 2), result.converged
    (8, 0.77, True)
    """
    factor_items = factor_items_of(spec)
    _check_options(estimator=estimator, std_lv=std_lv)
    sample_cov, items, n_obs = _sample_covariance(data, factor_items, n=n)
    model = _build_model(items, factor_items, std_lv=std_lv)
    p = len(items)
    df = p * (p + 1) // 2 - model.n_parameters
    if df < 0:
        raise ValueError(
            f"the model has {model.n_parameters} free parameters but only {p * (p + 1) // 2} "
            "variances and covariances: it is not identified (negative degrees of freedom)"
        )
    with one_blas_thread():
        theta, converged = _fit(model, sample_cov)
        return _result(model, sample_cov, theta, n_obs, df, converged, std_lv)


def factor_items_of(spec: Any) -> dict[str, tuple[str, ...]]:
    """Each factor's item ids, from a ScaleSpec or a ``{factor: [item ids]}`` mapping; a
    leading ``-`` (reverse keying) is dropped: a CFA lets the loading turn negative."""
    scales = getattr(spec, "scales", spec)
    if not isinstance(scales, Mapping) or not scales:
        raise ValueError(
            f"spec must be a ScaleSpec or a non-empty {{factor: [items]}}, got {spec!r}"
        )
    factor_items = {}
    for factor, members in scales.items():
        if isinstance(members, str) or not isinstance(members, Iterable):
            raise ValueError(f"items of factor {factor!r} must be a list, got {members!r}")
        ids = tuple(str(getattr(item, "id", item)).strip().removeprefix("-") for item in members)
        if len(ids) < 2 or len(set(ids)) != len(ids):
            raise ValueError(f"factor {factor!r} needs two or more distinct items, got {ids}")
        factor_items[str(factor)] = ids
    return factor_items


def _check_options(*, estimator: str, std_lv: bool) -> None:
    if estimator not in ESTIMATORS:
        raise ValueError(f"unknown estimator {estimator!r}; expected one of {ESTIMATORS}")
    if not isinstance(std_lv, bool):
        raise ValueError(f"std_lv must be True or False, got {std_lv!r}")


def _sample_covariance(
    data: pd.DataFrame, factor_items: Mapping[str, tuple[str, ...]], *, n: int | None
) -> tuple[np.ndarray, tuple[str, ...], int]:
    """The N-denominator covariance of the model items, their names and N."""
    items = tuple(dict.fromkeys(i for ids in factor_items.values() for i in ids))
    check_model_items(data, items)
    if _is_labelled_matrix(data):
        if n is None or isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 2:
            raise ValueError(f"a covariance matrix needs n, the number of respondents; got {n!r}")
        cov = data.loc[list(items), list(items)].to_numpy(dtype=float) * (n - 1) / n
        n_obs = int(n)
    else:
        values = data[list(items)].to_numpy(dtype=float, na_value=np.nan)
        complete = values[~np.isnan(values).any(axis=1)]
        n_obs = len(complete)
        if n_obs <= len(items):
            raise ValueError(f"{n_obs} complete respondents for {len(items)} items: too few")
        cov = np.cov(complete, rowvar=False, bias=True)
    constant = [item for item, v in zip(items, np.diag(cov), strict=True) if not v > 0]
    if constant:
        raise ValueError(f"items without variance: {constant}")
    if np.linalg.eigvalsh(cov)[0] <= 0:
        raise ValueError("the item covariance matrix is not positive definite")
    return cov, items, n_obs


def check_model_items(data: pd.DataFrame, items: Sequence[str]) -> None:
    """Refuse data that is not a DataFrame holding every model item as a numeric column."""
    if not isinstance(data, pd.DataFrame):
        raise ValueError(f"data must be a DataFrame with item columns, got {type(data).__name__}")
    missing = [i for i in items if i not in data.columns]
    if missing:
        raise ValueError(f"items of the model not in the data: {missing}")
    non_numeric = [i for i in items if not pd.api.types.is_numeric_dtype(data[i])]
    if non_numeric:
        raise ValueError(f"items of the model must be numeric; not numeric: {non_numeric}")


def _is_labelled_matrix(data: pd.DataFrame) -> bool:
    values = data.to_numpy()
    return (
        data.shape[0] == data.shape[1]
        and list(data.index) == list(data.columns)
        and np.issubdtype(values.dtype, np.number)
        and np.allclose(values, values.T, equal_nan=False)
    )


def _build_model(
    items: tuple[str, ...], factor_items: Mapping[str, tuple[str, ...]], *, std_lv: bool
) -> _Model:
    factors = tuple(factor_items)
    position = {item: i for i, item in enumerate(items)}
    loading_free = np.zeros((len(items), len(factors)), dtype=bool)
    loading_fixed = np.zeros((len(items), len(factors)))
    for f, factor in enumerate(factors):
        rows = [position[item] for item in factor_items[factor]]
        loading_free[rows, f] = True
        if not std_lv:
            loading_free[rows[0], f] = False
            loading_fixed[rows[0], f] = 1.0
    phi_free = np.tril(np.ones((len(factors), len(factors)), dtype=bool), -1 if std_lv else 0)
    return _Model(items, factors, loading_free, loading_fixed, phi_free)


def _implied(model: _Model, theta: np.ndarray) -> np.ndarray:
    loadings, phi, residuals = model.unpack(theta)
    return loadings @ phi @ loadings.T + np.diag(residuals)


def _discrepancy(sigma: np.ndarray, sample_cov: np.ndarray) -> float:
    """ML discrepancy without its constant (ln|S| + p), or inf if sigma is not positive definite."""
    try:
        lower = np.linalg.cholesky(sigma)
    except np.linalg.LinAlgError:
        return np.inf
    log_det = 2 * np.sum(np.log(np.diag(lower)))
    return float(log_det + np.trace(np.linalg.solve(sigma, sample_cov)))


def _sigma_derivatives(model: _Model, theta: np.ndarray) -> np.ndarray:
    """d Sigma / d theta for every free parameter, stacked (parameters x items x items)."""
    loadings, phi, _ = model.unpack(theta)
    p, m = loadings.shape
    lambda_phi = loadings @ phi
    item_rows, factor_cols = np.nonzero(model.loading_free.T)[::-1]
    loading_part = np.zeros((len(item_rows), p, p))
    loading_part[np.arange(len(item_rows)), item_rows, :] = lambda_phi[:, factor_cols].T
    loading_part = loading_part + loading_part.transpose(0, 2, 1)
    rows, cols = np.nonzero(model.phi_free)
    phi_part = np.einsum("ik,jk->kij", loadings[:, rows], loadings[:, cols])
    phi_part = phi_part + phi_part.transpose(0, 2, 1) * (rows != cols)[:, None, None]
    residual_part = np.zeros((p, p, p))
    residual_part[np.arange(p), np.arange(p), np.arange(p)] = 1.0
    return np.concatenate([loading_part, phi_part, residual_part])


def _score_and_information(
    sigma: np.ndarray, sample_cov: np.ndarray, derivatives: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Gradient of F and its expected Hessian, tr(Sigma^-1 dSigma_i Sigma^-1 dSigma_j)."""
    inverse = np.linalg.inv(sigma)
    weight = inverse @ (sigma - sample_cov) @ inverse
    gradient = np.einsum("ab,iab->i", weight, derivatives)
    scaled = inverse @ derivatives
    flat = scaled.reshape(len(scaled), -1)
    information = flat @ scaled.transpose(0, 2, 1).reshape(len(scaled), -1).T
    return gradient, information


def _fit(model: _Model, sample_cov: np.ndarray) -> tuple[np.ndarray, bool]:
    """Fisher scoring with step halving from lavaan-like starting values."""
    theta = _start(model, sample_cov)
    value = _discrepancy(_implied(model, theta), sample_cov)
    for _ in range(_MAX_ITERATIONS):
        sigma = _implied(model, theta)
        gradient, information = _score_and_information(
            sigma, sample_cov, _sigma_derivatives(model, theta)
        )
        try:
            step = np.linalg.solve(information, gradient)
        except np.linalg.LinAlgError:
            raise ValueError("the model is not identified (singular information matrix)") from None
        # The Newton decrement, unlike the gradient, does not depend on the items' units.
        if gradient @ step < _TOLERANCE:
            return theta, True
        for _ in range(30):
            candidate = theta - step
            new_value = _discrepancy(_implied(model, candidate), sample_cov)
            if new_value <= value:
                break
            step = step / 2
        else:
            return theta, False
        theta, value = candidate, new_value
    return theta, False


def _start(model: _Model, sample_cov: np.ndarray) -> np.ndarray:
    """Starting values: one-factor principal components per factor, least-squares covariances."""
    sd = np.sqrt(np.diag(sample_cov))
    corr = sample_cov / np.outer(sd, sd)
    p, m = model.loading_free.shape
    member = model.loading_free | (model.loading_fixed != 0)
    loadings = np.zeros((p, m))
    variances = np.ones(m)
    for f in range(m):
        rows = np.flatnonzero(member[:, f])
        values, vectors = np.linalg.eigh(corr[np.ix_(rows, rows)])
        standardized = vectors[:, -1] * np.sqrt(values[-1])
        marker = np.flatnonzero(model.loading_fixed[rows, f] != 0)
        anchor = marker[0] if marker.size else np.argmax(np.abs(standardized))
        raw = standardized * np.sign(standardized[anchor]) * sd[rows]
        if marker.size:
            variances[f] = raw[anchor] ** 2
            raw = raw / raw[anchor]
        loadings[rows, f] = raw
    phi = np.diag(variances)
    for f in range(m):
        for g in range(f):
            weights = np.outer(loadings[:, f], loadings[:, g])
            phi[f, g] = phi[g, f] = np.sum(weights * sample_cov) / np.sum(weights**2)
    scale = np.sqrt(np.diag(phi))
    correlation = np.clip(phi / np.outer(scale, scale), -0.9, 0.9)
    while np.linalg.eigvalsh(correlation + np.eye(m) * 0.1)[0] <= 0.1:
        correlation = correlation * 0.9
    np.fill_diagonal(correlation, 1.0)
    phi = correlation * np.outer(scale, scale)
    common = np.einsum("if,fg,ig->i", loadings, phi, loadings)
    residuals = np.maximum(np.diag(sample_cov) - common, 0.1 * np.diag(sample_cov))
    return model.pack(loadings, phi, residuals)


def _result(
    model: _Model,
    sample_cov: np.ndarray,
    theta: np.ndarray,
    n: int,
    df: int,
    converged: bool,
    std_lv: bool,
) -> CFAResult:
    p = len(model.items)
    sigma = _implied(model, theta)
    _, log_det_s = np.linalg.slogdet(sample_cov)
    fmin = _discrepancy(sigma, sample_cov) - log_det_s - p
    chi2 = n * fmin
    baseline_chi2 = n * (np.sum(np.log(np.diag(sample_cov))) - log_det_s)
    baseline_df = p * (p - 1) // 2
    loglik = -n / 2 * (p * np.log(2 * np.pi) + log_det_s + p + fmin)
    n_parameters = model.n_parameters
    loadings, phi, residuals = model.unpack(theta)
    factor_sd = np.sqrt(np.diag(phi))
    implied_sd = np.sqrt(np.diag(sigma))
    std_loadings = loadings * factor_sd / implied_sd[:, None]
    member = model.loading_free | (model.loading_fixed != 0)
    keys = [
        (f"{factor}=~{item}", i, f)
        for f, factor in enumerate(model.factors)
        for i, item in enumerate(model.items)
        if member[i, f]
    ]
    factors, items = list(model.factors), list(model.items)
    return CFAResult(
        chi2=float(chi2),
        df=df,
        p=chi2_sf(chi2, df) if df > 0 else float("nan"),
        cfi=cfi(chi2, df, baseline_chi2, baseline_df),
        tli=tli(chi2, df, baseline_chi2, baseline_df),
        rmsea=rmsea(chi2, df, n),
        rmsea_ci=rmsea_interval(chi2, df, n),
        srmr=_srmr(sample_cov, sigma),
        aic=float(-2 * loglik + 2 * n_parameters),
        bic=float(-2 * loglik + n_parameters * np.log(n)),
        loglik=float(loglik),
        loadings={key: float(loadings[i, f]) for key, i, f in keys},
        std_loadings={key: float(std_loadings[i, f]) for key, i, f in keys},
        factor_covariances=pd.DataFrame(phi, index=factors, columns=factors),
        factor_correlations=pd.DataFrame(
            phi / np.outer(factor_sd, factor_sd), index=factors, columns=factors
        ),
        residual_variances=pd.Series(residuals, index=items, name="residual_variance"),
        std_residual_variances=pd.Series(
            residuals / implied_sd**2, index=items, name="std_residual_variance"
        ),
        modification_indices=_modification_indices(model, theta, sample_cov, n),
        n=n,
        n_parameters=n_parameters,
        converged=converged,
        baseline_chi2=float(baseline_chi2),
        baseline_df=baseline_df,
        estimator="ml",
        std_lv=std_lv,
    )


def cfi(x2, df, x2_null, df_null, c_hat=1.0, c_hat_null=1.0) -> float:
    """lavaan's ``lav_fit_cfi`` (``c_hat``: the robust indices' scaling, Savalei 2021)."""
    t1 = max(x2 - c_hat * df, 0.0)
    t2 = max(x2 - c_hat * df, x2_null - c_hat_null * df_null, 0.0)
    return 1.0 if t1 == 0 and t2 == 0 else float(1 - t1 / t2)


def tli(x2, df, x2_null, df_null, c_hat=1.0, c_hat_null=1.0) -> float:
    """lavaan's ``lav_fit_tli``."""
    if df <= 0:
        return 1.0
    t1 = (x2 - c_hat * df) * df_null
    t2 = (x2_null - c_hat_null * df_null) * df
    return float(1 - t1 / t2)


def rmsea(x2, df, n, groups=1, c_hat=1.0) -> float:
    """lavaan's ``lav_fit_rmsea``: sqrt(max(x2 / n / df - c_hat / n, 0)) * sqrt(G)."""
    if df <= 0:
        return 0.0
    return float(np.sqrt(max(x2 / n / df - c_hat / n, 0.0)) * np.sqrt(groups))


def rmsea_interval(chi2: float, df: int, n: int, level: float = 0.90) -> tuple[float, float]:
    """lavaan's interval: the noncentralities at which chi2 is the upper or lower quantile."""
    if df == 0:
        return (0.0, 0.0)
    tail = (1 - level) / 2

    def noncentrality(probability: float) -> float:
        if chi2_cdf(chi2, df) < probability:
            return 0.0
        upper = max(chi2, 1.0)
        while noncentral_chi2_cdf(chi2, df, upper) > probability:
            upper *= 2
        return _decreasing_root(
            lambda nc: noncentral_chi2_cdf(chi2, df, nc) - probability, 0, upper
        )

    bounds = (noncentrality(1 - tail), noncentrality(tail))
    return tuple(float(np.sqrt(b / (n * df))) for b in bounds)


def _decreasing_root(function, low: float, high: float, *, xtol: float = 2e-12) -> float:
    """Where a decreasing ``function`` with ``function(low) >= 0 >= function(high)`` is zero.

    Regula falsi with the Illinois modification (Dowell & Jarratt 1971): it keeps a bracket
    as bisection does and converges superlinearly, as ``scipy.optimize.brentq`` (whose
    import cost 0.17 s) did here; the same tolerance.
    """
    f_low, f_high = function(low), function(high)
    side, previous = 0, np.inf
    for _ in range(200):
        if f_low == f_high:
            break
        middle = high - f_high * (high - low) / (f_high - f_low)
        if not low < middle < high:
            middle = (low + high) / 2
        f_middle = function(middle)
        if f_middle == 0 or abs(middle - previous) <= xtol + 4e-16 * abs(middle):
            return middle
        previous = middle
        if f_middle > 0:  # the root lies above middle
            low, f_low = middle, f_middle
            if side == -1:
                f_high /= 2
            side = -1
        else:
            high, f_high = middle, f_middle
            if side == 1:
                f_low /= 2
            side = 1
    return (low + high) / 2


def _srmr(sample_cov: np.ndarray, sigma: np.ndarray) -> float:
    """lavaan's srmr (Bentler): residual covariances over sample standard deviations."""
    sd = np.sqrt(np.diag(sample_cov))
    standardized = (sample_cov - sigma) / np.outer(sd, sd)
    lower = standardized[np.tril_indices(len(sd))]
    return float(np.sqrt(np.mean(lower**2)))


def _modification_indices(
    model: _Model, theta: np.ndarray, sample_cov: np.ndarray, n: int
) -> pd.DataFrame:
    """lavaan's modindices(): score tests for each cross-loading and residual covariance.

    With the expected information of the fitted model, a fixed parameter's index is
    ``N/2 g^2 / v`` and its expected parameter change ``-g / v``, where ``g`` is the gradient
    of F with respect to it and ``v`` its information given the free parameters.
    """
    loadings, phi, _ = model.unpack(theta)
    p, m = loadings.shape
    sigma = _implied(model, theta)
    member = model.loading_free | (model.loading_fixed != 0)
    cross_items, cross_factors = np.nonzero(~member.T)[::-1]
    cross = np.zeros((len(cross_items), p, p))
    cross[np.arange(len(cross_items)), cross_items, :] = (loadings @ phi)[:, cross_factors].T
    rows, cols = np.triu_indices(p, 1)
    covariances = np.zeros((len(rows), p, p))
    covariances[np.arange(len(rows)), rows, cols] = 1.0
    extra = np.concatenate([cross, covariances])
    extra = extra + extra.transpose(0, 2, 1)
    free = _sigma_derivatives(model, theta)
    gradient, information = _score_and_information(sigma, sample_cov, np.concatenate([free, extra]))
    k = len(free)
    conditional = information[k:, k:] - information[k:, :k] @ np.linalg.solve(
        information[:k, :k], information[:k, k:]
    )
    variance = np.diag(conditional)
    score = gradient[k:]
    factors, items = model.factors, model.items
    labels = [(factors[f], "=~", items[i]) for i, f in zip(cross_items, cross_factors, strict=True)]
    labels += [(items[i], "~~", items[j]) for i, j in zip(rows, cols, strict=True)]
    table = pd.DataFrame(labels, columns=["lhs", "op", "rhs"])
    # A parameter the free ones already determine (as in a saturated model) has no test.
    testable = variance > 1e-10 * np.abs(np.diag(information[k:, k:]))
    table = table[testable].assign(
        mi=n / 2 * score[testable] ** 2 / variance[testable],
        epc=-score[testable] / variance[testable],
    )
    top = table.sort_values("mi", ascending=False, kind="stable").head(_TOP_MODIFICATION_INDICES)
    return top.reset_index(drop=True)
