"""Reverse scoring and scale scores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.scoring import reverse_score, scale_scores


@pytest.fixture
def answers() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "val_1": [5, 4, np.nan, 2],
            "val_2": [1, 2, np.nan, np.nan],
            "val_3": [4, np.nan, 3, np.nan],
            "tru_1": [3, 3, 3, 1],
            "tru_2": [5, 1, np.nan, 2],
        }
    )


def test_reverse_score_mirrors_the_range(answers):
    reversed_ = reverse_score(answers, ["val_2", "tru_1"], response_range=(1, 5))
    assert reversed_["val_2"].tolist()[:2] == [5.0, 4.0]
    assert reversed_["tru_1"].tolist() == [3.0, 3.0, 3.0, 5.0]
    assert np.isnan(reversed_.loc[2, "val_2"])
    assert answers.loc[0, "val_2"] == 1  # the input is not modified


def test_scale_scores_use_reverse_keys_and_the_minimum_answered(answers):
    spec = {"valuing": ["val_1", "-val_2", "val_3"], "trust": ["tru_1", "tru_2"]}
    scores = scale_scores(answers, spec, response_range=(1, 5))
    # valuing needs ceil(0.5 * 3) = 2 answers; row 2 and row 3 have one each
    np.testing.assert_allclose(scores["valuing"], [(5 + 5 + 4) / 3, 4.0, np.nan, np.nan])
    np.testing.assert_allclose(scores["trust"], [4.0, 2.0, 3.0, 1.5])


def test_min_answered_as_a_count_and_as_all_items(answers):
    spec = {"valuing": ["val_1", "val_2", "val_3"]}
    one = scale_scores(answers, spec, min_answered=1)
    np.testing.assert_allclose(one["valuing"], [10 / 3, 3.0, 3.0, 2.0])
    every = scale_scores(answers, spec, min_answered=1.0)
    assert every["valuing"].notna().tolist() == [True, False, False, False]
    capped = scale_scores(answers, spec, min_answered=10)
    assert capped["valuing"].notna().tolist() == [True, False, False, False]


def test_reverse_keyed_argument_and_spec_object(answers):
    class Item:
        def __init__(self, item_id, reverse_keyed=False):
            self.id, self.reverse_keyed = item_id, reverse_keyed

    class Spec:
        range = (1, 5)
        scales = {"trust": (Item("tru_1"), Item("tru_2", reverse_keyed=True))}

    from_object = scale_scores(answers, Spec())
    from_mapping = scale_scores(
        answers, {"trust": ["tru_1", "tru_2"]}, reverse_keyed={"tru_2"}, response_range=(1, 5)
    )
    pd.testing.assert_frame_equal(from_object, from_mapping)
    np.testing.assert_allclose(from_object["trust"], [2.0, 4.0, 3.0, 2.5])


@pytest.mark.parametrize(
    ("spec", "kwargs", "message"),
    [
        ({"valuing": ["val_1", "-val_2"]}, {}, "response_range"),
        ({"valuing": ["val_1", "val_9"]}, {}, "val_9"),
        ({"valuing": ["val_1"]}, {"min_answered": 0}, "min_answered"),
        ({"valuing": ["val_1"]}, {"min_answered": 1.5}, "min_answered"),
        ({"valuing": ["val_1"]}, {"min_answered": True}, "min_answered"),
        ({}, {}, "non-empty"),
        ({"valuing": []}, {}, "no items"),
    ],
)
def test_bad_specifications_are_rejected(answers, spec, kwargs, message):
    with pytest.raises(ValueError, match=message):
        scale_scores(answers, spec, **kwargs)


def test_reverse_score_rejects_unknown_items(answers):
    with pytest.raises(ValueError, match="nope"):
        reverse_score(answers, ["nope"], response_range=(1, 5))


def test_columns_outside_the_spec_may_be_non_numeric(answers):
    with_ids = answers.assign(dyad=["d1", "d2", "d3", "d4"])
    scores = scale_scores(with_ids, {"trust": ["tru_1", "tru_2"]})
    np.testing.assert_allclose(scores["trust"], [4.0, 2.0, 3.0, 1.5])
