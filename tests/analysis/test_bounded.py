"""The NumPy bounded minimizer (analysis._bounded) against scipy's L-BFGS-B and known minima.

The reference is scipy 1.17's ``optimize.minimize(method="L-BFGS-B")`` with the options the
factor extraction used before (``ftol=1e-12, gtol=1e-8, maxiter=1000``), run here on the real
problem: the minres and ML discrepancies of analysis.factors over uniquenesses in
[0.005, 1], started from 1 - SMC. The correlation matrices come from data simulated from
seeded factor models. Every odd seed is prone to Heywood cases (a uniqueness on its lower
bound): few strong items per factor, 50-200 respondents and one factor more than the model
has, the classic cause. The other quadratic and Rosenbrock minima are known in closed form.
"""

from __future__ import annotations

import doctest
from functools import cache

import numpy as np
import pytest
from scipy import optimize

import analysis._bounded
from analysis import factors
from analysis._blas import one_blas_thread
from analysis._bounded import minimize_within_bounds

from .fresh_interpreter import libraries_imported

LOWER = factors._LOWER_UNIQUENESS
SEEDS = range(100)
DISCREPANCIES = {
    "minres": (factors._uls_discrepancy, factors._uls_loadings),
    "ml": (factors._ml_discrepancy, factors._ml_loadings),
}


def factor_model_correlations(seed: int) -> tuple[np.ndarray, int]:
    """A sample correlation matrix from a simple-structure factor model, and the factors to fit.

    Items: 6 to 60; factors: 1 to 8; loadings uniform on [0.2, 0.95] (on [0.6, 0.95] for
    odd seeds); respondents log-uniform on [50, 5000] (50 to 200 for odd seeds), at least
    ten more than items so that the ML discrepancy is defined.
    """
    rng = np.random.default_rng(seed)
    k = int(rng.integers(1, 9))
    if seed % 2:
        p = min(60, max(6, int(rng.integers(3 * k, 5 * k + 1))))
        smallest_loading, n = 0.6, int(rng.integers(50, 201))
        fitted = k + 1 if k < 8 and (p - k - 1) ** 2 >= p + k + 1 else k
    else:
        p = int(rng.integers(max(6, 3 * k), 61))
        smallest_loading, n = 0.2, int(np.exp(rng.uniform(np.log(50), np.log(5000))))
        fitted = k
    n = max(n, p + 10)
    loadings = np.zeros((p, k))
    loadings[np.arange(p), np.arange(p) % k] = rng.uniform(smallest_loading, 0.95, p)
    scores = rng.standard_normal((n, k)) @ loadings.T
    scores += rng.standard_normal((n, p)) * np.sqrt(1 - (loadings**2).sum(axis=1))
    return np.corrcoef(scores, rowvar=False), fitted


def scipy_fit(objective, r: np.ndarray, k: int) -> optimize.OptimizeResult:
    return optimize.minimize(
        objective,
        1 - factors._smc(r),
        args=(r, k),
        jac=True,
        method="L-BFGS-B",
        bounds=[(LOWER, 1.0)] * len(r),
        options={"maxiter": 1000, "ftol": 1e-12, "gtol": 1e-8},
    )


def our_fit(objective, r: np.ndarray, k: int):
    return minimize_within_bounds(
        objective, 1 - factors._smc(r), LOWER, 1.0, args=(r, k), ftol=1e-12, gtol=1e-8
    )


@cache
def extraction_pairs() -> list[dict]:
    """Both minimizers on every seeded matrix and discrepancy, as the extraction runs them."""
    pairs = []
    with one_blas_thread():
        for seed in SEEDS:
            r, k = factor_model_correlations(seed)
            for method, (objective, loadings) in DISCREPANCIES.items():
                ours, theirs = our_fit(objective, r, k), scipy_fit(objective, r, k)
                pairs.append(
                    {
                        "case": f"seed {seed} {method} p={len(r)} k={k}",
                        "ours": ours,
                        "scipy": theirs,
                        "our_loadings": loadings(ours.x, r, k),
                        "scipy_loadings": loadings(theirs.x, r, k),
                    }
                )
    return pairs


def at_lower_bound(x: np.ndarray) -> int:
    return int(np.count_nonzero(x <= LOWER))


def test_the_seeded_problems_include_many_heywood_cases_and_many_without():
    heywood = [pair for pair in extraction_pairs() if at_lower_bound(pair["scipy"].x)]
    minres = [pair for pair in heywood if "minres" in pair["case"]]
    # 100 seeds x 2 discrepancies: 36 Heywood fits (11 minres, 25 ML) with scipy 1.17.1.
    assert len(heywood) >= 20 and len(minres) >= 5
    assert len(extraction_pairs()) - len(heywood) >= 100


def test_our_minimum_is_never_higher_than_scipys():
    for pair in extraction_pairs():
        ours, theirs = pair["ours"].fun, pair["scipy"].fun
        assert ours <= theirs + 1e-10 * max(1.0, abs(theirs)), pair["case"]


def test_both_converge_to_the_same_uniquenesses_and_loadings():
    for pair in extraction_pairs():
        assert pair["ours"].converged == pair["scipy"].success, pair["case"]
        if not pair["scipy"].success:
            continue
        assert np.abs(pair["ours"].x - pair["scipy"].x).max() < 1e-5, pair["case"]
        ours, theirs = pair["our_loadings"], pair["scipy_loadings"]
        signs = np.where(np.sum(ours * theirs, axis=0) < 0, -1.0, 1.0)
        assert np.abs(ours * signs - theirs).max() < 1e-5, pair["case"]


def test_heywood_cases_hold_the_same_uniquenesses_exactly_on_the_bound():
    for pair in extraction_pairs():
        ours, theirs = pair["ours"].x, pair["scipy"].x
        assert np.array_equal(ours <= LOWER, theirs <= LOWER), pair["case"]
        assert (ours >= LOWER).all() and (ours <= 1.0).all()


def test_a_heywood_case_in_closed_form():
    # One factor for three items: the loadings are fixed by r12 r13 / r23 = 1.2 for the first
    # item, a communality above 1, so its uniqueness must sit on the bound with the gradient
    # pointing out of the box, while the other two fit exactly (zero gradient).
    r = np.array([[1.0, 0.9, 0.8], [0.9, 1.0, 0.6], [0.8, 0.6, 1.0]])
    result = our_fit(factors._uls_discrepancy, r, 1)
    _, gradient = factors._uls_discrepancy(result.x, r, 1)
    assert result.converged
    assert result.x[0] == LOWER and gradient[0] > 0.01
    assert np.abs(gradient[1:]).max() < 1e-6
    assert result.fun == pytest.approx(scipy_fit(factors._uls_discrepancy, r, 1).fun, abs=1e-12)


def test_a_variable_started_on_its_bound_leaves_it_when_the_gradient_points_inside():
    r, k = factor_model_correlations(0)
    start = np.full(len(r), LOWER)
    result = minimize_within_bounds(factors._uls_discrepancy, start, LOWER, 1.0, args=(r, k))
    reference = scipy_fit(factors._uls_discrepancy, r, k)
    assert at_lower_bound(result.x) == at_lower_bound(reference.x) == 0
    assert np.abs(result.x - reference.x).max() < 1e-5


def quadratic(centre: np.ndarray, hessian: np.ndarray):
    def bowl(x: np.ndarray) -> tuple[float, np.ndarray]:
        return 0.5 * float((x - centre) @ hessian @ (x - centre)), hessian @ (x - centre)

    return bowl


@pytest.fixture
def hessian() -> np.ndarray:
    a = np.random.default_rng(3).standard_normal((4, 4))
    return a @ a.T + np.eye(4)


def test_quadratic_with_its_minimum_inside_the_box(hessian):
    centre = np.array([0.2, 0.5, 0.7, 0.4])
    result = minimize_within_bounds(quadratic(centre, hessian), np.full(4, 0.9), 0.0, 1.0)
    assert result.converged
    assert np.abs(result.x - centre).max() < 1e-6


def test_quadratic_with_its_minimum_on_a_bound(hessian):
    centre = np.array([0.2, 1.6, 0.7, 0.4])
    result = minimize_within_bounds(quadratic(centre, hessian), np.full(4, 0.5), 0.0, 1.0)
    # With x2 on its upper bound the others solve H_FF (x_F - c_F) = -H_F2 (1 - c_2).
    free = [0, 2, 3]
    expected = centre[free] - np.linalg.solve(
        hessian[np.ix_(free, free)], hessian[free, 1] * (1.0 - centre[1])
    )
    assert result.converged
    assert result.x[1] == 1.0
    assert np.abs(result.x[free] - expected).max() < 1e-6
    assert ((expected > 0) & (expected < 1)).all()  # so only x2 is on a bound


def test_quadratic_with_its_minimum_at_a_corner():
    centre = np.array([5.0, -5.0, 5.0, -5.0])
    bowl = quadratic(centre, np.diag([1.0, 2.0, 3.0, 4.0]))
    result = minimize_within_bounds(bowl, np.full(4, 0.5), 0.0, 1.0)
    assert result.converged
    assert result.x.tolist() == [1.0, 0.0, 1.0, 0.0]


def rosenbrock(x: np.ndarray) -> tuple[float, np.ndarray]:
    a, b = x
    value = (1 - a) ** 2 + 100 * (b - a * a) ** 2
    return float(value), np.array([-2 * (1 - a) - 400 * a * (b - a * a), 200 * (b - a * a)])


def test_rosenbrock_in_a_box_that_contains_its_minimum():
    result = minimize_within_bounds(rosenbrock, np.array([-1.2, 1.0]), -2.0, 2.0)
    assert result.converged
    assert np.abs(result.x - 1.0).max() < 1e-6


def test_rosenbrock_in_a_box_that_cuts_off_its_minimum():
    # With a <= 0.5 the minimum is on that bound at b = a^2, where f = (1 - 0.5)^2.
    lower, upper = np.array([-2.0, -2.0]), np.array([0.5, 2.0])
    result = minimize_within_bounds(rosenbrock, np.array([-1.2, 1.0]), lower, upper)
    assert result.converged
    assert result.x[0] == 0.5
    assert result.x[1] == pytest.approx(0.25, abs=1e-6)
    assert result.fun == pytest.approx(0.25, abs=1e-10)


def test_running_out_of_iterations_is_reported_as_not_converged():
    start = np.array([-1.2, 1.0])
    result = minimize_within_bounds(rosenbrock, start, -2.0, 2.0, max_iter=5)
    assert not result.converged
    assert result.iterations == 5
    assert result.fun < rosenbrock(start)[0]


def test_a_start_outside_the_box_is_moved_into_it(hessian):
    centre = np.array([0.2, 0.5, 0.7, 0.4])
    result = minimize_within_bounds(quadratic(centre, hessian), np.full(4, 3.0), 0.0, 1.0)
    assert np.abs(result.x - centre).max() < 1e-6


@pytest.mark.parametrize(
    ("x0", "lower", "upper", "max_iter", "message"),
    [
        (np.zeros(2), 1.0, 0.0, 10, "lower <= upper"),
        (np.zeros(2), np.zeros(3), 1.0, 10, "do not fit"),
        (np.zeros((2, 2)), 0.0, 1.0, 10, "1-D"),
        (np.array([0.0, np.nan]), 0.0, 1.0, 10, "finite"),
        (np.zeros(2), 0.0, 1.0, 0, "max_iter"),
    ],
)
def test_bad_input_is_refused(x0, lower, upper, max_iter, message):
    with pytest.raises(ValueError, match=message):
        minimize_within_bounds(rosenbrock, x0, lower, upper, max_iter=max_iter)


def test_the_examples_in_the_docstrings_run():
    # tests/analysis/test_docstring_examples.py runs only the public modules' examples.
    result = doctest.testmod(analysis._bounded)
    assert result.attempted > 0
    assert result.failed == 0


def test_factor_extraction_no_longer_imports_scipy_optimize():
    assert libraries_imported("import analysis._bounded, analysis.factors", ("scipy",)) == []
