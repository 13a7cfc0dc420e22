"""analysis.distributions against SciPy 1.17 (``scipy.special``, ``scipy.stats``) and mpmath.

Where SciPy itself is off (the deep normal and chi-square tails), the expected values come from
mpmath 1.4.1 at 50 significant digits (``mp.ncdf``, ``mp.gammainc(..., regularized=True)``,
``mp.findroot`` on ``mp.betainc``), and SciPy is held to its own rounding error there.
"""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from scipy import special, stats

from analysis.distributions import (
    bivariate_normal_cdf,
    chi2_cdf,
    chi2_sf,
    f_quantile,
    noncentral_chi2_cdf,
    normal_cdf,
    normal_quantile,
)


def test_importing_it_loads_no_scipy():
    code = (
        "import analysis.distributions, sys; "
        "assert not any(m == 'scipy' or m.startswith('scipy.') for m in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# --- normal ------------------------------------------------------------------------------------


def test_normal_cdf_matches_scipy_ndtr():
    x = np.linspace(-7, 8.5, 200_001)
    np.testing.assert_allclose(normal_cdf(x), special.ndtr(x), rtol=1e-14, atol=0)


def test_normal_cdf_lower_tail_within_scipys_own_rounding():
    # ndtr evaluates erfc(x / sqrt(2)): rounding x / sqrt(2) costs it up to x**2 ulps, 1e-14
    # from x = -7 down and 2e-13 at -37 (mpmath), where our values are good to 1e-16
    x = np.linspace(-37, -7, 100_001)
    relative = np.abs(normal_cdf(x) / special.ndtr(x) - 1)
    assert np.all(relative <= 1e-14 + x**2 * 2.0**-52)


@pytest.mark.parametrize(
    ("x", "expected"),  # mpmath: ncdf(x)
    [
        (-37.0, 5.7255712225245768e-300),
        (-30.0, 4.9067139271481871e-198),
        (-20.0, 2.7536241186062337e-89),
        (-12.5, 3.7325642988777134e-36),
        (-8.0, 6.2209605742717841e-16),
    ],
)
def test_normal_cdf_lower_tail_to_full_precision(x, expected):
    assert normal_cdf(x) == pytest.approx(expected, rel=1e-15)


def test_normal_cdf_edges_and_shapes():
    edges = normal_cdf(np.array([np.nan, -np.inf, np.inf, -40.0, 40.0, 0.0]))
    np.testing.assert_array_equal(edges, [np.nan, 0.0, 1.0, 0.0, 1.0, 0.5])
    assert isinstance(normal_cdf(0.3), float)
    assert normal_cdf(np.zeros((2, 3))).shape == (2, 3)


def test_normal_quantile_matches_scipy_ndtri():
    p = np.concatenate(
        [
            np.logspace(-300, -1, 100_000),
            np.linspace(0.01, 0.99, 100_000),
            1 - np.logspace(-16, -1, 100_000),
        ]
    )
    np.testing.assert_allclose(normal_quantile(p), special.ndtri(p), rtol=1e-14, atol=0)


def test_normal_quantile_edges():
    edges = normal_quantile(np.array([0.0, 1.0, -0.1, 1.1, np.nan, 0.5]))
    np.testing.assert_array_equal(edges, [-np.inf, np.inf, np.nan, np.nan, np.nan, 0.0])
    assert isinstance(normal_quantile(0.3), float)


def test_normal_quantile_inverts_normal_cdf():
    p = np.linspace(1e-4, 1 - 1e-4, 1001)
    np.testing.assert_allclose(normal_cdf(normal_quantile(p)), p, rtol=1e-14)


# --- bivariate normal --------------------------------------------------------------------------


def owens_t_bvn_cdf(h, k, rho):
    """Owen (1956): P(X <= h, Y <= k) from Owen's T (scipy.special.owens_t), as polychoric had it.

    The formula divides by h and by k; at h = 0 it tends to Phi(k)/2 - T(k, -rho/sqrt(1-rho^2))
    (and likewise at k = 0), which is used there rather than polychoric's h = 1e-12 (4e-13 off).
    """
    h, k, rho = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (h, k, rho)))
    finite = np.isfinite(h) & np.isfinite(k)
    hf, kf = np.where(finite, h, 1.0), np.where(finite, k, 1.0)
    s = np.sqrt(1 - rho**2)
    hs, ks = np.where(hf == 0, 1.0, hf), np.where(kf == 0, 1.0, kf)
    general = (
        0.5 * (special.ndtr(hf) + special.ndtr(kf))
        - special.owens_t(hf, (kf - rho * hf) / (hs * s))
        - special.owens_t(kf, (hf - rho * kf) / (ks * s))
        - np.where(hf * kf < 0, 0.5, 0.0)
    )
    h_zero = 0.5 * special.ndtr(kf) - special.owens_t(kf, -rho / s)
    k_zero = 0.5 * special.ndtr(hf) - special.owens_t(hf, -rho / s)
    both_zero = 0.25 + np.arcsin(rho) / (2 * np.pi)
    value = np.where(
        hf == 0, np.where(kf == 0, both_zero, h_zero), np.where(kf == 0, k_zero, general)
    )
    edge = np.where(
        (h == -np.inf) | (k == -np.inf),
        0.0,
        np.where(h == np.inf, special.ndtr(k), special.ndtr(h)),
    )
    return np.where(finite, value, edge)


def test_bivariate_normal_cdf_matches_owens_t_on_a_dense_grid():
    # steps of 0.25 (no zero) and 0.3 (with zero), and both infinities
    limits = np.concatenate([np.linspace(-6, 6, 49), np.linspace(-6, 6, 41), [-np.inf, np.inf]])
    rho = np.linspace(-0.999, 0.999, 161)
    h, k, r = (a.ravel() for a in np.meshgrid(limits, limits, rho, indexing="ij"))
    error = np.abs(bivariate_normal_cdf(h, k, r) - owens_t_bvn_cdf(h, k, r))
    assert error.max() <= 5e-15


def test_bivariate_normal_cdf_matches_scipy_multivariate_normal():
    rng = np.random.default_rng(1)
    h, k = rng.normal(size=40), rng.normal(size=40)
    rho = rng.uniform(-0.95, 0.95, size=40)
    h[:3], k[1:4] = 0.0, 0.0
    expected = [
        stats.multivariate_normal(cov=[[1, r], [r, 1]]).cdf([a, b])
        for a, b, r in zip(h, k, rho, strict=True)
    ]
    np.testing.assert_allclose(bivariate_normal_cdf(h, k, rho), expected, atol=1e-9)
    edges = bivariate_normal_cdf([-np.inf, np.inf, 0.3], [0.2, 0.5, np.inf], np.zeros(3))
    np.testing.assert_allclose(edges, [0, stats.norm.cdf(0.5), stats.norm.cdf(0.3)])


def test_bivariate_normal_cdf_with_infinite_limits_is_a_margin_or_zero():
    limits = np.linspace(-6, 6, 25)
    rho = np.linspace(-0.999, 0.999, 9)[:, None]
    margin = np.broadcast_to(normal_cdf(limits), (9, 25))
    np.testing.assert_array_equal(bivariate_normal_cdf(np.inf, limits, rho), margin)
    np.testing.assert_array_equal(bivariate_normal_cdf(limits, np.inf, rho), margin)
    np.testing.assert_array_equal(bivariate_normal_cdf(-np.inf, limits, rho), np.zeros((9, 25)))
    np.testing.assert_array_equal(bivariate_normal_cdf(limits, -np.inf, rho), np.zeros((9, 25)))
    assert bivariate_normal_cdf(np.inf, np.inf, 0.5) == 1.0


def test_bivariate_normal_cdf_at_perfect_correlation_is_the_limit():
    h, k = (a.ravel() for a in np.meshgrid(np.linspace(-6, 6, 41), np.linspace(-6, 6, 41)))
    np.testing.assert_allclose(
        bivariate_normal_cdf(h, k, 1.0), normal_cdf(np.minimum(h, k)), rtol=0, atol=3e-16
    )
    np.testing.assert_allclose(
        bivariate_normal_cdf(h, k, -1.0),
        np.maximum(0.0, normal_cdf(h) - normal_cdf(-k)),
        rtol=0,
        atol=3e-16,
    )


def test_bivariate_normal_cdf_refuses_impossible_correlations():
    values = bivariate_normal_cdf(
        [0.0, 0.0, np.nan, 0.0], [0.0, 0.0, 0.0, np.nan], [1.5, np.nan, 0, 0]
    )
    assert np.isnan(values).all()


# --- chi-square --------------------------------------------------------------------------------

CHI2_DF = [*range(1, 21), 35, 50, 99, 100, 101, 390, 1000, 2500, 4898, 10_000, 16_775, 20_000]


def chi2_grid():
    for df in CHI2_DF:
        spread = math.sqrt(2 * df)
        near = df + spread * np.linspace(-40, 40, 41)
        for x in np.concatenate([np.logspace(-3, 5, 41), near, [df - 1, df, df + 1]]):
            if 1e-3 <= x <= 1e5:
                yield float(x), df


def test_chi2_matches_scipy_chdtrc_and_chdtr():
    compared = 0
    for x, df in chi2_grid():
        for ours, scipys in (
            (chi2_sf(x, df), special.chdtrc(df, x)),
            (chi2_cdf(x, df), special.chdtr(df, x)),
        ):
            # deeper than 1e-20 SciPy's own error grows to 3e-11 (see the mpmath values below)
            if scipys > 1e-20:
                assert ours == pytest.approx(scipys, rel=1e-12), (x, df)
                compared += 1
    assert compared > 2000


@pytest.mark.parametrize(
    ("x", "df", "tail", "expected"),  # mpmath: gammainc(df/2, x/2, inf or 0, regularized=True)
    [
        (24101.66363360568, 16775, "sf", 1.2476471267445498e-273),
        (7471.34335, 4898, "sf", 3.075731508244437e-112),
        (7075.44437, 4898, "sf", 4.1880840157497830e-84),
        (26000.0, 20000, "sf", 4.7123471774856431e-166),
        (15000.0, 20000, "cdf", 3.5586536365743584e-166),
        (1000.0, 3000, "cdf", 6.3287032331009647e-284),
        (1000.0, 390, "sf", 3.4810922875997655e-55),
        (1300.0, 2, "sf", 5.1119519486511562e-283),
    ],
)
def test_chi2_deep_tails_to_1e_12(x, df, tail, expected):
    value = chi2_sf(x, df) if tail == "sf" else chi2_cdf(x, df)
    assert value == pytest.approx(expected, rel=1e-12)


def test_chi2_edges():
    assert (chi2_sf(-1.0, 3), chi2_sf(0.0, 3), chi2_sf(math.inf, 3)) == (1.0, 1.0, 0.0)
    assert (chi2_cdf(-1.0, 3), chi2_cdf(0.0, 3), chi2_cdf(math.inf, 3)) == (0.0, 0.0, 1.0)
    for x, df in ((math.nan, 3), (1.0, math.nan), (1.0, 0), (1.0, -2)):
        assert math.isnan(chi2_sf(x, df)) and math.isnan(chi2_cdf(x, df))
    assert chi2_sf(np.array(3.0), np.array(2)) == pytest.approx(math.exp(-1.5), rel=1e-15)
    assert chi2_sf(3.0, 0.5) == pytest.approx(special.chdtrc(0.5, 3.0), rel=1e-14)


# --- F -----------------------------------------------------------------------------------------


def test_f_quantile_matches_scipy_fdtri():
    probabilities = [1e-6, 1e-4, 0.01, 0.025, 0.1, 0.3, 0.5, 0.7, 0.9, 0.975, 0.99, 1 - 1e-4]
    probabilities.append(1 - 1e-6)
    for dfn in (1, 2, 3, 5, 10, 30, 100, 300, 1000):
        for dfd in (1, 2, 3, 5, 10, 30, 100, 1e3, 1e4, 1e5, 1e6, 1e7):
            for p in probabilities:
                expected = special.fdtri(dfn, dfd, p)
                assert f_quantile(p, dfn, dfd) == pytest.approx(expected, rel=1e-10), (p, dfn, dfd)


@pytest.mark.parametrize(
    ("p", "dfn", "dfd", "expected"),  # mpmath: findroot of betainc(dfn/2, dfd/2, 0, y) = p
    [
        (0.7, 30, 1e7, 1.1176747399352010352),  # scipy's fdtri is 5e-11 off here
        (0.9, 3, 1e7, 2.0837967575313800),
        (0.975, 1, 1e6, 5.0239013190075220),
    ],
)
def test_f_quantile_to_full_precision(p, dfn, dfd, expected):
    assert f_quantile(p, dfn, dfd) == pytest.approx(expected, rel=1e-13)


def test_f_quantile_for_feldt_intervals_of_large_samples():
    # reliability's Feldt bounds: dfn = n - 1, dfd = (n - 1)(k - 1)
    for n, k in ((100_000, 10), (20_000, 30), (5, 2)):
        dfn, dfd = n - 1, (n - 1) * (k - 1)
        for p in (0.025, 0.975):
            assert f_quantile(p, dfn, dfd) == pytest.approx(special.fdtri(dfn, dfd, p), rel=1e-12)


def test_f_quantile_edges():
    assert (f_quantile(0.0, 3, 5), f_quantile(1.0, 3, 5)) == (0.0, math.inf)
    for p, dfn, dfd in ((-0.1, 3, 5), (1.1, 3, 5), (math.nan, 3, 5), (0.5, 0, 5), (0.5, 3, -1)):
        assert math.isnan(f_quantile(p, dfn, dfd))


# --- noncentral chi-square ---------------------------------------------------------------------


def test_noncentral_chi2_cdf_matches_scipy_chndtr():
    compared = 0
    for df in (1, 2, 3, 7, 20, 100, 500, 2000, 5000):
        for nc in (0, 1e-3, 0.5, 2, 10, 50, 200, 1000, 5000):
            mean, sd = df + nc, math.sqrt(2 * (df + 2 * nc))
            grid = np.concatenate([mean + sd * np.linspace(-12, 12, 17), np.logspace(-2, 4.3, 9)])
            for x in grid[(grid > 0) & (grid <= 20_000)]:
                expected = special.chndtr(x, df, nc)
                if expected > 1e-200:
                    assert noncentral_chi2_cdf(x, df, nc) == pytest.approx(expected, rel=1e-10)
                    compared += 1
    assert compared > 1000


def test_noncentral_chi2_cdf_edges():
    assert noncentral_chi2_cdf(0.0, 3, 2) == 0.0
    assert noncentral_chi2_cdf(-1.0, 3, 2) == 0.0
    assert noncentral_chi2_cdf(math.inf, 3, 2) == 1.0
    assert noncentral_chi2_cdf(2.0, 3, 0) == chi2_cdf(2.0, 3)
    for x, df, nc in ((math.nan, 3, 2), (2.0, 0, 2), (2.0, 3, -1), (2.0, 3, math.nan)):
        assert math.isnan(noncentral_chi2_cdf(x, df, nc))
