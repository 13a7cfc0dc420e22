"""Measurement invariance across groups: configural, metric and scalar CFA models, as lavaan 0.6
``cfa(..., group =, group.equal =)`` fits them, by ML (continuous items) or WLSMV (ordinal).

The models nest: metric adds equal loadings (``group.equal = "loadings"``), scalar adds equal
intercepts (ML, ``c("loadings", "intercepts")``; the latent means of groups 2..G are freed) or
equal thresholds (WLSMV, ``c("loadings", "thresholds")``; lavaan 0.6-14 then frees the latent
means and the delta scale factors of groups 2..G). Neighbouring models are compared by the
likelihood-ratio test (ML) or lavaan's ``lavTestLRT`` scaled difference test (WLSMV:
Satorra 2000, scaled-shifted), and by the change in CFI and RMSEA against stated cut-offs.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd

from analysis import _sem
from analysis._blas import one_blas_thread
from analysis.cfa import cfi, factor_items_of, rmsea, tli
from analysis.ordinal_cfa import (
    OrdinalDataError,
    WLSMVFit,
    complete_rows,
    fit_measures,
    fit_wlsmv,
    group_statistics,
    json_safe,
    model_items,
)

__all__ = ["CUTOFFS", "InvarianceError", "InvarianceResult", "measurement_invariance"]

STEPS = ("configural", "metric", "scalar")
# Chen (2007), Structural Equation Modeling 14, 464-504: for N > 300, a drop in CFI of at
# least .010 together with a rise in RMSEA of at least .015 (metric) / .015 (scalar) flags
# non-invariance.
CUTOFFS = {"delta_cfi": -0.010, "delta_rmsea": 0.015, "source": "Chen (2007)"}


class InvarianceError(ValueError):
    """Grouped data that cannot be fitted; the message names the group (and item)."""


@dataclass(frozen=True)
class InvarianceResult:
    """Fit of the configural, metric and scalar models and the tests between neighbours.

    ``models[step]`` holds chi2, df, p, cfi, tli, rmsea, srmr (and for WLSMV the scaled and
    robust versions: ``chi2_scaled``, ``cfi_scaled``, ..., ``robust``); ``tests`` compares
    metric with configural and scalar with metric: ``chi2_diff``, ``df_diff``, ``p``,
    ``delta_cfi``, ``delta_rmsea`` and a ``verdict``. For WLSMV the differences in CFI and
    RMSEA use the scaled indices (lavaan's ``cfi.scaled``, ``rmsea.scaled``).
    """

    estimator: str
    group: str
    groups: tuple[str, ...]
    group_sizes: tuple[int, ...]
    models: dict[str, dict[str, Any]]
    tests: list[dict[str, Any]]
    cutoffs: dict[str, Any]
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """Return plain Python values for JSON (NaN as None)."""
        return json_safe(
            {
                "estimator": self.estimator,
                "group": self.group,
                "groups": list(self.groups),
                "group_sizes": list(self.group_sizes),
                **{step: dict(self.models[step]) for step in STEPS},
                "tests": [dict(t) for t in self.tests],
                "cutoffs": dict(self.cutoffs),
                "notes": list(self.notes),
            }
        )


def measurement_invariance(
    data: pd.DataFrame, spec: Any, group: str, *, ordinal: bool = False
) -> InvarianceResult:
    """Configural, metric and scalar invariance of a simple-structure CFA across groups.

    Parameters
    ----------
    data : DataFrame
        Respondents x items plus the grouping column ``group``. Rows missing the group or
        any model item are dropped (lavaan's listwise default).
    spec : ScaleSpec or mapping
        ``{factor: [item ids]}``; the first item of each factor is its marker.
    group : str
        The grouping column; groups keep their order of first appearance (as lavaan).
    ordinal : bool
        WLSMV on polychoric correlations and thresholds (items are ordinal) instead of ML.

    Returns
    -------
    InvarianceResult

    References
    ----------
    Chen, F. F. (2007). Sensitivity of goodness of fit indexes to lack of measurement
    invariance. Structural Equation Modeling 14, 464-504. Satorra, A. (2000). Scaled and
    adjusted restricted tests in multi-sample analysis of moment structures.
    R: ``lavaan::cfa(group =, group.equal =)``, ``lavaan::lavTestLRT``.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> rng = np.random.default_rng(2)
    >>> f = rng.standard_normal((600, 1))
    >>> x = f * [0.8, 0.7, 0.6, 0.7] + rng.standard_normal((600, 4)) * 0.6
    >>> data = pd.DataFrame(x, columns=["a", "b", "c", "d"]).assign(g=["x", "y"] * 300)
    >>> result = measurement_invariance(data, {"F": ["a", "b", "c", "d"]}, "g")
    >>> [result.models[s]["df"] for s in ("configural", "metric", "scalar")]
    [4, 7, 10]
    >>> result.tests[0]["verdict"]
    'invariant'
    """
    factor_items = factor_items_of(spec)
    items = model_items(factor_items)
    if not isinstance(data, pd.DataFrame) or group not in data.columns:
        raise InvarianceError(f"grouping column {group!r} is not in the data")
    frame = complete_rows(data.loc[data[group].notna()], items)
    labels = tuple(str(v) for v in pd.unique(frame[group]))
    if len(labels) < 2:
        raise InvarianceError(
            f"grouping column {group!r} has {len(labels)} group(s) with complete answers; "
            "invariance needs at least two"
        )
    codes = pd.Categorical(frame[group].astype(str), categories=labels).codes
    sizes = tuple(int(np.sum(codes == g)) for g in range(len(labels)))
    notes = (
        [f"rows with a missing answer or group dropped: {len(data) - len(frame)}"]
        if len(frame) < len(data)
        else []
    )
    try:
        with one_blas_thread():
            if ordinal:
                models, tests = _wlsmv_steps(frame, items, factor_items, codes, labels)
            else:
                models, tests = _ml_steps(frame, items, factor_items, codes, labels)
    except OrdinalDataError as error:
        raise InvarianceError(str(error)) from None
    for test in tests:
        test["verdict"] = _verdict(test)
    if ordinal and models["scalar"]["robust"]["cfi"] is None:
        notes.append(
            "robust CFI/TLI/RMSEA of the scalar model are not available (lavaan returns NA "
            "for them with equal thresholds)"
        )
    return InvarianceResult(
        estimator="WLSMV" if ordinal else "ML",
        group=group,
        groups=labels,
        group_sizes=sizes,
        models=models,
        tests=tests,
        cutoffs=dict(CUTOFFS),
        notes=tuple(notes),
    )


_EQUAL = {
    "configural": frozenset(),
    "metric": frozenset({"loadings"}),
    "scalar": frozenset({"loadings", "intercepts"}),
}
_EQUAL_ORDINAL = {**_EQUAL, "scalar": frozenset({"loadings", "thresholds"})}


def _verdict(test: dict[str, Any]) -> str:
    drop = test["delta_cfi"] is not None and test["delta_cfi"] <= CUTOFFS["delta_cfi"]
    rise = test["delta_rmsea"] is not None and test["delta_rmsea"] >= CUTOFFS["delta_rmsea"]
    if drop and rise:
        return "not invariant"
    if drop or rise:
        return "doubtful"
    return "invariant"


# ---------------------------------------------------------------------------------------------
# ML


def _ml_steps(frame, items, factor_items, codes, labels):
    values = frame[list(items)].to_numpy(dtype=float)
    covs, means, counts = [], [], []
    for g, label in enumerate(labels):
        rows = values[codes == g]
        if len(rows) <= len(items):
            raise InvarianceError(
                f"group {label!r} has {len(rows)} complete rows for {len(items)} items: too few "
                "to fit the model in that group"
            )
        cov = np.cov(rows, rowvar=False, bias=True)
        constant = [i for i, v in zip(items, np.diag(cov), strict=True) if not v > 0]
        if constant:
            raise InvarianceError(f"items without variance in group {label!r}: {constant}")
        if np.linalg.eigvalsh(cov)[0] <= 0:
            raise InvarianceError(
                f"the item covariance matrix of group {label!r} is not positive definite"
            )
        covs.append(cov)
        means.append(rows.mean(axis=0))
        counts.append(len(rows))
    models = {}
    for step in STEPS:
        layout = _sem.build_layout(
            "ml", items, factor_items, n_groups=len(labels), equal=_EQUAL[step]
        )
        p = len(items)
        _sem.check_degrees_of_freedom(len(labels) * (p * (p + 1) // 2 + p), layout)
        start = _sem.start_values(layout, covs, means=means)
        theta, converged = _sem.fit_ml(layout, covs, means, counts, start)
        models[step] = _ml_measures(layout, theta, covs, means, counts, converged)

    def likelihood_ratio(less: str, more: str) -> tuple[float, int]:
        return models[more]["chi2"] - models[less]["chi2"], models[more]["df"] - models[less]["df"]

    return models, _neighbour_tests(models, likelihood_ratio, method="likelihood ratio")


def _neighbour_tests(models, difference, *, method: str, indices: str = "") -> list[dict]:
    """Each model against the one before it: ``difference(less, more)`` gives the test's
    statistic and df; CFI and RMSEA change in the fit measures named ``cfi{indices}`` and
    ``rmsea{indices}``."""
    tests = []
    for less, more in pairwise(STEPS):
        diff, ddf = difference(less, more)
        a, b = models[less], models[more]
        tests.append(
            {
                "models": f"{more} vs {less}",
                "chi2_diff": diff,
                "df_diff": ddf,
                "p": _sem.chi2_sf(diff, ddf),
                "method": method,
                "delta_cfi": b[f"cfi{indices}"] - a[f"cfi{indices}"],
                "delta_rmsea": b[f"rmsea{indices}"] - a[f"rmsea{indices}"],
            }
        )
    return tests


def _ml_measures(layout, theta, covs, means, counts, converged) -> dict[str, Any]:
    groups = layout.n_groups
    n_total = sum(counts)
    chi2 = sum(
        counts[g] * _sem.ml_discrepancy(layout, theta, g, covs[g], means[g]) for g in range(groups)
    )
    p = len(layout.items)
    df = groups * (p * (p + 1) // 2 + p) - layout.n_free
    baseline = sum(
        counts[g] * (np.sum(np.log(np.diag(covs[g]))) - np.linalg.slogdet(covs[g])[1])
        for g in range(groups)
    )
    baseline_df = groups * p * (p - 1) // 2
    return {
        "chi2": float(chi2),
        "df": int(df),
        "p": _sem.chi2_sf(chi2, df),
        "cfi": cfi(chi2, df, baseline, baseline_df),
        "tli": tli(chi2, df, baseline, baseline_df),
        "rmsea": rmsea(chi2, df, n_total, groups),
        "srmr": _ml_srmr(layout, theta, covs, means, counts),
        "baseline_chi2": float(baseline),
        "baseline_df": baseline_df,
        "n_parameters": layout.n_free,
        "converged": converged,
    }


def _ml_srmr(layout, theta, covs, means, counts) -> float:
    """lavaan's srmr (Bentler) with the mean structure, weighted by group size."""
    n_total = sum(counts)
    total = 0.0
    for g in range(layout.n_groups):
        sigma, mu = _sem.implied_ml(layout, theta, g)
        sd = np.sqrt(np.diag(covs[g]))
        residual = covs[g] / np.outer(sd, sd) - sigma / np.outer(sd, sd)
        rows, cols = np.tril_indices(len(sd))
        mean_residual = (means[g] - mu) / sd
        squares = np.sum(residual[rows, cols] ** 2) + np.sum(mean_residual**2)
        total += counts[g] / n_total * np.sqrt(squares / (len(rows) + len(sd)))
    return float(total)


# ---------------------------------------------------------------------------------------------
# WLSMV


def _wlsmv_steps(frame, items, factor_items, codes, labels):
    sample = group_statistics(frame, items, codes, labels)
    fits: dict[str, WLSMVFit] = {}
    models = {}
    for step in STEPS:
        layout = _sem.build_layout(
            "dwls",
            items,
            factor_items,
            n_groups=len(labels),
            equal=_EQUAL_ORDINAL[step],
            n_thresholds=sample[0].n_thresholds,
        )
        fits[step] = fit_wlsmv(layout, sample)
        m = fit_measures(fits[step])
        models[step] = {
            "chi2": m["chisq"],
            "df": fits[step].df,
            "p": m["pvalue"],
            "chi2_scaled": m["chisq.scaled"],
            "df_scaled": fits[step].df,
            "p_scaled": m["pvalue.scaled"],
            "cfi": m["cfi"],
            "tli": m["tli"],
            "rmsea": m["rmsea"],
            "cfi_scaled": m["cfi.scaled"],
            "tli_scaled": m["tli.scaled"],
            "rmsea_scaled": m["rmsea.scaled"],
            "robust": {"cfi": m["cfi.robust"], "tli": m["tli.robust"], "rmsea": m["rmsea.robust"]},
            "srmr": m["srmr"],
            "n_parameters": fits[step].layout.n_free,
            "converged": fits[step].converged,
        }
    tests = _neighbour_tests(
        models,
        lambda less, more: satorra_2000(fits[less], fits[more]),
        method="scaled-shifted difference (Satorra 2000; lavaan lavTestLRT)",
        indices="_scaled",
    )
    return models, tests


def satorra_2000(m1: WLSMVFit, m0: WLSMVFit) -> tuple[float, int]:
    """lavaan's ``lav_test_diff_satorra2000(m1, m0, scaled_shifted = TRUE)``, ``A.method =
    "delta"``: m1 the less restricted model. Returns the scaled difference and its df."""
    ddf = m0.df - m1.df
    h = np.linalg.pinv(m1.delta) @ m0.delta
    a = _orthogonal_complement(h).T
    p_inv = m1.e_inverse
    apa = a @ p_inv @ a.T
    keep = ~((np.abs(apa.sum(axis=0)) < 1.5e-8) & (np.abs(apa.sum(axis=1)) < 1.5e-8))
    a = a[keep]
    paapaap = p_inv @ a.T @ np.linalg.pinv(a @ p_inv @ a.T) @ a @ p_inv
    n_obs = np.array([s.n for s in m1.sample], float)
    fg = n_obs / n_obs.sum()
    rows = np.cumsum([0] + [len(s.observed) for s in m1.sample])
    k_all = np.zeros_like(p_inv)
    trace = 0.0
    for g in range(len(m1.sample)):
        vp = m1.weights[g][:, None] * m1.delta[rows[g] : rows[g + 1]]
        k_g = vp.T @ m1.gamma[g] @ vp
        trace += fg[g] * np.sum(paapaap * k_g)
        k_all += fg[g] * k_g
    mk = paapaap @ k_all
    trace2 = float(np.sum(mk * mk.T))
    scale = np.sqrt(ddf / trace2)
    shift = ddf - scale * trace
    return float((m0.chi2 - m1.chi2) * scale + shift), int(ddf)


def _orthogonal_complement(matrix: np.ndarray) -> np.ndarray:
    """Columns spanning the orthogonal complement of ``matrix``'s column space."""
    u, singular, _ = np.linalg.svd(matrix, full_matrices=True)
    rank = int(np.sum(singular > 1e-10 * max(1.0, singular.max(initial=0.0))))
    return u[:, rank:]
