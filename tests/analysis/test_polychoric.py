"""Polychoric correlations against R psych 2.2.9 ``polychoric()`` on the public bfi data.

Expected numbers come from tests/analysis/reference/reference_a.R; the full 25 x 25 matrix of
``polychoric(bfi)$rho`` is data/a_ref_polychoric_bfi_rho.csv. psych finds each correlation
with ``optimize()`` (tolerance about 1e-4), so matrices are compared at 1e-4.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from analysis.polychoric import (
    PairTables,
    _smooth_correlation,
    polychoric,
    polychoric_from_tables,
)

from .fresh_interpreter import libraries_imported

DATA = Path(__file__).parent / "data"
AGREE = ["A1", "A2", "A3", "A4", "A5"]


@pytest.fixture(scope="module")
def bfi() -> pd.DataFrame:
    return pd.read_csv(DATA / "a_bfi.csv")


def test_bfi_matrix_matches_psych(bfi):
    result = polychoric(bfi)
    expected = pd.read_csv(DATA / "a_ref_polychoric_bfi_rho.csv", index_col=0)
    assert np.abs(result.correlation.to_numpy() - expected.to_numpy()).max() < 1e-4
    assert list(result.correlation.columns) == list(expected.columns)
    assert result.global_thresholds and not result.smoothed
    assert result.n == 2800


def test_bfi_thresholds_match_psych(bfi):
    # polychoric(bfi)$tau[c("A1", "N5"), ]
    expected = [
        [-0.4366622340, 0.31863936400, 0.7368609777, 1.2289002830, 1.888878985],
        [-0.7191771807, -0.06472358816, 0.2846749559, 0.8239634903, 1.359638260],
    ]
    thresholds = polychoric(bfi).thresholds
    np.testing.assert_allclose(thresholds.loc[["A1", "N5"]], expected, atol=1e-8)
    assert list(thresholds.columns) == ["1|2", "2|3", "3|4", "4|5", "5|6"]


def test_small_sample_with_empty_cells_matches_psych(bfi):
    # polychoric(bfi[1:120, c("A1","A2","A3","A4","A5","N1")])$rho, rows A1 and N1
    small = bfi.iloc[:120][[*AGREE, "N1"]]
    result = polychoric(small).correlation
    np.testing.assert_allclose(
        result.loc["A1"],
        [1, -0.4470442861, -0.3266413222, 0.0106209683, -0.3651481936, 0.2823490856],
        atol=1e-4,
    )
    np.testing.assert_allclose(
        result.loc["N1"],
        [0.2823490856, -0.1533921684, -0.05214821564, 0.008312684084, -0.3546624837, 1],
        atol=1e-4,
    )


def test_per_pair_thresholds_with_continuity_correction_match_psych(bfi):
    # polychoric(na.omit(bfi[1:200, A1..A5]), global=FALSE)$rho: psych warns "10 cells were
    # adjusted" (one per corrected pair)
    local = bfi.iloc[:200][AGREE].dropna()
    result = polychoric(local, global_thresholds=False)
    expected_a1 = [1, -0.4358603699, -0.3243118180, -0.06612173857, -0.3164894033]
    expected_a3 = [-0.3243118180, 0.5176694391, 1, 0.3498726985, 0.5856916265]
    np.testing.assert_allclose(result.correlation.loc["A1"], expected_a1, atol=1e-4)
    np.testing.assert_allclose(result.correlation.loc["A3"], expected_a3, atol=1e-4)
    assert result.corrected_pairs == 10 and not result.global_thresholds


def test_per_pair_thresholds_without_correction_match_psych(bfi):
    # polychoric(na.omit(bfi[1:200, A1..A5]), global=FALSE, correct=0)$rho["A2", ]
    local = bfi.iloc[:200][AGREE].dropna()
    result = polychoric(local, global_thresholds=False, correct=0)
    expected_a2 = [-0.4783837940, 1, 0.5736884117, 0.2930067531, 0.4770108667]
    np.testing.assert_allclose(result.correlation.loc["A2"], expected_a2, atol=1e-4)
    assert result.corrected_pairs == 0


def test_full_per_pair_matrix_matches_psych(bfi):
    # polychoric(bfi[, 1:5], global=FALSE)$rho (pairwise-complete rows, no empty cells)
    expected = np.array(
        [
            [1.0000000000, -0.4074086630, -0.3222803879, -0.1753496230, -0.2276615753],
            [-0.4074086630, 1.0000000000, 0.5555487080, 0.3896248053, 0.4489499624],
            [-0.3222803879, 0.5555487080, 1.0000000000, 0.4084632867, 0.5732944066],
            [-0.1753496230, 0.3896248053, 0.4084632867, 1.0000000000, 0.3554476418],
            [-0.2276615753, 0.4489499624, 0.5732944066, 0.3554476418, 1.0000000000],
        ]
    )
    result = polychoric(bfi[AGREE], global_thresholds=False)
    assert np.abs(result.correlation.to_numpy() - expected).max() < 1e-4


def test_items_with_different_highest_answers_use_per_pair_thresholds():
    rng = np.random.default_rng(3)
    latent = rng.multivariate_normal([0, 0, 0], [[1, 0.5, 0.4], [0.5, 1, 0.3], [0.4, 0.3, 1]], 3000)
    answers = np.column_stack(
        [np.digitize(latent[:, 0], [-1, 0, 1]), np.digitize(latent[:, 1:], [-0.5, 0.5])]
    )
    result = polychoric(answers)
    assert not result.global_thresholds
    np.testing.assert_allclose(
        result.correlation.to_numpy()[np.triu_indices(3, 1)], [0.5, 0.4, 0.3], atol=0.06
    )


@pytest.mark.parametrize(
    ("matrix", "expected_off_diagonal"),
    [
        # psych::cor.smooth(matrix(c(1,.9,.2,.9,1,.8,.2,.8,1),3))
        ([[1, 0.9, 0.2], [0.9, 1, 0.8], [0.2, 0.8, 1]], [0.8221699442, 0.2192228088, 0.7356336018]),
        # psych::cor.smooth(matrix(c(1,.9,-.5,.9,1,.5,-.5,.5,1),3))
        (
            [[1, 0.9, -0.5], [0.9, 1, 0.5], [-0.5, 0.5, 1]],
            [0.7106096446, -0.3803881933, 0.3803881933],
        ),
    ],
)
def test_smoothing_matches_psych_cor_smooth(matrix, expected_off_diagonal):
    smoothed, changed = _smooth_correlation(np.array(matrix, dtype=float))
    assert changed
    np.testing.assert_allclose(smoothed[np.triu_indices(3, 1)], expected_off_diagonal, atol=1e-8)
    assert np.linalg.eigvalsh(smoothed).min() > 0


def test_positive_definite_matrix_is_left_alone():
    matrix = np.array([[1, 0.3], [0.3, 1]])
    smoothed, changed = _smooth_correlation(matrix)
    assert not changed and smoothed is matrix


def test_twenty_thousand_by_thirty_recovers_the_latent_correlation():
    # Its speed is measured by benchmarks/polychoric_benchmark.py, not asserted here.
    rng = np.random.default_rng(5)
    latent = 0.7 * rng.normal(size=(20_000, 1)) + 0.7 * rng.normal(size=(20_000, 30))
    answers = np.digitize(latent, [-1.5, -0.5, 0.5, 1.5]).astype(float) + 1
    answers[rng.random(answers.shape) < 0.05] = np.nan
    result = polychoric(answers)
    off_diagonal = result.correlation.to_numpy()[np.triu_indices(30, 1)]
    assert np.abs(off_diagonal - 0.5).max() < 0.05  # latent correlation 0.49 / 0.98


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        (np.array([[1.5, 2], [2, 3], [3, 1]]), "integer"),
        (np.array([[1, 2], [9, 3], [3, 1]]), "at most 8"),
        (np.array([[1, 2], [1, 3], [1, 1]]), "without variance"),
    ],
)
def test_bad_answers_are_rejected(answers, message):
    with pytest.raises(ValueError, match=message):
        polychoric(answers)


def test_pair_without_shared_answers_is_nan_and_not_smoothed():
    rng = np.random.default_rng(8)
    answers = rng.integers(1, 5, size=(200, 3)).astype(float)
    answers[:100, 0] = np.nan
    answers[100:, 1] = np.nan
    result = polychoric(answers)
    matrix = result.correlation.to_numpy()
    assert np.isnan(matrix[0, 1]) and np.isnan(matrix[1, 0])
    assert np.isfinite(matrix[0, 2]) and not result.smoothed


CHUNKED_ITEMS = [*AGREE, "C1", "C2", "E1", "N1"]


@pytest.fixture(scope="module", params=[1, 97, 2800], ids=lambda chunk: f"chunk{chunk}")
def tables_in_chunks(request, bfi) -> PairTables:
    """The pair tables of bfi's rows added ``chunk`` rows at a time (2,800 updates for 1),
    accumulated once and checked under both threshold options."""
    items = bfi[CHUNKED_ITEMS]
    tables = PairTables(items=tuple(items.columns), values=range(0, 8))
    rows = items.to_numpy()
    for start in range(0, len(rows), request.param):
        tables.update(rows[start : start + request.param])
    return tables


@pytest.mark.parametrize("global_thresholds", [True, False])
def test_tables_accumulated_in_chunks_give_exactly_the_polychoric_of_the_rows(
    bfi, tables_in_chunks, global_thresholds
):
    # bfi has missing answers; A/C/E items use 1..6, so the range 0..7 has unused categories.
    tables = tables_in_chunks
    from_tables = polychoric_from_tables(tables, global_thresholds=global_thresholds)
    from_rows = polychoric(bfi[CHUNKED_ITEMS], global_thresholds=global_thresholds)
    assert tables.n_rows == from_rows.n == from_tables.n == 2800
    assert np.array_equal(from_tables.correlation.to_numpy(), from_rows.correlation.to_numpy())
    assert from_tables.thresholds.equals(from_rows.thresholds)
    assert from_tables.corrected_pairs == from_rows.corrected_pairs


def test_tables_give_the_polychoric_without_importing_pandas():
    # healing-survey analyze --ordinal takes this path, and importing pandas costs it 0.15-0.2 s.
    code = (
        "import numpy as np\n"
        "from analysis.pair_tables import PairTables\n"
        "from analysis.polychoric import polychoric_from_tables\n"
        "answers = np.array([[1, 2, 1], [2, 2, 3], [3, 1, 2], [2, 3, 3], [1, 1, 1], [3, 3, 2]])\n"
        "tables = PairTables(items=('a', 'b', 'c'), values=(1, 2, 3))\n"
        "tables.update(answers.astype(float))\n"
        "result = polychoric_from_tables(tables)\n"
        "result.to_dict()\n"
        "assert result.matrix.shape == (3, 3), result.matrix\n"
    )
    assert libraries_imported(code) == []


def test_frames_are_the_arrays_labelled(bfi):
    result = polychoric(bfi[["A1", "A2", "C1"]])
    assert result.items == ("A1", "A2", "C1") and result.categories == (1, 2, 3, 4, 5, 6)
    expected = pd.DataFrame(result.matrix, index=list(result.items), columns=list(result.items))
    pd.testing.assert_frame_equal(result.correlation, expected)
    pd.testing.assert_frame_equal(
        result.thresholds,
        pd.DataFrame(
            result.tau, index=list(result.items), columns=["1|2", "2|3", "3|4", "4|5", "5|6"]
        ),
    )
    assert result.correlation is result.correlation  # built once
    assert result.to_dict()["correlation"] == result.matrix.tolist()


def test_pair_tables_equal_crosstabs(bfi):
    tables = PairTables(items=("A1", "N1"), values=range(1, 7))
    tables.update(bfi[["A1", "N1"]].to_numpy())
    expected = pd.crosstab(bfi["A1"], bfi["N1"]).to_numpy()
    assert np.array_equal(tables.table("A1", "N1"), expected)


@pytest.mark.parametrize(
    ("chunk", "message"),
    [
        (np.array([[1.0, 2.0], [7.0, 3.0]]), "'a' has the answer 7; expected one of 1, 2, 3"),
        (np.array([[1.5, 2.0], [1.0, 3.0]]), "'a' has the answer 1.5"),
        (np.array([[1.0, 2.0, 3.0]]), r"expected \(rows, 2\)"),
    ],
)
def test_pair_tables_refuse_answers_outside_the_values(chunk, message):
    tables = PairTables(items=("a", "b"), values=(1, 2, 3))
    with pytest.raises(ValueError, match=message):
        tables.update(chunk)


def test_tables_without_answers_or_with_a_constant_item_are_refused():
    tables = PairTables(items=("a", "b"), values=(1, 2, 3))
    with pytest.raises(ValueError, match="no answers"):
        polychoric_from_tables(tables)
    tables.update(np.array([[1.0, 2.0], [1.0, 3.0]]))
    with pytest.raises(ValueError, match=r"without variance: \['a'\]"):
        polychoric_from_tables(tables)


@pytest.mark.parametrize("true_rho", [-0.98, 0.35, 0.995])
def test_each_correlation_is_the_maximum_of_its_likelihood(true_rho):
    """Newton's answer has a higher likelihood than its neighbours 0.001 away, however strong
    the correlation or sparse the table (200 rows, so some cells are empty)."""
    rng = np.random.default_rng(int(1000 * (true_rho + 1)))
    latent = rng.multivariate_normal([0, 0], [[1, true_rho], [true_rho, 1]], size=200)
    answers = np.digitize(latent, [-1.2, -0.3, 0.4, 1.5]) + 1
    tables = PairTables(items=("x", "y"), values=range(1, 6))
    tables.update(answers.astype(float))
    found = polychoric_from_tables(tables, smooth=False).correlation.iloc[0, 1]
    table = tables.table("x", "y").astype(float)
    proportions = table / table.sum()
    cuts = [stats.norm.ppf(np.cumsum(proportions.sum(axis=k))[:-1]) for k in (1, 0)]
    edges = [np.concatenate([[-np.inf], c, [np.inf]]) for c in cuts]

    def bvn_cdf(h, k, rho):  # by quadrature, independent of the code under test
        if h == -np.inf or k == -np.inf:
            return 0.0
        if h == np.inf or k == np.inf:
            return float(stats.norm.cdf(min(h, k)))
        scale = np.sqrt(1 - rho**2)
        inner = lambda x: stats.norm.pdf(x) * stats.norm.cdf((k - rho * x) / scale)  # noqa: E731
        return integrate.quad(inner, -np.inf, h, epsabs=1e-13, epsrel=1e-12)[0]

    def log_likelihood(rho):
        grid = np.array([[bvn_cdf(h, k, rho) for k in edges[1]] for h in edges[0]])
        cells = grid[1:, 1:] - grid[:-1, 1:] - grid[1:, :-1] + grid[:-1, :-1]
        used = proportions > 0
        return float((proportions[used] * np.log(np.maximum(cells[used], 1e-300))).sum())

    at_found = log_likelihood(found)
    for neighbour in (found - 1e-3, found + 1e-3):  # the maximum lies within 1e-3 of found
        assert at_found > log_likelihood(min(max(neighbour, -0.9999), 0.9999))
    assert abs(found - true_rho) < 0.2
