"""Confirmatory factor analysis of ordinal items by WLSMV, as lavaan 0.6 ``cfa(ordered = TRUE)``.

DWLS on the polychoric correlations and thresholds (delta parameterization, listwise
deletion), the mean-and-variance adjusted (scaled-shifted) test statistic, the scaled fit
indices and lavaan's robust CFI/TLI/RMSEA for categorical data (Savalei 2021).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analysis import _sem
from analysis._blas import one_blas_thread
from analysis.cfa import (
    cfi,
    check_model_items,
    factor_items_of,
    rmsea,
    rmsea_interval,
    tli,
)
from analysis.ordinal_stats import OrdinalStatistics, ordinal_statistics

__all__ = ["OrdinalCFAResult", "OrdinalDataError", "wlsmv_cfa"]


class OrdinalDataError(ValueError):
    """Ordinal data that the WLSMV estimator cannot use (names the item and group)."""


@dataclass(frozen=True)
class OrdinalCFAResult:
    """A WLSMV confirmatory factor model with lavaan's fit measures.

    ``chi2`` is lavaan's ``chisq`` (DWLS, naive); ``chi2_scaled`` its ``chisq.scaled``
    (scaled-shifted) with ``df_scaled`` (= ``df``). ``cfi``/``tli``/``rmsea`` are from the
    naive statistic, the ``*_scaled`` ones from the scaled statistic and ``robust`` holds
    lavaan's ``cfi.robust``, ``tli.robust`` and ``rmsea.robust`` (None where lavaan gives NA).
    Loadings are standardized (``std.all``), keyed ``"<factor>=~<item>"``; ``thresholds``
    maps each item to its thresholds (group 1 when there are several groups).
    """

    estimator: str
    chi2: float
    df: int
    p: float
    chi2_scaled: float
    df_scaled: float
    p_scaled: float
    scaling_factor: float
    shift_parameter: float
    cfi: float
    tli: float
    rmsea: float
    rmsea_ci: tuple[float, float]
    cfi_scaled: float
    tli_scaled: float
    rmsea_scaled: float
    robust: dict[str, float | None]
    srmr: float
    std_loadings: dict[str, float]
    thresholds: dict[str, list[float]]
    factor_correlations: pd.DataFrame
    baseline_chi2: float
    baseline_df: int
    baseline_chi2_scaled: float
    n: int
    n_groups: int
    n_parameters: int
    converged: bool
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """Return plain Python values for JSON (NaN, e.g. of a saturated model, as None)."""
        return json_safe(self._values())

    def _values(self) -> dict[str, Any]:
        return {
            "estimator": self.estimator,
            "chi2": self.chi2,
            "df": self.df,
            "p": self.p,
            "chi2_scaled": self.chi2_scaled,
            "df_scaled": self.df_scaled,
            "p_scaled": self.p_scaled,
            "scaling_factor": self.scaling_factor,
            "shift_parameter": self.shift_parameter,
            "cfi": self.cfi,
            "tli": self.tli,
            "rmsea": self.rmsea,
            "rmsea_ci": list(self.rmsea_ci),
            "cfi_scaled": self.cfi_scaled,
            "tli_scaled": self.tli_scaled,
            "rmsea_scaled": self.rmsea_scaled,
            "robust": dict(self.robust),
            "srmr": self.srmr,
            "std_loadings": dict(self.std_loadings),
            "thresholds": {k: list(v) for k, v in self.thresholds.items()},
            "factor_correlations": self.factor_correlations.to_numpy().tolist(),
            "factors": [str(f) for f in self.factor_correlations.columns],
            "baseline_chi2": self.baseline_chi2,
            "baseline_df": self.baseline_df,
            "baseline_chi2_scaled": self.baseline_chi2_scaled,
            "n": self.n,
            "n_groups": self.n_groups,
            "n_parameters": self.n_parameters,
            "converged": self.converged,
            "notes": list(self.notes),
        }


def json_safe(value: Any) -> Any:
    """Nested dicts and lists with NaN and infinities replaced by None."""
    if isinstance(value, dict):
        return {key: json_safe(v) for key, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, float | np.floating):
        return float(value) if np.isfinite(value) else None
    return value


def wlsmv_cfa(data: pd.DataFrame, spec: Any) -> OrdinalCFAResult:
    """Fit a simple-structure CFA to ordinal items by WLSMV (lavaan ``ordered = TRUE``).

    Each scale of ``spec`` is a factor; the first item of each factor is its marker
    (loading 1), factors correlate freely. Rows with a missing answer on a model item are
    dropped (lavaan's listwise default); each item's categories are its observed values.

    Parameters
    ----------
    data : DataFrame
        Respondents x items with integer answers (other columns are ignored).
    spec : ScaleSpec or mapping
        ``{factor: [item ids]}`` (a leading ``-`` on an id is ignored) or a ``ScaleSpec``.

    Returns
    -------
    OrdinalCFAResult

    References
    ----------
    Muthén, B., du Toit, S. H. C. & Spisic, D. (1997). Robust inference using weighted least
    squares and quadratic estimating equations in latent variable modeling with categorical
    and continuous outcomes. Asparouhov, T. & Muthén, B. (2010). Simple second order
    chi-square correction. Savalei, V. (2021). Improving fit indices in structural equation
    modeling with categorical data. Multivariate Behavioral Research 56, 390-407.
    R: ``lavaan::cfa(model, data, ordered = TRUE)``, ``fitMeasures``.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> f = rng.multivariate_normal([0, 0], [[1, 0.4], [0.4, 1]], size=1000)
    >>> y = np.repeat(f, 3, axis=1) * 0.7 + rng.standard_normal((1000, 6)) * 0.7
    >>> data = pd.DataFrame(np.digitize(y, [-1, 0, 1]) + 1, columns=list("abcdef"))
    >>> fit = wlsmv_cfa(data, {"F1": ["a", "b", "c"], "F2": ["d", "e", "f"]})
    >>> fit.df, fit.converged, round(fit.std_loadings["F1=~a"], 1)
    (8, True, 0.7)
    """
    factor_items = factor_items_of(spec)
    items = model_items(factor_items)
    frame = complete_rows(data, items)
    groups = np.zeros(len(frame), dtype=int)
    # small matrices: threaded BLAS only adds contention
    with one_blas_thread():
        sample = group_statistics(frame, items, groups, ["all"])
        layout = _sem.build_layout("dwls", items, factor_items, n_thresholds=sample[0].n_thresholds)
        fit = fit_wlsmv(layout, sample)
    notes = []
    if len(frame) < len(data):
        notes.append(
            f"WLSMV used the {len(frame)} of {len(data)} rows answered on every model item "
            "(listwise, lavaan's default)"
        )
    if fit.robust["xx3"] is None:
        notes.append(
            "robust CFI/TLI/RMSEA are not available: the polychoric correlation matrix is not "
            "positive definite (lavaan returns NA)"
        )
    return result_of(fit, notes=tuple(notes))


# ---------------------------------------------------------------------------------------------
# data


def model_items(factor_items: Mapping[str, Sequence[str]]) -> tuple[str, ...]:
    items = tuple(dict.fromkeys(i for ids in factor_items.values() for i in ids))
    if len(items) != sum(len(ids) for ids in factor_items.values()):
        raise ValueError("an item belongs to two factors; the model needs simple structure")
    return items


def complete_rows(data: pd.DataFrame, items: Sequence[str]) -> pd.DataFrame:
    check_model_items(data, items)
    values = data[list(items)].to_numpy(dtype=float, na_value=np.nan)
    keep = ~np.isnan(values).any(axis=1)
    return data.loc[keep]


def group_statistics(
    frame: pd.DataFrame, items: Sequence[str], groups: np.ndarray, labels: Sequence[str]
) -> list[OrdinalStatistics]:
    """Per-group thresholds, polychorics and NACOV on categories common to all groups.

    Each item's categories are its observed values over all groups (lavaan's ordered
    factor levels); a category empty in one group is an error naming the item and group.
    """
    values = frame[list(items)].to_numpy(dtype=float)
    if np.any(values != np.round(values)):
        bad = [i for i, c in zip(items, (values != np.round(values)).any(axis=0), strict=True) if c]
        raise OrdinalDataError(f"ordinal items need integer answers; not integer: {bad}")
    codes = np.empty(values.shape, dtype=np.intp)
    n_categories = np.empty(len(items), dtype=np.intp)
    for i, item in enumerate(items):  # one np.unique per item
        levels, codes[:, i] = np.unique(values[:, i], return_inverse=True)
        n_categories[i] = len(levels)
        if len(levels) < 2:
            raise OrdinalDataError(
                f"item {item!r} has a single answer ({levels[0]:g}): no variance"
            )
        if len(levels) > 20:
            raise OrdinalDataError(
                f"item {item!r} has {len(levels)} distinct answers; WLSMV treats items as "
                "ordinal with at most 20 categories"
            )
    result = []
    for g, label in enumerate(labels):
        rows = codes[groups == g]
        minimum = len(items) + 1
        if len(rows) < minimum:
            raise OrdinalDataError(
                f"group {label!r} has {len(rows)} complete rows; at least {minimum} are needed "
                f"to fit {len(items)} ordinal items"
            )
        present = np.zeros((len(items), int(n_categories.max())), bool)
        present[np.broadcast_to(np.arange(len(items)), rows.shape), rows] = True
        for i, item in enumerate(items):
            empty = np.flatnonzero(~present[i, : n_categories[i]])
            if empty.size:
                answers = np.unique(values[:, i])[empty]
                raise OrdinalDataError(
                    f"item {item!r} has no answer {', '.join(f'{a:g}' for a in answers)} in group "
                    f"{label!r}: every category must occur in every group (lavaan refuses "
                    "the same); merge categories or drop the item"
                )
        result.append(ordinal_statistics(rows, n_categories))
    return result


# ---------------------------------------------------------------------------------------------
# fit and tests


@dataclass(frozen=True)
class WLSMVFit:
    layout: _sem.Layout
    sample: list[OrdinalStatistics]
    theta: np.ndarray
    converged: bool
    chi2: float
    df: int
    trace_ug: float
    trace_ug2: float
    baseline_chi2: float
    baseline_df: int
    baseline_trace_ug: float
    baseline_trace_ug2: float
    robust: dict[str, float | None]
    srmr: float
    delta: np.ndarray  # stacked Jacobian (all groups)
    e_inverse: np.ndarray  # inverse of the DWLS information
    gamma: list[np.ndarray]
    weights: list[np.ndarray]

    @property
    def n_total(self) -> int:
        return sum(s.n for s in self.sample)


def fit_wlsmv(layout: _sem.Layout, sample: list[OrdinalStatistics]) -> WLSMVFit:
    observed = [s.observed for s in sample]
    weights = [1.0 / np.diag(s.gamma) for s in sample]
    n_obs = [s.n for s in sample]
    thresholds = [s.thresholds for s in sample]
    _sem.check_degrees_of_freedom(sum(len(o) for o in observed), layout)
    start = _sem.start_values(layout, [s.correlation for s in sample], thresholds=thresholds)
    theta, converged = _sem.fit_dwls(layout, observed, weights, n_obs, start)
    n_total = sum(n_obs)
    fg = np.array(n_obs) / n_total
    deltas, chi2 = [], 0.0
    for g in range(layout.n_groups):
        implied = _sem.implied_dwls(layout, theta, g)
        chi2 += (n_obs[g] - 1) * np.sum(weights[g] * (observed[g] - implied) ** 2)
        deltas.append(_sem.jacobian(lambda v, g=g: _sem.implied_dwls(layout, v, g), theta))
    df = sum(len(o) for o in observed) - layout.n_free
    information = sum(
        fg[g] * (deltas[g] * weights[g][:, None]).T @ deltas[g] for g in range(len(deltas))
    )
    e_inverse = _sem.solve_information(information, np.eye(layout.n_free))
    delta_all = np.vstack(deltas)
    v_all = np.concatenate([fg[g] * weights[g] for g in range(len(weights))])
    gamma_all = _block_diagonal([sample[g].gamma / fg[g] for g in range(len(sample))])
    trace_ug, trace_ug2 = _ugamma_traces(v_all, delta_all, e_inverse, gamma_all)
    baseline_chi2, b_trace, b_trace2, baseline_df = 0.0, 0.0, 0.0, 0
    for g, s in enumerate(sample):
        n_th = len(s.finite_thresholds)
        w_cor = weights[g][n_th:]
        r = observed[g][n_th:]
        baseline_chi2 += (n_obs[g] - 1) * np.sum(w_cor * r**2)
        ug = w_cor[:, None] * s.gamma[n_th:, n_th:]
        b_trace += np.trace(ug)
        b_trace2 += np.sum(ug * ug.T)
        baseline_df += len(r)
    robust = _robust_ingredients(layout, theta, sample, weights, deltas, e_inverse, fg)
    return WLSMVFit(
        layout=layout,
        sample=sample,
        theta=theta,
        converged=converged,
        chi2=float(chi2),
        df=int(df),
        trace_ug=trace_ug,
        trace_ug2=trace_ug2,
        baseline_chi2=float(baseline_chi2),
        baseline_df=baseline_df,
        baseline_trace_ug=float(b_trace),
        baseline_trace_ug2=float(b_trace2),
        robust=robust,
        srmr=_srmr(layout, theta, sample),
        delta=delta_all,
        e_inverse=e_inverse,
        gamma=[s.gamma for s in sample],
        weights=weights,
    )


def _ugamma_traces(v_all, delta_all, e_inverse, gamma_all) -> tuple[float, float]:
    """tr(U Gamma) and tr((U Gamma)^2), U = V - V Delta E^-1 Delta' V (V diagonal)."""
    vd = v_all[:, None] * delta_all
    vg = v_all[:, None] * gamma_all
    ug = vg - vd @ (e_inverse @ (vd.T @ gamma_all))
    return float(np.trace(ug)), float(np.sum(ug * ug.T))


def scaled_shifted(chi2: float, df: float, trace_ug: float, trace_ug2: float):
    """lavaan's scaled-shifted statistic: a T + (df - a tr(UG)), a = sqrt(df / tr(UG^2))."""
    if df <= 0:
        return chi2, float("nan"), float("nan")
    a = np.sqrt(df / trace_ug2)
    shift = df - a * trace_ug
    return float(a * chi2 + shift), float(1 / a), float(shift)


def _robust_ingredients(layout, theta, sample, weights, deltas, e_inverse, fg):
    """Savalei (2021) via lavaan's ``lav_fit_catml_dwls``: the ML statistic at the DWLS
    estimates and its scaling by tr(M' V M Gamma) on the correlation part."""
    empty = {"xx3": None, "df3": None, "c_hat3": None, "xx3_null": None, "c_hat3_null": None}
    if np.any(layout.scale >= 0):
        return empty  # lavaan 0.6-14 gives NA with free scale factors (equal thresholds)
    xx3, xx3_null = 0.0, 0.0
    blocks_w, blocks_v, blocks_g, blocks_d = [], [], [], []
    for g, s in enumerate(sample):
        correlation = s.correlation
        if np.linalg.eigvalsh(correlation)[0] < np.sqrt(np.finfo(float).eps):
            return empty  # lavaan: robust indices NA when a polychoric matrix is not PD
        n_th = len(s.finite_thresholds)
        implied = _implied_correlation(layout, theta, g)
        inverse = np.linalg.inv(implied)
        p = len(correlation)
        xx3 += s.n * (
            np.linalg.slogdet(implied)[1]
            + np.trace(correlation @ inverse)
            - np.linalg.slogdet(correlation)[1]
            - p
        )
        xx3_null += s.n * (-np.linalg.slogdet(correlation)[1])
        first, second = np.triu_indices(p, k=1)
        v_ml = (
            inverse[np.ix_(first, first)] * inverse[np.ix_(second, second)]
            + inverse[np.ix_(first, second)] * inverse[np.ix_(second, first)]
        )
        blocks_v.append(fg[g] * v_ml)
        blocks_w.append(fg[g] * weights[g][n_th:])
        blocks_g.append(s.gamma[n_th:, n_th:] / fg[g])
        blocks_d.append(deltas[g][n_th:])
    delta_c = np.vstack(blocks_d)
    w_c = np.concatenate(blocks_w)
    v_all = _block_diagonal(blocks_v)
    gamma_all = _block_diagonal(blocks_g)
    m = np.eye(len(w_c)) - delta_c @ e_inverse @ (delta_c.T * w_c[None, :])
    ks = float(np.sum((m.T @ v_all @ m) * gamma_all.T))
    n_struct = _structural_parameters(layout)
    df3 = len(w_c) - n_struct
    if df3 <= 0:
        return empty
    return {
        "xx3": float(xx3),
        "df3": df3,
        "c_hat3": ks / df3,
        "xx3_null": float(xx3_null),
        "c_hat3_null": float(np.trace(gamma_all)) / len(w_c),
    }


def _structural_parameters(layout: _sem.Layout) -> int:
    """Free parameters of lavaan's catML model: all but thresholds (and intercepts/means)."""
    dropped = set(layout.threshold[layout.threshold >= 0].tolist())
    dropped |= set(layout.latent_mean[layout.latent_mean >= 0].tolist())
    return layout.n_free - len(dropped)


def _implied_correlation(layout, theta, g) -> np.ndarray:
    mats = _sem.matrices(layout, theta, g)
    common = mats.loadings @ mats.phi @ mats.loadings.T
    implied = np.outer(mats.scales, mats.scales) * common
    np.fill_diagonal(implied, 1.0)
    return implied


def _srmr(layout, theta, sample) -> float:
    """lavaan's srmr for categorical data (srmr_bentler_nomean): correlation residuals."""
    n_total = sum(s.n for s in sample)
    total = 0.0
    for g, s in enumerate(sample):
        residual = s.correlation - _implied_correlation(layout, theta, g)
        rows, cols = np.tril_indices(len(residual))
        total += s.n / n_total * np.sqrt(np.mean(residual[rows, cols] ** 2))
    return float(total)


# ---------------------------------------------------------------------------------------------
# fit measures


def fit_measures(fit: WLSMVFit) -> dict[str, float | None]:
    """lavaan's fitMeasures for a WLSMV fit (naive, scaled and robust)."""
    groups = fit.layout.n_groups
    n = fit.n_total - groups  # lavaan: N - G for (D)WLS
    chi2_s, scaling, shift = scaled_shifted(fit.chi2, fit.df, fit.trace_ug, fit.trace_ug2)
    base_s, _, _ = scaled_shifted(
        fit.baseline_chi2, fit.baseline_df, fit.baseline_trace_ug, fit.baseline_trace_ug2
    )
    out: dict[str, float | None] = {
        "chisq": fit.chi2,
        "df": fit.df,
        "pvalue": _pvalue(fit.chi2, fit.df),
        "chisq.scaled": chi2_s,
        "df.scaled": fit.df,
        "pvalue.scaled": _pvalue(chi2_s, fit.df),
        "chisq.scaling.factor": scaling,
        "chisq.shift.parameter": shift,
        "baseline.chisq": fit.baseline_chi2,
        "baseline.df": fit.baseline_df,
        "baseline.chisq.scaled": base_s,
        "cfi": cfi(fit.chi2, fit.df, fit.baseline_chi2, fit.baseline_df),
        "tli": tli(fit.chi2, fit.df, fit.baseline_chi2, fit.baseline_df),
        "cfi.scaled": cfi(chi2_s, fit.df, base_s, fit.baseline_df),
        "tli.scaled": tli(chi2_s, fit.df, base_s, fit.baseline_df),
        "rmsea": rmsea(fit.chi2, fit.df, n, groups),
        "rmsea.scaled": rmsea(chi2_s, fit.df, n, groups),
        "srmr": fit.srmr,
    }
    r = fit.robust
    if r["xx3"] is None:
        out.update({"cfi.robust": None, "tli.robust": None, "rmsea.robust": None})
    else:
        out["cfi.robust"] = cfi(
            r["xx3"], fit.df, r["xx3_null"], fit.baseline_df, r["c_hat3"], r["c_hat3_null"]
        )
        out["tli.robust"] = tli(
            r["xx3"], fit.df, r["xx3_null"], fit.baseline_df, r["c_hat3"], r["c_hat3_null"]
        )
        # lavaan 0.6-14 divides by N - G here too (later versions by N)
        out["rmsea.robust"] = rmsea(r["xx3"], r["df3"], n, groups, r["c_hat3"])
    return out


def _pvalue(chi2: float, df: float) -> float:
    return _sem.chi2_sf(chi2, df) if df > 0 else float("nan")


def result_of(fit: WLSMVFit, *, notes: tuple[str, ...] = ()) -> OrdinalCFAResult:
    measures = fit_measures(fit)
    layout, theta = fit.layout, fit.theta
    mats = _sem.matrices(layout, theta, 0)
    sd = np.sqrt(np.diag(mats.phi))
    std_loadings = {}
    for f, factor in enumerate(layout.factors):
        pattern = (layout.loading[0][:, f] >= 0) | (layout.loading_fixed[0][:, f] != 0)
        for i in np.flatnonzero(pattern):
            std = mats.loadings[i, f] * sd[f] * mats.scales[i]
            std_loadings[f"{factor}=~{layout.items[i]}"] = float(std)
    thresholds = {
        item: [float(t) for t in mats.thresholds[i, : layout.n_thresholds[i]]]
        for i, item in enumerate(layout.items)
    }
    correlations = mats.phi / np.outer(sd, sd)
    return OrdinalCFAResult(
        estimator="WLSMV",
        chi2=measures["chisq"],
        df=fit.df,
        p=measures["pvalue"],
        chi2_scaled=measures["chisq.scaled"],
        df_scaled=float(fit.df),
        p_scaled=measures["pvalue.scaled"],
        scaling_factor=measures["chisq.scaling.factor"],
        shift_parameter=measures["chisq.shift.parameter"],
        cfi=measures["cfi"],
        tli=measures["tli"],
        rmsea=measures["rmsea"],
        # the naive RMSEA's 90% interval, with N - G as lavaan uses for DWLS
        rmsea_ci=rmsea_interval(fit.chi2, fit.df, fit.n_total - layout.n_groups),
        cfi_scaled=measures["cfi.scaled"],
        tli_scaled=measures["tli.scaled"],
        rmsea_scaled=measures["rmsea.scaled"],
        robust={
            "cfi": measures["cfi.robust"],
            "tli": measures["tli.robust"],
            "rmsea": measures["rmsea.robust"],
        },
        srmr=measures["srmr"],
        std_loadings=std_loadings,
        thresholds=thresholds,
        factor_correlations=pd.DataFrame(
            correlations, index=list(layout.factors), columns=list(layout.factors)
        ),
        baseline_chi2=fit.baseline_chi2,
        baseline_df=fit.baseline_df,
        baseline_chi2_scaled=measures["baseline.chisq.scaled"],
        n=fit.n_total,
        n_groups=layout.n_groups,
        n_parameters=layout.n_free,
        converged=fit.converged,
        notes=notes,
    )


def _block_diagonal(blocks: Sequence[np.ndarray]) -> np.ndarray:
    """The square blocks on the diagonal of one matrix, zeros elsewhere (``scipy.linalg.
    block_diag``, which is not worth importing SciPy for)."""
    sizes = [len(block) for block in blocks]
    matrix = np.zeros((sum(sizes), sum(sizes)))
    start = 0
    for block, size in zip(blocks, sizes, strict=True):
        matrix[start : start + size, start : start + size] = block
        start += size
    return matrix
