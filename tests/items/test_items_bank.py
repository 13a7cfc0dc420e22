"""The packaged item bank: its content follows the model, the forms and the style rules."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

import items
from items import FORM_IDS, NOT_APPLICABLE, SKIPPED, BankError, ScaleSpec, load_bank

RELATIONSHIP = ("valuing", "appreciating_power", "abiding", "trust", "hope", "known")
COMPETENCIES = ("self_confidence", "emotional_self_management", "mindfulness", "knowledge")
PREFIX = {"patient": "pt", "clinician-dyad": "cd", "clinician-self": "cs"}
# The items that offer "does not apply": care through a crisis that may never have happened,
# and trying again after a treatment failed, which may not have happened either.
NOT_APPLICABLE_ITEMS = {
    # Bank 2026.12.1: a call back that was never promised does not apply (pt_tru_7, cd_tru_7).
    "pt_tru_7",
    "cd_tru_7",
    "pt_abi_3",
    "pt_abi_4",
    "pt_abi_8",
    "cd_abi_3",
    "cd_abi_4",
    "cd_abi_8",
}
# Short phrases characteristic of copyrighted instruments (CARE, trust scales, Herth Hope
# Index); our original wording must not reuse them.
BORROWED_PHRASES = (
    "really listening",
    "as a whole person",
    "complete trust",
    "whatever it takes",
    "positive outlook",
    "inner strength",
    "sense of direction",
    "feel all alone",
    "put my medical needs above",
)


@pytest.fixture(scope="module")
def bank():
    return load_bank()


def all_items(bank):
    return [item for form in bank.forms.values() for item in form.items]


ALL_SECTIONS = [
    pytest.param(form_id, construct, id=f"{form_id}-{construct}")
    for form_id, constructs in (
        ("patient", RELATIONSHIP),
        ("clinician-dyad", RELATIONSHIP),
        ("clinician-self", COMPETENCIES),
    )
    for construct in constructs
]


def section_of(bank, form_id, construct):
    (section,) = [s for s in bank.form(form_id).sections if s.construct.id == construct]
    return section


def test_constants():
    assert NOT_APPLICABLE == "not_applicable"
    assert SKIPPED == "skipped"
    assert FORM_IDS == ("patient", "clinician-dyad", "clinician-self")


def test_bank_metadata(bank):
    assert re.fullmatch(r"\d{4}\.\d+\.\d+", bank.version)
    assert bank.language == "en"
    assert tuple(bank.forms) == FORM_IDS
    assert tuple(bank.constructs) == RELATIONSHIP + COMPETENCIES


def test_packaged_bank_is_loaded_once(bank):
    assert load_bank() is bank
    assert load_bank(None) is bank


def test_loading_the_package_directory_gives_an_equal_bank(bank):
    copy = load_bank(Path(items.__file__).parent)
    assert copy is not bank
    assert copy == bank


def test_constructs_follow_the_model(bank):
    parts = {construct.id: construct.part for construct in bank.constructs.values()}
    assert parts == {
        **dict.fromkeys(RELATIONSHIP[:3], "process"),
        **dict.fromkeys(RELATIONSHIP[3:], "outcome"),
        **dict.fromkeys(COMPETENCIES, "competency"),
    }
    facets = {c.id: [f.id for f in c.facets] for c in bank.constructs.values() if c.facets}
    assert facets == {
        "valuing": ["nonjudgmental", "connecting", "presence"],
        "appreciating_power": ["partnering", "education", "pushing"],
        "abiding": ["continuity", "crisis", "caring_acts", "not_giving_up"],
        "trust": ["vulnerability", "promises_kept"],
    }
    for construct in bank.constructs.values():
        assert construct.name and construct.definition
        assert all(facet.name and facet.meaning for facet in construct.facets)


def test_forms_hold_their_constructs_in_order(bank):
    constructs = {
        form.id: tuple(section.construct.id for section in form.sections)
        for form in bank.forms.values()
    }
    assert constructs == {
        "patient": RELATIONSHIP,
        "clinician-dyad": RELATIONSHIP,
        "clinician-self": COMPETENCIES,
    }
    assert [form.audience for form in bank.forms.values()] == ["patient", "clinician", "clinician"]


def test_item_counts_per_form(bank):
    assert {form.id: len(form.items) for form in bank.forms.values()} == {
        "patient": 38,
        "clinician-dyad": 38,
        "clinician-self": 24,
    }


@pytest.mark.parametrize(("form_id", "construct"), ALL_SECTIONS)
def test_each_section_has_enough_items_and_covers_every_facet(bank, form_id, construct):
    section = section_of(bank, form_id, construct)
    assert len(section.items) >= 6
    assert all(item.construct == construct and item.form == form_id for item in section.items)
    facet_counts = Counter(item.facet for item in section.items)
    expected_facets = [facet.id for facet in section.construct.facets]
    if not expected_facets:
        assert set(facet_counts) == {None}
        return
    assert set(facet_counts) == set(expected_facets)
    assert min(facet_counts.values()) >= 2
    assert len(section.items) >= 2 * len(expected_facets)


@pytest.mark.parametrize(("form_id", "construct"), ALL_SECTIONS)
def test_at_most_one_reverse_keyed_item_per_construct_and_form(bank, form_id, construct):
    section = section_of(bank, form_id, construct)
    assert sum(item.reverse_keyed for item in section.items) <= 1


def test_item_ids_are_unique_and_follow_the_naming_scheme(bank):
    ids = [item.id for item in all_items(bank)]
    assert len(ids) == len(set(ids)) == 100
    abbreviation_of: dict[str, set[str]] = {}
    for item in all_items(bank):
        prefix, abbreviation, number = item.id.split("_")
        assert prefix == PREFIX[item.form], item.id
        assert re.fullmatch(r"[a-z]{3}", abbreviation) and number.isdigit(), item.id
        abbreviation_of.setdefault(item.construct, set()).add(abbreviation)
    assert all(len(abbreviations) == 1 for abbreviations in abbreviation_of.values())
    assert len({a for (a,) in abbreviation_of.values()}) == len(bank.constructs)


def test_item_numbers_run_from_one_within_each_section_and_are_never_reused(bank):
    """A changed wording gets the next number: retired and current ids together run 1..n."""
    for form in bank.forms.values():
        for section in form.sections:
            retired = [item for item in form.retired if item.construct == section.construct.id]
            numbers = sorted(
                int(item.id.rsplit("_", 1)[1]) for item in section.items + tuple(retired)
            )
            assert numbers == list(range(1, len(numbers) + 1)), section.construct.id


def test_dyad_forms_are_parallel_item_by_item(bank):
    patient, clinician = bank.form("patient"), bank.form("clinician-dyad")
    pairs = list(zip(patient.items, clinician.items, strict=True))
    for patient_item, clinician_item in pairs:
        assert patient_item.id.removeprefix("pt_") == clinician_item.id.removeprefix("cd_")
        assert patient_item.construct == clinician_item.construct
        assert patient_item.facet == clinician_item.facet
        assert patient_item.not_applicable == clinician_item.not_applicable
        assert patient_item.reverse_keyed == clinician_item.reverse_keyed


def test_patient_items_are_plain(bank, fk_grade):
    too_hard = {
        item.id: (round(fk_grade(item.text), 2), len(item.text.split()))
        for item in bank.form("patient").items
        if fk_grade(item.text) > 6 or len(item.text.split()) > 15
    }
    assert too_hard == {}


def test_grade_check_can_fail(fk_grade):
    # Guards the check above: a long, polysyllabic sentence must score above grade 6.
    sentence = "My clinician demonstrates considerable understanding regarding my circumstances."
    assert fk_grade(sentence) > 6


def test_clinician_items_are_short(bank):
    for form_id in ("clinician-dyad", "clinician-self"):
        long_items = [item.id for item in bank.form(form_id).items if len(item.text.split()) > 15]
        assert long_items == [], form_id


def test_item_texts_are_single_sentences(bank):
    for item in all_items(bank):
        assert item.text[0].isupper() and item.text.endswith("."), item.id
        assert "  " not in item.text and "\n" not in item.text, item.id


def test_texts_are_unique_within_a_form(bank):
    for form in bank.forms.values():
        texts = [item.text.lower() for item in form.items]
        assert len(texts) == len(set(texts)), form.id


def test_no_borrowed_phrases(bank):
    borrowed = [
        (item.id, phrase)
        for item in all_items(bank)
        for phrase in BORROWED_PHRASES
        if phrase in item.text.lower()
    ]
    assert borrowed == []


def test_not_applicable_is_offered_only_where_chosen(bank):
    offered = {item.id for item in all_items(bank) if item.not_applicable}
    assert offered == NOT_APPLICABLE_ITEMS
    labels = {
        item.form: item.not_applicable_label for item in all_items(bank) if item.id in offered
    }
    assert labels == {"patient": "Does not apply to me", "clinician-dyad": "Does not apply"}
    assert all(
        item.not_applicable_label is None for item in all_items(bank) if item.id not in offered
    )


def test_not_applicable_items_are_about_events_that_may_not_have_happened(bank):
    facets = {bank.item(item_id).facet for item_id in NOT_APPLICABLE_ITEMS}
    assert facets == {"crisis", "not_giving_up", "promises_kept"}


def test_the_response_scale_is_a_fully_labelled_five_point_agreement_scale(bank):
    scales = {item.scale for item in all_items(bank)}
    assert len(scales) == 1
    (scale,) = scales
    assert scale.id == "agree5"
    assert [(option.value, option.label) for option in scale.options] == [
        (1, "Strongly disagree"),
        (2, "Disagree"),
        (3, "Neither agree nor disagree"),
        (4, "Agree"),
        (5, "Strongly agree"),
    ]
    assert (scale.min, scale.max) == (1, 5)
    assert scale.label(3) == "Neither agree nor disagree"


def test_scale_label_names_a_value_off_the_scale(bank):
    scale = bank.form("patient").items[0].scale
    with pytest.raises(ValueError, match=r"6 is not a value of scale 'agree5'"):
        scale.label(6)


def test_forms_have_welcome_texts(bank):
    for form in bank.forms.values():
        assert form.title and form.intro and form.who_sees
    assert bank.form("patient").who_sees == (
        "Your clinician never sees your own answers. They see only averages from many patients."
    )
    assert "over time" not in bank.form("clinician-self").intro


def test_patient_headings_and_stems_are_plain(bank, fk_grade):
    headings = {s.construct.id: s.heading for s in bank.form("patient").sections}
    assert headings["valuing"] == "How your clinician treats you"
    assert len(set(headings.values())) == len(headings)
    stems = [section.stem for section in bank.form("patient").sections]
    assert [text for text in [*headings.values(), *stems] if fk_grade(text) > 6] == []


def test_relationship_sections_frame_the_time_known(bank):
    for form_id in ("patient", "clinician-dyad"):
        framed = [
            section.construct.id
            for section in bank.form(form_id).sections
            if "over the time you have known" in section.stem.lower()
        ]
        assert {"valuing", "appreciating_power", "abiding", "known"} <= set(framed), form_id
    assert "all the time you have known" in bank.form("patient").intro


def test_item_lookup(bank):
    item = bank.item("pt_abi_3")
    assert (item.form, item.construct, item.facet) == ("patient", "abiding", "crisis")
    assert bank.form("patient").item("pt_abi_3") is item
    assert bank.constructs["abiding"].facet("crisis").name == "Care through crises"


@pytest.mark.parametrize(
    ("lookup", "message"),
    [
        (lambda bank: bank.form("doctor"), r"unknown form 'doctor'; known forms: patient, "),
        (lambda bank: bank.item("pt_val_99"), r"has no item 'pt_val_99'"),
        (lambda bank: bank.form("patient").item("cd_val_1"), r"form 'patient' has no item 'cd_"),
        (lambda bank: bank.constructs["hope"].facet("joy"), r"'hope' has no facet 'joy'"),
    ],
    ids=["form", "bank-item", "form-item", "facet"],
)
def test_failed_lookups_raise_bank_error(bank, lookup, message):
    with pytest.raises(BankError, match=message):
        lookup(bank)


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_form_scale_spec_has_one_scale_per_construct(bank, form_id):
    form = bank.form(form_id)
    spec = form.scale_spec()
    assert spec.range == (1, 5)
    assert {name: [item.id for item in scale] for name, scale in spec.scales.items()} == {
        section.construct.id: [item.id for item in section.items] for section in form.sections
    }
    assert spec.item_ids == tuple(item.id for item in form.items)
    assert spec.reverse_keyed_ids() == {item.id for item in form.items if item.reverse_keyed}
    assert ScaleSpec.from_mapping(yaml.safe_load(yaml.safe_dump(spec.to_dict()))) == spec


def test_to_dict_is_json_ready(bank):
    data = json.loads(json.dumps(bank.to_dict()))
    assert data["version"] == bank.version
    assert [form["id"] for form in data["forms"]] == list(FORM_IDS)
    patient_items = [item for section in data["forms"][0]["sections"] for item in section["items"]]
    assert patient_items[0] == {
        "id": "pt_val_1",
        "form": "patient",
        "construct": "valuing",
        "facet": "nonjudgmental",
        "text": "My clinician treats me as a person who matters.",
        "scale": "agree5",
        "reverse_keyed": False,
        "not_applicable": False,
        "not_applicable_label": None,
    }
    assert len(patient_items) == 38
