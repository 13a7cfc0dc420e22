"""Means with t-based confidence intervals, against R (tests/analysis/reference/summaries.R)."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.summaries import describe, describe_by, paired_difference

X = [4, 3.5, 5, 4.5, 3, 2.5, 4, 5, 1.5, 4]
GROUPS = ["a", "a", "a", "b", "b", "b", "b", "c", "c", "c"]


def test_describe_matches_t_test():
    result = describe(X)
    assert result.n == 10
    assert result.mean == pytest.approx(3.7, abs=1e-12)  # mean(x)
    assert result.sd == pytest.approx(1.11055541659718, abs=1e-12)  # sd(x)
    assert result.median == 4.0  # median(x)
    # t.test(x)$conf.int
    assert [result.lower, result.upper] == pytest.approx(
        [2.90555651327408, 4.49444348672592], abs=1e-12
    )
    # t.test(x, conf.level = 0.90)$conf.int
    ninety = describe(X, level=0.90)
    assert [ninety.lower, ninety.upper] == pytest.approx(
        [3.05623189505525, 4.34376810494475], abs=1e-12
    )


def test_describe_by_matches_t_test_per_group():
    table = describe_by(X, GROUPS)
    assert table.index.tolist() == ["a", "b", "c"]
    assert table["n"].tolist() == [3, 4, 3]
    # mean(y) and t.test(y)$conf.int for y <- x[g == level]
    expected = {
        "a": (4.16666666666667, 2.26937514986829, 6.06395818346505),
        "b": (3.5, 2.04741864212262, 4.95258135787738),
        "c": (3.5, -0.978342947514799, 7.9783429475148),
    }
    for group, (mean, lower, upper) in expected.items():
        row = table.loc[group]
        assert [row["mean"], row["lower"], row["upper"]] == pytest.approx(
            [mean, lower, upper], abs=1e-12
        )


def test_paired_difference_matches_paired_t_test():
    a = [4, 3.5, 5, 4.5, 3, np.nan]
    b = [3.5, 3.5, 4, 4, 3.5, 4]
    result = paired_difference(a, b)
    assert result.n == 5
    assert result.mean == pytest.approx(0.3, abs=1e-12)
    # t.test(a, b, paired = TRUE)$conf.int (R drops the incomplete pair)
    assert [result.lower, result.upper] == pytest.approx(
        [-0.407857388491136, 1.00785738849114], abs=1e-12
    )


def test_missing_values_and_tiny_groups():
    result = describe([np.nan, 2.0])
    assert result.n == 1 and result.mean == 2.0 and np.isnan(result.lower)
    empty = describe([])
    assert empty.n == 0 and empty.to_dict()["mean"] is None
    table = describe_by([1.0, np.nan, 3.0], ["a", "b", None])
    assert table.index.tolist() == ["a"]


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="level must be strictly between 0 and 1, got 95"):
        describe(X, level=95)
    with pytest.raises(ValueError, match="same length"):
        describe_by(X, GROUPS[:-1])
    with pytest.raises(ValueError, match="1-D"):
        describe([[1, 2], [3, 4]])
    with pytest.raises(ValueError, match="equal length"):
        paired_difference([1, 2], [1, 2, 3])
