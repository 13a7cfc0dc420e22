"""Chunked pairwise moments give the same statistics as the whole data at once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.moments import PairwiseMoments
from analysis.reliability import scale_reliability, scale_reliability_from_moments

DATA = Path(__file__).parent / "data"
SCALES = {
    "agree": ["-A1", "A2", "A3", "A4", "A5"],
    "conscientious": ["C1", "C2", "C3", "-C4", "-C5"],
    "extraversion": ["-E1", "-E2", "E3", "E4", "E5"],
    "neuroticism": ["N1", "N2", "N3", "N4", "N5"],
    "openness": ["O1", "-O2", "O3", "O4", "-O5"],
}


@pytest.fixture(scope="module")
def bfi() -> pd.DataFrame:
    return pd.read_csv(DATA / "a_bfi.csv")


def accumulate(frame: pd.DataFrame, chunk: int, **options) -> PairwiseMoments:
    moments = PairwiseMoments(items=tuple(frame.columns), **options)
    values = frame.to_numpy(dtype=float)
    for start in range(0, len(values), chunk):
        moments.update(values[start : start + chunk])
    return moments


@pytest.mark.parametrize("chunk", [1, 97, 5000])
def test_pairwise_moments_equal_pandas_pairwise_statistics(bfi, chunk):
    moments = accumulate(bfi.iloc[:600] if chunk == 1 else bfi, chunk, values=range(1, 7))
    frame = bfi.iloc[:600] if chunk == 1 else bfi
    # pandas' cov/corr are pairwise complete with pair-specific means, as R's use="pairwise".
    np.testing.assert_allclose(moments.covariance(), frame.cov().to_numpy(), atol=1e-10)
    np.testing.assert_allclose(moments.correlation(), frame.corr().to_numpy(), atol=1e-10)
    np.testing.assert_allclose(moments.means(), frame.mean().to_numpy(), atol=1e-12)
    np.testing.assert_array_equal(moments.n_items, frame.notna().sum().to_numpy())
    assert moments.n_rows == len(frame)
    counts = np.stack([(frame == v).sum().to_numpy() for v in range(1, 7)], axis=1)
    np.testing.assert_array_equal(moments.counts, counts)


def test_rows_answering_counts_rows_with_any_answer_per_group(bfi):
    groups = {"agree": ("A1", "A2", "A3", "A4", "A5"), "one": ("O1",)}
    moments = accumulate(bfi, 250, groups=groups)
    assert moments.rows_answering["agree"] == int(
        bfi[list(groups["agree"])].notna().any(axis=1).sum()
    )
    assert moments.rows_answering["one"] == int(bfi["O1"].notna().sum())


def test_reliability_from_moments_equals_reliability_from_rows(bfi):
    groups = {name: tuple(i.lstrip("-") for i in members) for name, members in SCALES.items()}
    moments = accumulate(bfi, 313, groups=groups)
    from_rows = scale_reliability(bfi, SCALES, response_range=(1, 6)).to_dict()
    from_moments = scale_reliability_from_moments(moments, SCALES, response_range=(1, 6)).to_dict()
    assert from_moments.keys() == from_rows.keys()
    for name, expected in from_rows.items():
        got = from_moments[name]
        for key in ("alpha", "std_alpha", "omega_total"):
            assert got[key] == pytest.approx(expected[key], abs=1e-10), (name, key)
        assert got["alpha_ci"] == pytest.approx(expected["alpha_ci"], abs=1e-10)
        for item, stats in expected["items"].items():
            assert got["items"][item] == pytest.approx(stats, abs=1e-10), (name, item)


def test_moments_refuse_a_chunk_of_the_wrong_width():
    moments = PairwiseMoments(items=("a", "b"))
    with pytest.raises(ValueError, match=r"expected \(rows, 2\)"):
        moments.update(np.ones((3, 3)))
    with pytest.raises(ValueError, match="not among the items"):
        PairwiseMoments(items=("a",), groups={"s": ("a", "zz")})


def test_reliability_from_moments_names_missing_items_and_constant_items(bfi):
    moments = accumulate(bfi[["A1", "A2", "A3"]], 1000)
    with pytest.raises(ValueError, match=r"not in the data: \['A9'\]"):
        scale_reliability_from_moments(moments, {"s": ["A1", "A9"]})
    constant = PairwiseMoments(items=("x", "y"))
    constant.update(np.array([[1.0, 2.0], [1.0, 3.0], [1.0, 4.0]]))
    with pytest.raises(ValueError, match=r"without variance.*\['x'\]"):
        scale_reliability_from_moments(constant, {"s": ["x", "y"]})


def test_item_statistics_from_moments_equal_item_statistics(bfi):
    from analysis.itemstats import item_statistics, item_statistics_from_moments

    moments = accumulate(bfi, 700, values=range(1, 7))
    expected = item_statistics(bfi, response_range=(1, 6)).to_dict()
    got = item_statistics_from_moments(moments, response_range=(1, 6)).to_dict()
    assert got["n_respondents"] == expected["n_respondents"] == len(bfi)
    for item, stats in expected["items"].items():
        assert got["items"][item].pop("distribution") == stats.pop("distribution")
        assert got["items"][item] == pytest.approx(stats, abs=1e-10), item
    with pytest.raises(ValueError, match="counted the values"):
        item_statistics_from_moments(moments, response_range=(1, 5))
