"""Item statistics against R on the public bfi data (tests/analysis/reference/reference_a.R)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.itemstats import item_statistics

from .fresh_interpreter import libraries_imported

DATA = Path(__file__).parent / "data"
AGREE = ["A1", "A2", "A3", "A4", "A5"]


@pytest.fixture(scope="module")
def agree() -> pd.DataFrame:
    return pd.read_csv(DATA / "a_bfi.csv")[AGREE]


def test_counts_means_and_sds_match_r(agree):
    table = item_statistics(agree, response_range=(1, 6)).table
    # colSums(!is.na(a5)); colMeans(a5, na.rm=TRUE); apply(a5, 2, sd, na.rm=TRUE)
    assert table["n"].tolist() == [2784, 2773, 2774, 2781, 2784]
    np.testing.assert_allclose(
        table["mean"], [2.413433908, 4.802380094, 4.603821197, 4.699748292, 4.560344828], atol=1e-8
    )
    np.testing.assert_allclose(
        table["sd"], [1.407737151, 1.172019922, 1.301833639, 1.479632686, 1.258512098], atol=1e-8
    )
    np.testing.assert_allclose(table["missing_pct"], 100 * (1 - table["n"] / 2800))


def test_floor_and_ceiling_match_r(agree):
    table = item_statistics(agree, response_range=(1, 6)).table
    # 100 * colMeans(a5 == 1, na.rm=TRUE) and 100 * colMeans(a5 == 6, na.rm=TRUE)
    np.testing.assert_allclose(
        table["floor_pct"],
        [33.11781609, 1.694915254, 3.244412401, 4.638619202, 2.119252874],
        atol=1e-7,
    )
    np.testing.assert_allclose(
        table["ceiling_pct"],
        [2.945402299, 31.48214930, 27.21701514, 41.24415678, 24.96408046],
        atol=1e-7,
    )


def test_distribution_matches_r_table(agree):
    stats = item_statistics(agree, response_range=(1, 6))
    # table(factor(a5$A1, levels=1:6))
    assert stats.distribution.loc["A1"].tolist() == [922, 818, 402, 337, 223, 82]
    record = stats.to_dict()["items"]["A1"]
    assert record["distribution"] == {"1": 922, "2": 818, "3": 402, "4": 337, "5": 223, "6": 82}
    assert record["n"] == 2784


def test_unused_values_of_the_range_are_counted_as_zero():
    stats = item_statistics(np.array([[2, 3], [3, 3], [2, 4]]), response_range=(1, 5))
    assert list(stats.distribution.columns) == [1, 2, 3, 4, 5]
    assert stats.distribution.loc["item_1"].tolist() == [0, 2, 1, 0, 0]
    assert stats.table.loc["item_1", "floor_pct"] == 0.0


def test_observed_extremes_are_used_without_a_range():
    stats = item_statistics(np.array([[2, 3], [3, 3], [2, 4]]))
    assert stats.response_range == (2.0, 4.0)
    assert stats.table.loc["item_1", "floor_pct"] == pytest.approx(200 / 3)
    assert stats.table.loc["item_2", "ceiling_pct"] == pytest.approx(100 / 3)


def test_an_unanswered_item_has_nan_statistics_and_json_nulls():
    data = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [np.nan] * 3})
    stats = item_statistics(data, response_range=(1, 3))
    assert stats.table.loc["b", "n"] == 0 and np.isnan(stats.table.loc["b", "mean"])
    assert stats.to_dict()["items"]["b"]["mean"] is None
    assert stats.table.loc["b", "missing_pct"] == 100.0


@pytest.mark.parametrize(
    ("data", "kwargs", "message"),
    [
        (np.zeros(3), {}, "2-D"),
        (pd.DataFrame({"a": ["x", "y"]}), {}, "numeric"),
        (np.ones((2, 2)), {"response_range": (5, 1)}, "min < max"),
    ],
)
def test_bad_input_is_rejected(data, kwargs, message):
    with pytest.raises(ValueError, match=message):
        item_statistics(data, **kwargs)


def test_importing_the_package_does_not_load_pandas_or_scipy():
    assert libraries_imported("import analysis", watched=("pandas", "scipy")) == []


def test_the_frames_show_the_arrays(agree):
    stats = item_statistics(agree, response_range=(1, 6))
    assert stats.items == tuple(AGREE)
    columns = ["n", "mean", "sd", "missing_pct", "floor_pct", "ceiling_pct"]
    arrays = [stats.n_answered, stats.mean, stats.sd, stats.missing_pct]
    arrays += [stats.floor_pct, stats.ceiling_pct]
    expected = pd.DataFrame(dict(zip(columns, arrays, strict=True)), index=AGREE, dtype=float)
    pd.testing.assert_frame_equal(stats.table, expected)
    assert stats.response_values.tolist() == [1, 2, 3, 4, 5, 6]
    expected = pd.DataFrame(stats.value_counts, index=AGREE, columns=stats.response_values)
    pd.testing.assert_frame_equal(stats.distribution, expected)
    assert stats.table is stats.table


def test_select_takes_the_items_asked_for_in_their_order(agree):
    stats = item_statistics(agree, response_range=(1, 6))
    picked = stats.select(["A3", "A1"])
    # what the moments workup took with .loc before select() existed
    pd.testing.assert_frame_equal(picked.table, stats.table.loc[["A3", "A1"]])
    pd.testing.assert_frame_equal(picked.distribution, stats.distribution.loc[["A3", "A1"]])
    alone = item_statistics(agree[["A3", "A1"]], response_range=(1, 6))
    assert picked.to_dict() == alone.to_dict()


def test_select_names_the_items_it_does_not_have(agree):
    stats = item_statistics(agree, response_range=(1, 6))
    with pytest.raises(ValueError, match=r"\['Z9'\]"):
        stats.select(["A1", "Z9"])


def test_item_statistics_from_moments_never_import_pandas():
    code = (
        "import numpy as np\n"
        "from analysis.itemstats import item_statistics_from_moments\n"
        "from analysis.moments import PairwiseMoments\n"
        "moments = PairwiseMoments(items=('a', 'b', 'c'), values=range(1, 6))\n"
        "moments.update(np.array([[1, 2, 5], [3, np.nan, 4], [3, 5, 1]]))\n"
        "stats = item_statistics_from_moments(moments, response_range=(1, 5))\n"
        "stats.select(['c', 'a']).to_dict()\n"
    )
    assert libraries_imported(code) == []
