"""The whole validation workup of a scale: item statistics, reliability, factorability,
dimensionality, EFA and (on request) CFA, assembled from the statistics modules.

``run_workup`` takes the responses; ``run_workup_from_moments`` takes pairwise moments that were
accumulated chunk by chunk (``healing-survey analyze --from-db``), so that memory does not grow
with the number of respondents. Both give the same result object, whose ``to_dict()`` is the
JSON of ``healing-survey analyze --json`` documented in the README.

Given an array of answers, the workup imports pandas only for what needs the rows as a table
(the CFA, invariance, the graded response model, bootstrap intervals); see analysis._frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from analysis._frames import is_frame, labelled_frame
from analysis._input import item_values
from analysis._spec import keyed_responses, read_scales
from analysis.factors import (
    BartlettResult,
    Correlations,
    EFAResult,
    KMOResult,
    ParallelResult,
    bartlett_sphericity,
    check_raw_responses,
    correlations_from_moments,
    efa,
    kmo,
    parallel_analysis,
)
from analysis.itemstats import ItemStatistics, item_statistics, item_statistics_from_moments
from analysis.moments import PairwiseMoments
from analysis.pair_tables import MAX_TABLE_VALUES, PairTables
from analysis.reliability import (
    OmegaResult,
    ScaleReliabilityResult,
    omega_from_correlation,
    scale_reliability,
    scale_reliability_from_moments,
)

if TYPE_CHECKING:  # imported where used: only when asked for (CFA, GRM, invariance)
    import pandas as pd

    from analysis.cfa import CFAResult
    from analysis.invariance import InvarianceResult
    from analysis.irt import GRMResult
    from analysis.ordinal_cfa import OrdinalCFAResult

METHODS = ("minres", "ml", "pa")
ROTATIONS = ("oblimin", "promax", "varimax", "none")


@dataclass(frozen=True)
class WorkupOptions:
    """What the workup computes; the defaults are psych's.

    ``factors`` is a number of factors or ``"auto"`` (the parallel analysis decides).
    ``ordinal`` factors polychoric correlations instead of Pearson ones and fits the CFA by
    WLSMV instead of ML. ``ci_method`` is ``"feldt"`` or ``"bootstrap"`` (only with the
    responses at hand). ``group`` names a column of the responses: configural, metric and
    scalar invariance across its groups (ML, or WLSMV when ``ordinal``).
    """

    factors: int | str = "auto"
    method: str = "minres"
    rotation: str = "oblimin"
    ordinal: bool = False
    cfa: bool = False
    seed: int | None = None
    iterations: int = 20
    ci_method: str = "feldt"
    n_boot: int = 1000
    irt: bool = False
    group: str | None = None

    def __post_init__(self) -> None:
        if self.factors != "auto" and (
            isinstance(self.factors, bool) or not isinstance(self.factors, int) or self.factors < 1
        ):
            raise ValueError(f"factors must be 'auto' or a positive integer, got {self.factors!r}")
        if self.method not in METHODS:
            raise ValueError(f"method {self.method!r} is not one of {', '.join(METHODS)}")
        if self.rotation not in ROTATIONS:
            raise ValueError(f"rotation {self.rotation!r} is not one of {', '.join(ROTATIONS)}")
        if not isinstance(self.iterations, int) or self.iterations < 1:
            raise ValueError(f"iterations must be a positive integer, got {self.iterations!r}")
        if self.ci_method not in ("feldt", "bootstrap"):
            raise ValueError(f"ci_method {self.ci_method!r} is not 'feldt' or 'bootstrap'")

    def to_dict(self) -> dict:
        return {
            "factors": self.factors,
            "method": self.method,
            "rotation": self.rotation,
            "ordinal": self.ordinal,
            "cfa": self.cfa,
            "seed": self.seed,
            "iterations": self.iterations,
            "ci_method": self.ci_method,
            "irt": self.irt,
            "group": self.group,
        }


@dataclass(frozen=True)
class Workup:
    """Every result of the workup; ``to_dict()`` gives the documented JSON."""

    n: int
    items: tuple[str, ...]
    scale_items: dict[str, tuple[str, ...]]
    reverse_keyed: frozenset[str]
    options: WorkupOptions
    item_statistics: ItemStatistics
    scales: ScaleReliabilityResult
    omega: OmegaResult | None
    correlation: str
    kmo: KMOResult
    bartlett: BartlettResult
    parallel: ParallelResult | None
    efa: EFAResult | None
    cfa: CFAResult | OrdinalCFAResult | None
    notes: tuple[str, ...] = field(default=())
    irt: dict[str, GRMResult] | None = None
    invariance: InvarianceResult | None = None

    def to_dict(self) -> dict:
        return {
            "n": self.n,
            "missing": "pairwise",
            "options": self.options.to_dict(),
            "items": self.item_statistics.to_dict()["items"],
            "scales": self.scales.to_dict(),
            "omega": None if self.omega is None else _omega_dict(self.omega),
            "efa": self._efa_dict(),
            "cfa": None if self.cfa is None else _cfa_dict(self.cfa),
            "irt": None if self.irt is None else {s: f.to_dict() for s, f in self.irt.items()},
            "invariance": None if self.invariance is None else self.invariance.to_dict(),
            "notes": list(self.notes),
        }

    def irt_scores(self) -> pd.DataFrame:
        """EAP scores per respondent (row number from 1) and scale, long format; empty
        (NaN) where a respondent answered none of the scale's items."""
        import pandas as pd

        if self.irt is None:
            raise ValueError("the workup was run without the graded response model (irt=True)")
        frames = [
            pd.DataFrame(
                {
                    "row": np.arange(1, len(fit.theta_eap) + 1),
                    "scale": scale,
                    "theta_eap": fit.theta_eap,
                    "theta_sd": fit.theta_sd,
                }
            )
            for scale, fit in self.irt.items()
        ]
        if not frames:
            return pd.DataFrame(columns=["row", "scale", "theta_eap", "theta_sd"])
        return pd.concat(frames, ignore_index=True)

    def _efa_dict(self) -> dict:
        parallel = None
        if self.parallel is not None:
            parallel = {
                "n_factors": self.parallel.n_factors,
                "n_components": self.parallel.n_components,
                "iterations": self.parallel.iterations,
                "quantile": self.parallel.quantile,
                "observed_components": _floats(self.parallel.observed_components),
                "observed_factors": _floats(self.parallel.observed_factors),
                "simulated_components": _floats(self.parallel.simulated_components_quantile),
                "simulated_factors": _floats(self.parallel.simulated_factors_quantile),
            }
        result = {
            "correlation": self.correlation,
            "kmo": _float(self.kmo.overall),
            "kmo_items": {
                item: _float(v) for item, v in zip(self.kmo.items, self.kmo.item_kmo, strict=True)
            },
            "bartlett": {
                "chi2": _float(self.bartlett.chi2),
                "df": int(self.bartlett.df),
                "p": _float(self.bartlett.p),
            },
            "parallel": parallel,
            "n_factors": None,
            "method": self.options.method,
            "rotation": self.options.rotation,
            "loadings": {},
        }
        if self.efa is not None:
            efa_dict = self.efa.to_dict()
            result.update(
                {
                    key: efa_dict[key]
                    for key in (
                        "n_factors",
                        "factors",
                        "loadings",
                        "communalities",
                        "uniquenesses",
                        "factor_correlations",
                        "variance",
                        "converged",
                    )
                }
            )
        return result


def run_workup(
    data: pd.DataFrame | np.ndarray,
    spec: Any,
    options: WorkupOptions | None = None,
    *,
    items: Sequence[str] | None = None,
) -> Workup:
    """The workup on the responses (respondents x items, NaN where missing).

    Parameters
    ----------
    data : DataFrame or 2-D array
        One column per item; columns outside the specification are ignored. An array needs
        ``items``; it is read without pandas unless the options need the rows as a table.
    spec : items.ScaleSpec or mapping
        The scales; reverse-keyed items are reversed for reliability and for the CFA (which
        models the keyed scales); item statistics and the EFA use the items as answered.
    options : WorkupOptions, optional
    items : sequence of str, optional
        The names of an array's columns (``healing-survey analyze`` passes the answers it read).

    Returns
    -------
    Workup

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(5)
    >>> traits = rng.normal(size=(400, 2))
    >>> x = np.repeat(traits, 3, axis=1) + rng.normal(size=(400, 6))
    >>> x = np.clip(np.round(3 + x), 1, 5)
    >>> spec = {"a": ["a1", "a2", "a3"], "b": ["b1", "b2", "b3"]}
    >>> names = ["a1", "a2", "a3", "b1", "b2", "b3"]
    >>> result = run_workup(x, spec, WorkupOptions(seed=1), items=names)
    >>> result.to_dict()["efa"]["parallel"]["n_factors"]
    2
    """
    options = options or WorkupOptions()
    scales = read_scales(spec)
    if not is_frame(data) and _needs_rows(options):
        data = _table_of(data, items)
    groups = _group_column(data, options.group)
    answers, names = _answers_of(data, scales, items)
    # One pass of pairwise sums over the answers feeds the item statistics, the reliability
    # and the Pearson correlations; only the polychoric matrix and the CFA go back to the rows.
    moments, tables = _moments_of(answers, names, scales)
    notes = []
    if _counted_every_answer(moments):
        stats = item_statistics_from_moments(moments, response_range=scales.response_range)
    else:
        stats = item_statistics(_table_of(answers, names), response_range=scales.response_range)
    if options.ci_method == "bootstrap":
        reliability = scale_reliability(
            data, spec, ci_method="bootstrap", n_boot=options.n_boot, seed=options.seed
        )
    else:
        reliability = scale_reliability_from_moments(moments, spec)
    if options.ordinal:
        from analysis.polychoric import polychoric, polychoric_from_tables

        poly = (
            polychoric(_table_of(answers, names))
            if tables is None
            else polychoric_from_tables(tables)
        )
        corr_matrix = poly.matrix
        if poly.smoothed:
            notes.append("the polychoric matrix was not positive definite and was smoothed")
        correlation = "polychoric"
    else:
        check_raw_responses(answers, names)
        corr_matrix = correlations_from_moments(moments).matrix
        correlation = "pearson"
    result = _assemble(
        n=len(answers),
        items=names,
        scales=scales,
        options=options,
        stats=stats,
        reliability=reliability,
        corr=corr_matrix,
        correlation=correlation,
        cfa_input=keyed_responses(data, scales) if options.cfa or options.group else None,
        notes=notes + _listwise_note(answers) if options.cfa else notes,
        groups=groups,
    )
    return _with_irt(result, data, scales) if options.irt else result


def _needs_rows(options: WorkupOptions) -> bool:
    """Whether the options ask for statistics that take the rows as a table (a DataFrame)."""
    return (
        options.cfa
        or options.irt
        or options.group is not None
        or (options.ci_method == "bootstrap")
    )


def _table_of(answers, items: Sequence[str] | None) -> pd.DataFrame:
    """An array of answers as a DataFrame of its named columns, for the row statistics."""
    values, names = item_values(answers, items=_names_given(items))
    return labelled_frame(values, range(len(values)), names)


def _names_given(items: Sequence[str] | None) -> Sequence[str]:
    if items is None:
        raise ValueError("an array of answers needs items=, the names of its columns")
    return items


def _answers_of(data, scales, items: Sequence[str] | None) -> tuple[np.ndarray, tuple[str, ...]]:
    """The scales' items of ``data`` as answered (not yet keyed), floats, with their names."""
    if is_frame(data):
        frame = keyed_responses(data, replace(scales, reverse_keyed=frozenset()))
        return frame.to_numpy(), tuple(frame.columns)
    values, names = item_values(data, items=_names_given(items))
    used = _spec_items(scales)
    absent = sorted(set(used) - set(names))
    if absent:
        raise ValueError(f"scale items not in the data: {absent}")
    return values[:, [names.index(item) for item in used]], used


def _with_irt(result: Workup, data: pd.DataFrame, scales) -> Workup:
    """The workup with a graded response model per scale (on the keyed items)."""
    from analysis.irt import grm_by_scale

    fits, skipped = grm_by_scale(
        keyed_responses(data, scales), scales.items, response_range=scales.response_range
    )
    notes = [f"IRT {scale}: {note}" for scale, fit in fits.items() for note in fit.notes]
    return replace(result, irt=fits, notes=(*result.notes, *skipped, *notes))


def _listwise_note(answers: np.ndarray) -> list[str]:
    complete = int((~np.isnan(answers)).all(axis=1).sum())
    if complete == len(answers):
        return []
    return [
        f"the CFA used the {complete} of {len(answers)} respondents who answered every item "
        "(listwise deletion, as lavaan); the other statistics use pairwise-complete data"
    ]


def _group_column(data, group: str | None) -> pd.Series | None:
    if group is None:
        return None
    if group not in data.columns:
        raise ValueError(f"the grouping column {group!r} is not in the data")
    return data[group]


def _moments_of(answers: np.ndarray, items, scales):
    """Pairwise moments of the answers, counting each value of the response range, and the pair
    tables they come from when every answer is one of at most eight integer values (else None).

    For such answers the one-hot pair tables cost less than the moments' own pass over the
    rows (100,000 x 30 x 5 values: 0.08 s against 0.2 s), and an ordinal workup needs them
    for the polychoric correlations anyway.
    """
    values = ()
    if scales.response_range is not None:
        low, high = scales.response_range
        if float(low).is_integer() and float(high).is_integer():
            values = range(int(low), int(high) + 1)
    moments = PairwiseMoments(items=items, values=values, groups=scales.items)
    if 2 <= len(values) <= MAX_TABLE_VALUES and answers.shape[1] >= 2:
        tables = PairTables(items=items, values=values)
        try:
            tables.update(answers)
        except ValueError:  # an answer that is not one of the values: the moments take any
            pass
        else:
            moments.update_from_pair_counts(tables.counts, tables.values, ~np.isnan(answers))
            return moments, tables
    moments.update(answers)
    return moments, None


def _counted_every_answer(moments: PairwiseMoments) -> bool:
    """Whether every answer is one of the counted values (integers within the range)."""
    return bool(moments.values) and int(moments.counts.sum()) == int(moments.n_items.sum())


def run_workup_from_moments(
    moments: PairwiseMoments,
    spec: Any,
    options: WorkupOptions | None = None,
    *,
    tables: Any = None,
) -> Workup:
    """The workup from pairwise moments accumulated over chunks of responses.

    Gives the numbers of :func:`run_workup` on the rows behind ``moments`` (pairwise-complete
    covariances and correlations are what both use). With ``options.ordinal``, ``tables``
    (an :class:`analysis.polychoric.PairTables` of the same rows) gives the polychoric
    correlations. Not available from moments: bootstrap intervals, which need the rows
    (``ValueError``); the CFA uses the pairwise covariance matrix with ``n`` the number of
    respondents, where :func:`run_workup` drops incomplete rows as lavaan does.
    """
    options = options or WorkupOptions()
    if options.ordinal and tables is None:
        raise ValueError("ordinal (polychoric) analysis needs the pair tables or the responses")
    if options.group is not None:
        raise ValueError(
            f"invariance across {options.group!r} needs the responses, not pairwise moments"
        )
    if options.ci_method != "feldt":
        raise ValueError("bootstrap intervals need the responses, not moments")
    if options.irt:
        raise ValueError("the graded response model (--irt) needs the responses, not moments")
    scales = read_scales(spec)
    items = _spec_items(scales)
    if scales.response_range is None:
        raise ValueError("the scale specification needs a response range")
    column = {item: j for j, item in enumerate(moments.items)}
    absent = sorted(set(items) - set(column))
    if absent:
        raise ValueError(f"scale items not in the data: {absent}")
    idx = [column[item] for item in items]
    stats = item_statistics_from_moments(moments, response_range=scales.response_range)
    stats = stats.select(items)
    corr, correlation, notes = moments.correlation()[np.ix_(idx, idx)], "pearson", []
    if options.ordinal:
        corr, notes = _polychoric_of_tables(tables, items)
        correlation = "polychoric"
    return _assemble(
        n=moments.n_rows,
        items=items,
        scales=scales,
        options=options,
        stats=stats,
        reliability=scale_reliability_from_moments(moments, spec),
        corr=corr,
        correlation=correlation,
        cfa_input=_keyed_covariance(moments, scales, idx) if options.cfa else None,
        notes=[*notes, *(["the CFA used pairwise-complete covariances"] if options.cfa else [])],
    )


def _keyed_covariance(moments: PairwiseMoments, scales, idx: list[int]) -> pd.DataFrame:
    """The covariance matrix of the scale items, keyed: reversing an item flips the sign of its
    covariances (the CFA models the keyed scales)."""
    items = [moments.items[j] for j in idx]
    sign = np.where([item in scales.reverse_keyed for item in items], -1.0, 1.0)
    keyed = moments.covariance()[np.ix_(idx, idx)] * np.outer(sign, sign)
    return labelled_frame(keyed, items, items)


def _polychoric_of_tables(tables, items) -> tuple[np.ndarray, list[str]]:
    from analysis.polychoric import polychoric_from_tables

    poly = polychoric_from_tables(tables)
    position = {item: j for j, item in enumerate(poly.items)}
    idx = [position[item] for item in items]
    notes = ["the polychoric matrix was not positive definite and was smoothed"]
    return poly.matrix[np.ix_(idx, idx)], notes[: poly.smoothed]


def _assemble(
    *,
    n,
    items,
    scales,
    options,
    stats,
    reliability,
    corr,
    correlation,
    cfa_input,
    notes,
    groups=None,
) -> Workup:
    labelled = Correlations(corr, tuple(items), n)
    factorability = kmo(labelled)
    if factorability.singular:
        notes.append(_singular_note(len(items), n))
    sphericity = bartlett_sphericity(labelled, n=n)
    parallel = None
    n_factors = options.factors
    if options.factors == "auto":
        parallel = parallel_analysis(
            labelled, iterations=options.iterations, seed=options.seed, n=n
        )
        n_factors = parallel.n_factors
        if n_factors < 1:
            notes.append("the parallel analysis found no factor; no EFA was run")
    exploratory = None
    if n_factors >= 1:
        exploratory = efa(
            labelled, n_factors=n_factors, method=options.method, rotation=options.rotation, n=n
        )
    omega = _instrument_omega(corr, items, n, n_scales=len(scales.items), notes=notes)
    confirmatory = None
    if options.cfa:
        if any(len(members) < 2 for members in scales.items.values()):
            notes.append("the CFA needs at least two items per scale; it was not run")
        elif options.ordinal:
            confirmatory = _ordinal_cfa(cfa_input, scales, notes)
        else:
            from analysis._blas import one_blas_thread
            from analysis.cfa import cfa

            with one_blas_thread():  # the sample covariance of all rows
                confirmatory = cfa(
                    cfa_input, dict(scales.items), n=n if _is_matrix(cfa_input) else None
                )
    invariance = None
    if groups is not None:
        invariance = _invariance(cfa_input, groups, scales, options, notes)
    return Workup(
        n=n,
        items=items,
        scale_items=dict(scales.items),
        reverse_keyed=scales.reverse_keyed,
        options=options,
        item_statistics=stats,
        scales=reliability,
        omega=omega,
        correlation=correlation,
        kmo=factorability,
        bartlett=sphericity,
        parallel=parallel,
        efa=exploratory,
        cfa=confirmatory,
        notes=tuple(notes),
        invariance=invariance,
    )


def _singular_note(n_items: int, n: int) -> str:
    why = (
        f"only {n} respondents for {n_items} items"
        if n <= 2 * n_items
        else "some items are (nearly) linear combinations of others, or pairwise deletion "
        "combined incompatible subsets of respondents"
    )
    return (
        f"the correlation matrix is singular or not positive definite ({why}): KMO needs its "
        "inverse and is not reported, and Bartlett's test and the factor solutions are unreliable"
    )


def _ordinal_cfa(responses, scales, notes: list):
    """WLSMV needs the rows: thresholds, polychorics and their asymptotic covariance."""
    from analysis.ordinal_cfa import wlsmv_cfa

    if _is_matrix(responses):
        raise ValueError("the ordinal (WLSMV) CFA needs the responses, not a covariance matrix")
    result = wlsmv_cfa(responses, dict(scales.items))
    notes.extend(result.notes)
    return result


def _invariance(responses, groups, scales, options, notes: list):
    from analysis.invariance import measurement_invariance

    if any(len(members) < 2 for members in scales.items.values()):
        notes.append("invariance needs at least two items per scale; it was not tested")
        return None
    if options.group in responses.columns:
        raise ValueError(f"the grouping column {options.group!r} is an item of the scales")
    frame = responses.assign(**{options.group: groups.to_numpy()})
    result = measurement_invariance(
        frame, dict(scales.items), options.group, ordinal=options.ordinal
    )
    notes.extend(f"invariance: {note}" for note in result.notes)
    return result


def _instrument_omega(corr, items, n, *, n_scales: int, notes: list) -> OmegaResult | None:
    """Omega hierarchical of the whole instrument, one group factor per scale (psych's omega)."""
    if n_scales < 2 or len(items) <= n_scales:
        return None
    try:
        return omega_from_correlation(corr, items=items, n=n, n_factors=n_scales)
    except (ValueError, np.linalg.LinAlgError) as error:
        notes.append(f"omega hierarchical could not be computed: {error}")
        return None


def _spec_items(scales) -> tuple[str, ...]:
    return tuple(dict.fromkeys(item for members in scales.items.values() for item in members))


def _is_matrix(data) -> bool:
    return (
        is_frame(data) and data.shape[0] == data.shape[1] and list(data.index) == list(data.columns)
    )


def _float(value) -> float | None:
    value = float(value)
    return None if np.isnan(value) or np.isinf(value) else value


def _floats(values) -> list[float | None]:
    return [_float(v) for v in np.asarray(values, dtype=float)]


def _omega_dict(result: OmegaResult) -> dict:
    return {
        "omega_hierarchical": _float(result.omega_hierarchical),
        "omega_total": _float(result.omega_total),
        "explained_common_variance": _float(result.explained_common_variance),
        "n_factors": result.n_factors,
    }


def _cfa_dict(result) -> dict:
    full = result.to_dict()
    if full.get("estimator") == "WLSMV":
        return {key: value for key, value in full.items() if key != "notes"}
    keys = ("chi2", "df", "p", "cfi", "tli", "rmsea", "rmsea_ci", "srmr", "aic", "bic", "n")
    summary = {key: full[key] for key in keys if key in full}
    summary["std_loadings"] = full["std_loadings"]
    summary["factor_correlations"] = full.get("factor_correlations")
    summary["modification_indices"] = full.get("modification_indices")
    summary["converged"] = full.get("converged")
    summary["estimator"] = "ML"
    return summary
