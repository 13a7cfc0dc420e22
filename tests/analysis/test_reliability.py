"""Alpha, item-deleted statistics and omega against R psych 2.2.9.

Expected numbers come from tests/analysis/reference/reference_a.R on the public bfi data
(psychTools; 2800 respondents, 25 items, with missing answers) in data/a_bfi.csv. In R the
reverse-keyed items were recoded as ``keyed[reverse] <- 7 - keyed[reverse]``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.reliability import (
    cronbach_alpha,
    item_reliability,
    omega,
    omega_total,
    scale_reliability,
)

from .fresh_interpreter import libraries_imported

DATA = Path(__file__).parent / "data"
REVERSED = ["A1", "C4", "C5", "E1", "E2", "O2", "O5"]
SCALES = {
    "agree": ["-A1", "A2", "A3", "A4", "A5"],
    "conscientious": ["C1", "C2", "C3", "-C4", "-C5"],
    "extraversion": ["-E1", "-E2", "E3", "E4", "E5"],
    "neuroticism": ["N1", "N2", "N3", "N4", "N5"],
    "openness": ["O1", "-O2", "O3", "O4", "-O5"],
}

# psych::alpha(keyed[, items], check.keys=FALSE): $total raw_alpha, std.alpha, average_r;
# $feldt lower.ci, upper.ci; $item.stats r.drop; $alpha.drop raw_alpha, std.alpha;
# and psych::omega(keyed[, items], nfactors=1)$omega.tot
R_ALPHA = {
    "agree": dict(
        alpha=0.7030184461,
        std_alpha=0.7130285787,
        average_r=0.3319676571,
        feldt=(0.6852643259, 0.7200633899),
        r_drop=[0.3084177395, 0.5636151638, 0.5870045895, 0.3944440866, 0.4885651358],
        alpha_drop=[0.7185173570, 0.6171800370, 0.6002595788, 0.6858056523, 0.6429529601],
        std_drop=[0.7255091486, 0.6255798818, 0.6129446570, 0.6935413428, 0.6555301885],
        mean=[4.586566092, 4.802380094, 4.603821197, 4.699748292, 4.560344828],
        sd=[1.407737151, 1.172019922, 1.301833639, 1.479632686, 1.258512098],
        omega_total=0.7229431365,
    ),
    "conscientious": dict(
        alpha=0.7267349729,
        std_alpha=0.7300725844,
        average_r=0.3510454356,
        feldt=(0.7103986717, 0.7424187317),
        r_drop=[0.4502416902, 0.5045647089, 0.4642048500, 0.5525466503, 0.4774691993],
        alpha_drop=[0.6940004192, 0.6735714574, 0.6887341018, 0.6538255710, 0.6897249308],
        std_drop=[0.6964218998, 0.6748685574, 0.6939586748, 0.6629030220, 0.6902020449],
        mean=[4.502338971, 4.369956772, 4.303956835, 4.446647441, 3.703304598],
        sd=[1.241346548, 1.318346548, 1.288551811, 1.375118107, 1.628541868],
        omega_total=0.7311897199,
    ),
    "extraversion": dict(
        alpha=0.7617328203,
        std_alpha=0.7617950941,
        average_r=0.3901000814,
        feldt=(0.7474887567, 0.7754079144),
        r_drop=[0.5162729169, 0.6053688372, 0.5045725487, 0.5779939658, 0.4542445985],
        alpha_drop=[0.7256547185, 0.6901803753, 0.7279141887, 0.7018884966, 0.7436327323],
        std_drop=[0.7254473482, 0.6930860359, 0.7262478023, 0.7032346062, 0.7442028639],
        mean=[4.025567159, 3.858117816, 4.000720721, 4.422429237, 4.416336812],
        sd=[1.631505459, 1.605210316, 1.352718771, 1.457517398, 1.334767719],
        omega_total=0.7640499276,
    ),
    "neuroticism": dict(
        alpha=0.8139629499,
        std_alpha=0.8146746742,
        average_r=0.4678539393,
        feldt=(0.8028413025, 0.8246403507),
        r_drop=[0.6672057085, 0.6526162493, 0.6748167104, 0.5428001298, 0.4864824061],
        alpha_drop=[0.7581379139, 0.7632326519, 0.7553428060, 0.7953499088, 0.8126021783],
        std_drop=[0.7583429664, 0.7633956994, 0.7567103186, 0.7968948207, 0.8128354601],
        mean=[2.929085673, 3.507736596, 3.216565077, 3.185600579, 2.969686034],
        sd=[1.570917482, 1.525943590, 1.602902082, 1.569685094, 1.618647386],
        omega_total=0.8189663783,
    ),
    "openness": dict(
        alpha=0.6001725148,
        std_alpha=0.6072684310,
        average_r=0.2362060852,
        feldt=(0.5762700700, 0.6231201927),
        r_drop=[0.3906794299, 0.3321195449, 0.4505342383, 0.2179426905, 0.4162105060],
        alpha_drop=[0.5315935125, 0.5672275082, 0.4973613504, 0.6114810565, 0.5116575901],
        std_drop=[0.5340608351, 0.5701067617, 0.5005554478, 0.6208252084, 0.5279602948],
        mean=[4.816054716, 4.286785714, 4.438311688, 4.892318737, 4.510431655],
        sd=[1.129530283, 1.565151838, 1.220901114, 1.221250444, 1.327959022],
        omega_total=0.6167837919,
    ),
}

# psych::omega(bfi, nfactors=k, plot=FALSE): omega_h, omega.tot, ECV (unkeyed items; omega
# flips items with negative general loadings itself). The full schmid$sl matrices are in
# data/a_ref_omega_bfi_{3,5}_sl.csv.
R_OMEGA = {
    3: (0.4362486509, 0.8548109661, 0.2850541744),
    5: (0.4617096034, 0.8748095110, 0.2428707823),
}
R_OMEGA_KEYED_2 = (0.3014701548, 0.8418725309, 0.2429630670)  # omega(keyed, nfactors=2)


@pytest.fixture(scope="module")
def bfi() -> pd.DataFrame:
    return pd.read_csv(DATA / "a_bfi.csv")


@pytest.fixture(scope="module")
def keyed(bfi) -> pd.DataFrame:
    recoded = bfi.copy()
    recoded[REVERSED] = 7 - recoded[REVERSED]
    return recoded


def items_of(scale: str) -> list[str]:
    return [item.lstrip("-") for item in SCALES[scale]]


@pytest.mark.parametrize("scale", list(SCALES))
def test_alpha_matches_psych_with_pairwise_missing(keyed, scale):
    expected = R_ALPHA[scale]
    result = cronbach_alpha(keyed[items_of(scale)])
    assert result.alpha == pytest.approx(expected["alpha"], abs=1e-8)
    assert result.std_alpha == pytest.approx(expected["std_alpha"], abs=1e-8)
    assert result.average_r == pytest.approx(expected["average_r"], abs=1e-8)
    assert result.ci == pytest.approx(expected["feldt"], abs=1e-8)
    assert (result.n, result.n_items, result.ci_method) == (2800, 5, "feldt")


@pytest.mark.parametrize("scale", list(SCALES))
def test_item_reliability_matches_psych(keyed, scale):
    expected = R_ALPHA[scale]
    table = item_reliability(keyed[items_of(scale)]).table
    np.testing.assert_allclose(table["r_drop"], expected["r_drop"], atol=1e-8)
    np.testing.assert_allclose(table["alpha_if_deleted"], expected["alpha_drop"], atol=1e-8)
    np.testing.assert_allclose(table["std_alpha_if_deleted"], expected["std_drop"], atol=1e-8)
    np.testing.assert_allclose(table["mean"], expected["mean"], atol=1e-8)
    np.testing.assert_allclose(table["sd"], expected["sd"], atol=1e-8)


@pytest.mark.parametrize("scale", list(SCALES))
def test_omega_total_of_one_scale_matches_psych(keyed, scale):
    assert omega_total(keyed[items_of(scale)]) == pytest.approx(
        R_ALPHA[scale]["omega_total"], abs=1e-6
    )


def test_listwise_alpha_matches_psych_on_complete_rows(keyed):
    # psych::alpha(na.omit(keyed[, A1..A5])): n 2709, raw_alpha, std.alpha, feldt bounds
    result = cronbach_alpha(keyed[items_of("agree")], missing="listwise")
    assert result.n == 2709
    assert result.alpha == pytest.approx(0.7037558944, abs=1e-8)
    assert result.std_alpha == pytest.approx(0.7135015526, abs=1e-8)
    assert result.ci == pytest.approx((0.6857446350, 0.7210359628), abs=1e-8)


def test_feldt_interval_at_other_level_matches_alpha_ci():
    # psych::alpha.ci(0.8, 100, 10, p.val=0.1): lower.ci 0.7474518961, upper.ci 0.8460334624
    from analysis.reliability import _feldt

    assert _feldt(0.8, 100, 10, 0.9) == pytest.approx((0.7474518961, 0.8460334624), abs=1e-9)


@pytest.mark.parametrize("n_factors", [3, 5])
def test_omega_matches_psych_schmid_leiman(bfi, n_factors):
    result = omega(bfi, n_factors=n_factors)
    omega_h, omega_tot, ecv = R_OMEGA[n_factors]
    assert result.omega_hierarchical == pytest.approx(omega_h, abs=1e-5)
    assert result.omega_total == pytest.approx(omega_tot, abs=1e-5)
    assert result.explained_common_variance == pytest.approx(ecv, abs=1e-5)
    sl = pd.read_csv(DATA / f"a_ref_omega_bfi_{n_factors}_sl.csv", index_col=0)
    np.testing.assert_allclose(result.general_loadings, sl["g"], atol=1e-4)
    np.testing.assert_allclose(result.group_loadings, sl.iloc[:, 1 : n_factors + 1], atol=1e-4)
    np.testing.assert_allclose(result.communalities, sl["h2"], atol=1e-4)
    # psych marks the items it flipped with a trailing "-" in the row names
    flipped = tuple(name.rstrip("-") for name in sl.index if name.endswith("-"))
    assert result.reversed_items == flipped


def test_omega_with_two_group_factors_matches_psych(keyed):
    result = omega(keyed, n_factors=2)
    assert (
        result.omega_hierarchical,
        result.omega_total,
        result.explained_common_variance,
    ) == pytest.approx(R_OMEGA_KEYED_2, abs=1e-5)


def test_scale_reliability_reverses_items_and_gives_the_analyze_keys(bfi):
    result = scale_reliability(bfi, SCALES, response_range=(1, 6)).to_dict()
    assert list(result) == list(SCALES)
    agree = result["agree"]
    assert sorted(agree) == ["alpha", "alpha_ci", "items", "n_items", "omega_total", "std_alpha"]
    assert agree["n_items"] == 5
    assert agree["alpha"] == pytest.approx(R_ALPHA["agree"]["alpha"], abs=1e-8)
    assert agree["alpha_ci"] == pytest.approx(list(R_ALPHA["agree"]["feldt"]), abs=1e-8)
    assert agree["omega_total"] == pytest.approx(R_ALPHA["agree"]["omega_total"], abs=1e-6)
    assert list(agree["items"]) == items_of("agree")
    assert sorted(agree["items"]["A1"]) == ["alpha_if_deleted", "mean", "r_drop", "sd"]
    assert agree["items"]["A1"]["mean"] == pytest.approx(4.586566092, abs=1e-8)  # reversed A1
    assert agree["items"]["A1"]["r_drop"] == pytest.approx(0.3084177395, abs=1e-8)


def test_scale_reliability_accepts_a_scale_spec_object(bfi):
    class Item:
        def __init__(self, item_id, reverse_keyed=False):
            self.id, self.reverse_keyed = item_id, reverse_keyed

    class Spec:
        range = (1, 6)
        scales = {
            "openness": tuple(Item(i.lstrip("-"), i.startswith("-")) for i in SCALES["openness"])
        }

    result = scale_reliability(bfi, Spec()).scales["openness"]
    assert result.alpha == pytest.approx(R_ALPHA["openness"]["alpha"], abs=1e-8)


def test_scale_reliability_needs_a_range_for_reverse_keyed_items(bfi):
    with pytest.raises(ValueError, match="response_range"):
        scale_reliability(bfi, {"agree": SCALES["agree"]})


def test_small_scales_give_nan_where_undefined(keyed):
    result = scale_reliability(keyed, {"pair": ["A2", "A3"], "single": ["A4"]}).to_dict()
    assert result["pair"]["omega_total"] is None
    assert result["pair"]["items"]["A2"]["alpha_if_deleted"] is None
    assert result["pair"]["alpha"] == pytest.approx(
        cronbach_alpha(keyed[["A2", "A3"]]).alpha, abs=1e-12
    )
    assert result["single"]["alpha"] is None
    assert result["single"]["items"]["A4"]["mean"] == pytest.approx(4.699748292, abs=1e-8)


def test_bootstrap_interval_is_seeded_and_brackets_alpha(keyed):
    items = keyed[items_of("agree")].iloc[:400]
    first = cronbach_alpha(items, ci_method="bootstrap", n_boot=200, seed=7)
    second = cronbach_alpha(items, ci_method="bootstrap", n_boot=200, seed=7)
    assert first.ci == second.ci
    assert first.ci[0] < first.alpha < first.ci[1]
    feldt = cronbach_alpha(items)
    assert first.ci == pytest.approx(feldt.ci, abs=0.05)


def test_alpha_of_complete_data_equals_textbook_formula():
    rng = np.random.default_rng(11)
    x = rng.normal(size=(200, 1)) + rng.normal(size=(200, 4))
    k = x.shape[1]
    cov = np.cov(x, rowvar=False)
    expected = k / (k - 1) * (1 - np.trace(cov) / cov.sum())
    assert cronbach_alpha(x).alpha == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"missing": "everything"}, "missing"),
        ({"ci": 1.5}, "ci"),
        ({"ci_method": "exact"}, "ci_method"),
        ({"ci_method": "bootstrap", "n_boot": 3}, "n_boot"),
    ],
)
def test_alpha_rejects_bad_options(keyed, kwargs, message):
    with pytest.raises(ValueError, match=message):
        cronbach_alpha(keyed[items_of("agree")], **kwargs)


def test_constant_item_is_named_in_the_error():
    x = pd.DataFrame({"a": [1, 2, 3, 4], "b": [2, 2, 2, 2], "c": [1, 3, 2, 4]})
    with pytest.raises(ValueError, match="'b'"):
        cronbach_alpha(x)


def test_omega_rejects_unimplemented_options(bfi):
    with pytest.raises(ValueError, match="fm"):
        omega(bfi, fm="ml")
    with pytest.raises(ValueError, match="rotation"):
        omega(bfi, rotation="promax")
    with pytest.raises(ValueError, match="n_factors"):
        omega(bfi.iloc[:, :3], n_factors=3)


def test_omega_frames_show_the_arrays(keyed):
    result = omega(keyed, n_factors=3)
    items = list(keyed.columns)
    assert result.items == tuple(items)
    general = pd.Series(result.general_loading_vector, index=items, name="g")
    pd.testing.assert_series_equal(result.general_loadings, general)
    group = pd.DataFrame(result.group_loading_matrix, index=items, columns=["F1*", "F2*", "F3*"])
    pd.testing.assert_frame_equal(result.group_loadings, group)
    communalities = pd.Series(result.communality_vector, index=items, name="h2")
    pd.testing.assert_series_equal(result.communalities, communalities)
    assert result.to_dict()["group_loadings"]["A1"] == group.loc["A1"].tolist()


def test_item_reliability_table_shows_the_arrays(keyed):
    result = item_reliability(keyed[items_of("agree")])
    assert result.items == tuple(items_of("agree"))
    columns = ["r_drop", "alpha_if_deleted", "std_alpha_if_deleted", "mean", "sd"]
    arrays = [getattr(result, column) for column in columns]
    expected = pd.DataFrame(dict(zip(columns, arrays, strict=True)), index=items_of("agree"))
    pd.testing.assert_frame_equal(result.table, expected)


def test_reliability_and_omega_from_moments_never_import_pandas():
    code = (
        "import numpy as np\n"
        "from items import ScaleSpec\n"
        "from analysis.moments import PairwiseMoments\n"
        "from analysis.reliability import omega_from_correlation, scale_reliability_from_moments\n"
        "rng = np.random.default_rng(4)\n"
        "traits = np.repeat(rng.normal(size=(200, 2)), 3, axis=1)\n"
        "x = np.clip(np.round(3 + traits + rng.normal(size=(200, 6))), 1, 5)\n"
        "x[:, 2] = 6 - x[:, 2]\n"
        "items = ('a1', 'a2', 'a3', 'b1', 'b2', 'b3')\n"
        "moments = PairwiseMoments(items=items)\n"
        "moments.update(x)\n"
        "mapping = {'a': ['a1', 'a2', '-a3'], 'b': ['b1', 'b2', 'b3']}\n"
        "scale_reliability_from_moments(moments, mapping, response_range=(1, 5)).to_dict()\n"
        "spec = ScaleSpec.from_mapping({'range': [1, 5], 'scales': mapping})\n"
        "scale_reliability_from_moments(moments, spec).to_dict()\n"
        "omega_from_correlation(moments.correlation(), items=items, n=200, n_factors=2).to_dict()\n"
    )
    assert libraries_imported(code) == []
