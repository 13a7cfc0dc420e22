"""load_bank on banks written to disk: valid layouts load, each kind of fault is named."""

from __future__ import annotations

import copy

import pytest
import yaml

from items import BankError, load_bank


def minimal_bank() -> dict:
    """A small valid bank: one faceted and one facetless construct, two inline forms."""
    return {
        "version": "0.0.1",
        "language": "en",
        "scales": [
            {"id": "agree3", "options": [{"value": v, "label": f"L{v}"} for v in (1, 2, 3)]},
        ],
        "constructs": [
            {
                "id": "valuing",
                "name": "Valuing",
                "definition": "Cares about the patient.",
                "part": "process",
                "facets": [
                    {"id": "presence", "name": "Presence", "meaning": "Full attention."},
                    {"id": "connecting", "name": "Connecting", "meaning": "Resonance."},
                ],
            },
            {"id": "hope", "name": "Hope", "definition": "Hope.", "part": "outcome"},
        ],
        "forms": [
            {
                "id": "patient",
                "title": "T",
                "intro": "I",
                "audience": "patient",
                "who_sees": "W",
                "scale": "agree3",
                "not_applicable_label": "Not me",
                "sections": [
                    {
                        "construct": "valuing",
                        "heading": "H",
                        "stem": "S",
                        "items": [
                            {"id": "x_val_1", "facet": "presence", "text": "A."},
                            {
                                "id": "x_val_2",
                                "facet": "connecting",
                                "text": "B.",
                                "not_applicable": True,
                            },
                        ],
                    },
                    {
                        "construct": "hope",
                        "heading": "H2",
                        "items": [{"id": "x_hop_1", "text": "C.", "reverse_keyed": True}],
                    },
                ],
            },
            {
                "id": "clinician-self",
                "title": "T",
                "intro": "I",
                "audience": "clinician",
                "who_sees": "W",
                "scale": "agree3",
                "sections": [
                    {"construct": "hope", "heading": "H", "items": [{"id": "y_1", "text": "D."}]}
                ],
            },
        ],
    }


def write_bank(tmp_path, data, name="bank.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def first_form(data):
    return data["forms"][0]


def valuing_items(data):
    return first_form(data)["sections"][0]["items"]


def test_minimal_bank_loads(tmp_path):
    bank = load_bank(write_bank(tmp_path, minimal_bank()))
    assert bank.version == "0.0.1"
    assert list(bank.forms) == ["patient", "clinician-self"]
    patient = bank.form("patient")
    assert [item.id for item in patient.items] == ["x_val_1", "x_val_2", "x_hop_1"]
    assert patient.sections[1].stem == ""
    assert patient.item("x_val_2").not_applicable_label == "Not me"
    assert patient.item("x_val_1").not_applicable_label is None
    assert patient.item("x_hop_1").facet is None
    assert patient.scale_spec().to_dict() == {
        "range": [1, 3],
        "scales": {"valuing": ["x_val_1", "x_val_2"], "hope": ["-x_hop_1"]},
    }


def test_default_not_applicable_label(tmp_path):
    data = minimal_bank()
    del first_form(data)["not_applicable_label"]
    bank = load_bank(write_bank(tmp_path, data))
    assert bank.item("x_val_2").not_applicable_label == "Does not apply"


def test_a_user_bank_is_not_cached(tmp_path):
    path = write_bank(tmp_path, minimal_bank())
    assert load_bank(path) is not load_bank(path)
    assert load_bank(path) == load_bank(str(path))


def test_directory_layout_with_one_file_per_form(tmp_path):
    data = minimal_bank()
    patient, clinician = data["forms"]
    data["forms"] = ["patient", "clinician-self"]
    write_bank(tmp_path, data)
    write_bank(tmp_path, patient, "form-patient.yaml")
    write_bank(tmp_path, clinician, "form-clinician-self.yaml")
    bank = load_bank(tmp_path)
    assert bank == load_bank(tmp_path / "bank.yaml")
    assert [item.id for item in bank.form("clinician-self").items] == ["y_1"]


def test_form_file_with_another_id(tmp_path):
    data = minimal_bank()
    patient = data["forms"][0]
    data["forms"] = ["patient"]
    write_bank(tmp_path, data)
    write_bank(tmp_path, {**patient, "id": "patients"}, "form-patient.yaml")
    with pytest.raises(BankError, match=r"form-patient\.yaml: form 'patient': the file's id"):
        load_bank(tmp_path)


def test_duplicate_item_across_form_files_names_both_files(tmp_path):
    data = minimal_bank()
    patient, clinician = data["forms"]
    clinician["sections"][0]["items"][0]["id"] = "x_hop_1"
    data["forms"] = ["patient", "clinician-self"]
    write_bank(tmp_path, data)
    write_bank(tmp_path, patient, "form-patient.yaml")
    write_bank(tmp_path, clinician, "form-clinician-self.yaml")
    with pytest.raises(BankError) as raised:
        load_bank(tmp_path)
    message = str(raised.value)
    assert message.startswith(f"{tmp_path / 'form-clinician-self.yaml'}: item 'x_hop_1'")
    assert f"already used in {tmp_path / 'form-patient.yaml'}" in message


def test_missing_form_file(tmp_path):
    data = minimal_bank()
    data["forms"] = ["patient"]
    write_bank(tmp_path, data)
    with pytest.raises(BankError, match=r"form-patient\.yaml: cannot read"):
        load_bank(tmp_path)


def test_missing_bank_file(tmp_path):
    with pytest.raises(BankError, match=r"nothing\.yaml: cannot read the item bank file"):
        load_bank(tmp_path / "nothing.yaml")


def test_invalid_yaml(tmp_path):
    path = tmp_path / "bank.yaml"
    path.write_text("version: [unclosed\n", encoding="utf-8")
    with pytest.raises(BankError, match=r"bank\.yaml: not valid YAML"):
        load_bank(path)


def set_in(path, value):
    """A mutation that sets ``data[path...] = value`` (a path of keys and indexes)."""

    def mutate(data):
        *parents, last = path
        target = data
        for key in parents:
            target = target[key]
        target[last] = value

    return mutate


def delete_in(path):
    def mutate(data):
        *parents, last = path
        target = data
        for key in parents:
            target = target[key]
        del target[last]

    return mutate


VALUING = ("forms", 0, "sections", 0)
ITEM_1 = (*VALUING, "items", 0)
SCALE = ("scales", 0)
ERRORS = {
    "unknown-construct": (
        set_in((*VALUING, "construct"), "valour"),
        ["form 'patient'", "unknown construct 'valour'", "expected one of: valuing, hope"],
    ),
    "unknown-facet": (
        set_in((*ITEM_1, "facet"), "listening"),
        ["item 'x_val_1'", "unknown facet 'listening'", "expected one of: presence, connecting"],
    ),
    "facet-on-facetless-construct": (
        set_in(("forms", 0, "sections", 1, "items", 0, "facet"), "joy"),
        ["item 'x_hop_1'", "unknown facet 'joy' of construct 'hope'", "no facet (null)"],
    ),
    "missing-facet": (
        delete_in((*ITEM_1, "facet")),
        ["item 'x_val_1'", "no facet", "construct 'valuing' expects one of"],
    ),
    "duplicate-item-in-form": (
        set_in((*VALUING, "items", 1, "id"), "x_val_1"),
        ["item 'x_val_1'", "duplicate item id"],
    ),
    "duplicate-item-across-forms": (
        set_in(("forms", 1, "sections", 0, "items", 0, "id"), "x_val_2"),
        ["item 'x_val_2'", "duplicate item id"],
    ),
    "missing-text": (
        delete_in((*ITEM_1, "text")),
        ["item 'x_val_1'", "missing 'text'"],
    ),
    "empty-text": (
        set_in((*ITEM_1, "text"), "   "),
        ["item 'x_val_1'", "'text' must be non-empty text"],
    ),
    "unknown-scale": (
        set_in((*ITEM_1, "scale"), "agree7"),
        ["item 'x_val_1'", "unknown response scale 'agree7'", "expected one of: agree3"],
    ),
    "no-scale": (
        delete_in(("forms", 0, "scale")),
        ["item 'x_val_1'", "unknown response scale None"],
    ),
    "non-integer-value": (
        set_in((*SCALE, "options", 1, "value"), 2.5),
        ["response scale 'agree3'", "option value 2.5 is not an integer"],
    ),
    "boolean-value": (
        set_in((*SCALE, "options", 1, "value"), True),
        ["response scale 'agree3'", "option value True is not an integer"],
    ),
    "one-option": (
        set_in((*SCALE, "options"), [{"value": 1, "label": "Yes"}]),
        ["response scale 'agree3'", "has 1 option(s); expected at least 2"],
    ),
    "duplicate-values": (
        set_in((*SCALE, "options", 2, "value"), 2),
        ["response scale 'agree3'", "duplicate option value(s) [2]"],
    ),
    "descending-values": (
        set_in((*SCALE, "options", 0, "value"), 9),
        ["response scale 'agree3'", "must be in ascending order"],
    ),
    "bad-part": (
        set_in(("constructs", 1, "part"), "result"),
        ["construct 'hope'", "part 'result' is not one of process, outcome, competency"],
    ),
    "two-reverse-keyed": (
        lambda data: [item.update(reverse_keyed=True) for item in valuing_items(data)],
        ["section 'valuing'", "2 reverse-keyed items (x_val_1, x_val_2)", "at most one"],
    ),
    "form-without-sections": (
        set_in(("forms", 1, "sections"), []),
        ["form 'clinician-self'", "has no items"],
    ),
    "section-without-items": (
        set_in(("forms", 1, "sections", 0, "items"), []),
        ["form 'clinician-self': section 'hope'", "has no items"],
    ),
    "construct-twice-in-form": (
        set_in(
            ("forms", 0, "sections", 1),
            {
                "construct": "valuing",
                "heading": "H3",
                "items": [{"id": "x_val_3", "facet": "presence", "text": "E."}],
            },
        ),
        ["form 'patient': section for construct 'valuing' is defined twice"],
    ),
    "duplicate-construct": (
        lambda data: data["constructs"].append(copy.deepcopy(data["constructs"][1])),
        ["construct 'hope' is defined twice"],
    ),
    "duplicate-facet": (
        set_in(("constructs", 0, "facets", 1, "id"), "presence"),
        ["construct 'valuing': facet 'presence' is defined twice"],
    ),
    "duplicate-form": (
        set_in(("forms", 1, "id"), "patient"),
        ["form 'patient' is defined twice"],
    ),
    "misspelt-item-key": (
        set_in((*ITEM_1, "reverse_key"), True),
        ["item 'x_val_1'", "unknown key(s) 'reverse_key'"],
    ),
    "non-boolean-flag": (
        set_in((*ITEM_1, "not_applicable"), "yes"),
        ["item 'x_val_1'", "'not_applicable' must be true or false, got 'yes'"],
    ),
    "bad-item-id": (
        set_in((*ITEM_1, "id"), "-x_val_1"),
        ["item '-x_val_1'", "expected an id of letters, digits and '_'"],
    ),
    "bad-audience": (
        set_in(("forms", 1, "audience"), "nurse"),
        ["form 'clinician-self'", "audience 'nurse' is not one of patient, clinician"],
    ),
    "missing-version": (
        delete_in(("version",)),
        ["the bank", "missing 'version'"],
    ),
    "numeric-version": (
        set_in(("version",), 1.0),
        ["the bank", "'version' must be non-empty text, got 1.0"],
    ),
    "missing-heading": (
        delete_in((*VALUING, "heading")),
        ["form 'patient': a section", "missing 'heading'"],
    ),
    "item-not-a-mapping": (
        set_in((*VALUING, "items", 1), "x_val_2"),
        ["form 'patient': section 'valuing': item", "expected a mapping, got str"],
    ),
}


@pytest.mark.parametrize(("mutate", "fragments"), ERRORS.values(), ids=ERRORS.keys())
def test_bank_error_names_the_file_and_the_fault(tmp_path, mutate, fragments):
    data = minimal_bank()
    mutate(data)
    path = write_bank(tmp_path, data)
    with pytest.raises(BankError) as raised:
        load_bank(path)
    message = str(raised.value)
    assert message.startswith(f"{path}: ")
    for fragment in fragments:
        assert fragment in message


def test_bank_error_is_a_value_error():
    assert issubclass(BankError, ValueError)
