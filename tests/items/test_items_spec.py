"""Scale specifications: parsing, reverse keys, round trips and the errors users can cause."""

from __future__ import annotations

import pytest
import yaml

from items import ScaleItem, ScaleSpec, ScaleSpecError, load_scale_spec

DESIGN_EXAMPLE = """\
range: [1, 5]
scales:
  valuing: [val_1, val_2, -val_3, val_4]
  trust: [tru_1, -tru_2, tru_3]
"""


@pytest.fixture
def spec_file(tmp_path):
    path = tmp_path / "scales.yaml"
    path.write_text(DESIGN_EXAMPLE, encoding="utf-8")
    return path


def test_the_design_example_parses(spec_file):
    spec = load_scale_spec(spec_file)
    assert spec.range == (1, 5)
    assert list(spec.scales) == ["valuing", "trust"]
    assert spec.scales["trust"] == (
        ScaleItem("tru_1", reverse_keyed=False),
        ScaleItem("tru_2", reverse_keyed=True),
        ScaleItem("tru_3", reverse_keyed=False),
    )
    assert spec.item_ids == ("val_1", "val_2", "val_3", "val_4", "tru_1", "tru_2", "tru_3")
    assert spec.reverse_keyed_ids() == frozenset({"val_3", "tru_2"})


def test_load_scale_spec_is_from_yaml(spec_file):
    assert load_scale_spec(spec_file) == ScaleSpec.from_yaml(str(spec_file))


def test_to_dict_round_trips_through_yaml(spec_file):
    spec = load_scale_spec(spec_file)
    data = spec.to_dict()
    assert data == yaml.safe_load(DESIGN_EXAMPLE)
    assert ScaleSpec.from_mapping(yaml.safe_load(yaml.safe_dump(data))) == spec


def test_names_are_stripped_and_reverse_marks_may_be_spaced():
    spec = ScaleSpec.from_mapping({"range": (0, 4), "scales": {"hope": [" h1 ", "- h2", " -h3"]}})
    assert spec.scales["hope"] == (ScaleItem("h1"), ScaleItem("h2", True), ScaleItem("h3", True))
    assert spec.to_dict()["scales"] == {"hope": ["h1", "-h2", "-h3"]}


def test_scale_order_is_kept():
    names = ["z", "a", "m"]
    spec = ScaleSpec.from_mapping(
        {"range": [1, 5], "scales": {name: [f"{name}1"] for name in names}}
    )
    assert list(spec.scales) == names
    assert list(spec.to_dict()["scales"]) == names


def test_scales_cannot_be_changed():
    spec = ScaleSpec.from_mapping({"range": [1, 5], "scales": {"hope": ["h1"]}})
    with pytest.raises(TypeError):
        spec.scales["trust"] = ()


ERRORS = {
    "not-a-mapping": (["range", "scales"], "expected a mapping with 'range' and 'scales'"),
    "unknown-key": (
        {"range": [1, 5], "scales": {"a": ["x"]}, "reverse": ["x"]},
        "unknown key(s) 'reverse'",
    ),
    "missing-range": (
        {"scales": {"a": ["x"]}},
        "'range' must be two integers [min, max], got None",
    ),
    "one-bound": ({"range": [1], "scales": {"a": ["x"]}}, "'range' must be two integers"),
    "float-bound": ({"range": [1, 5.5], "scales": {"a": ["x"]}}, "got [1, 5.5]"),
    "bool-bound": ({"range": [False, True], "scales": {"a": ["x"]}}, "two integers"),
    "min-not-below-max": ({"range": [5, 1], "scales": {"a": ["x"]}}, "min < max, got [5, 1]"),
    "equal-bounds": ({"range": [3, 3], "scales": {"a": ["x"]}}, "min < max, got [3, 3]"),
    "missing-scales": ({"range": [1, 5]}, "'scales' must be a non-empty mapping"),
    "empty-scales": ({"range": [1, 5], "scales": {}}, "'scales' must be a non-empty mapping"),
    "scales-as-list": ({"range": [1, 5], "scales": ["x"]}, "'scales' must be a non-empty mapping"),
    "empty-scale": ({"range": [1, 5], "scales": {"trust": []}}, "scale 'trust' must be a non-"),
    "scale-as-string": (
        {"range": [1, 5], "scales": {"trust": "t1, t2"}},
        "scale 'trust' must be a non-empty list of item names, got str",
    ),
    "numeric-item": ({"range": [1, 5], "scales": {"trust": ["t1", 7]}}, "scale 'trust': item "),
    "empty-item": ({"range": [1, 5], "scales": {"trust": ["t1", " - "]}}, "empty item name"),
    "numeric-scale-name": ({"range": [1, 5], "scales": {3: ["t1"]}}, "scale names must be"),
    "item-twice-in-one-scale": (
        {"range": [1, 5], "scales": {"trust": ["t1", "-t1"]}},
        "item 't1' is named twice (in scale 'trust' and in scale 'trust')",
    ),
    "item-in-two-scales": (
        {"range": [1, 5], "scales": {"trust": ["t1"], "hope": ["h1", "t1"]}},
        "item 't1' is named twice (in scale 'trust' and in scale 'hope')",
    ),
}


@pytest.mark.parametrize(("data", "fragment"), ERRORS.values(), ids=ERRORS.keys())
def test_errors_name_the_source_and_the_fault(data, fragment):
    with pytest.raises(ScaleSpecError) as raised:
        ScaleSpec.from_mapping(data, source="study.yaml")
    message = str(raised.value)
    assert message.startswith("study.yaml: ")
    assert fragment in message


def test_default_source_is_named():
    with pytest.raises(ScaleSpecError, match=r"^<mapping>: "):
        ScaleSpec.from_mapping({"range": [1, 5]})


def test_file_errors_name_the_file(tmp_path):
    path = tmp_path / "scales.yaml"
    path.write_text("range: [1, 5]\nscales:\n  trust: [t1, t1]\n", encoding="utf-8")
    with pytest.raises(ScaleSpecError, match=rf"^{path}: item 't1' is named twice"):
        load_scale_spec(path)


def test_invalid_yaml_names_the_file(tmp_path):
    path = tmp_path / "scales.yaml"
    path.write_text("scales: {trust: [t1\n", encoding="utf-8")
    with pytest.raises(ScaleSpecError, match=r"scales\.yaml: not valid YAML"):
        load_scale_spec(path)


def test_missing_file_names_the_file(tmp_path):
    with pytest.raises(ScaleSpecError, match=r"absent\.yaml: cannot read the scale spec"):
        load_scale_spec(tmp_path / "absent.yaml")


def test_scale_spec_error_is_a_value_error():
    assert issubclass(ScaleSpecError, ValueError)
