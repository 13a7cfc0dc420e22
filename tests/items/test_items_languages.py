"""The bank in every language: complete translations, the clinic's word for the clinician,
readable Spanish, and a loader that refuses a translation with anything missing."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from items import BankError, load_bank

ITEMS_DIR = Path(__file__).resolve().parents[2] / "items"
TERMS = ("clinician", "doctor", "nurse_practitioner")


def test_the_bank_lists_its_languages_with_their_status():
    bank = load_bank()
    assert dict(bank.languages) == {"en": "source", "es": "draft"}
    assert load_bank(language="es").language == "es"


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("term", TERMS)
def test_every_text_names_the_clinician_in_the_clinics_words(language, term):
    bank = load_bank(language=language, clinician_term=term)
    words = bank.clinician_terms[term] if language == "en" else None
    for form in bank.forms.values():
        texts = [form.title, form.intro, form.who_sees]
        texts += [text for section in form.sections for text in (section.heading, section.stem)]
        texts += [item.text for item in form.items]
        assert not [text for text in texts if "{" in text or "}" in text], form.id
    if words:
        assert words in bank.form("patient").item("pt_val_1").text


def test_spanish_texts_are_the_same_items_under_the_same_ids():
    english, spanish = load_bank(), load_bank(language="es")
    for form_id, form in english.forms.items():
        translated = spanish.form(form_id)
        assert [i.id for i in form.items] == [i.id for i in translated.items]
        assert all(a.text != b.text for a, b in zip(form.items, translated.items, strict=True))
        assert [i.not_applicable for i in form.items] == [
            i.not_applicable for i in translated.items
        ]
    labels = [o.label for o in spanish.form("patient").items[0].scale.options]
    assert labels[0] == "Muy en desacuerdo" and labels[-1] == "Muy de acuerdo"
    assert spanish.form("patient").item("pt_abi_3").not_applicable_label == "No me aplica"


def test_spanish_patient_texts_are_easy_to_read():
    """Fernández-Huerta (1959) reading ease, textstat's Spanish formula: 70 or more is easy."""
    import textstat

    textstat.set_lang("es")
    try:
        form = load_bank(language="es").form("patient")
        texts = [item.text for item in form.items]
        texts += [section.heading for section in form.sections]
        hard = {text: textstat.fernandez_huerta(text) for text in texts}
        hard = {text: score for text, score in hard.items() if score < 70}
        long = [text for text in texts if len(text.split()) > 18]
        # The check can fail: a long sentence of long words scores far below 70.
        difficult = (
            "Considerando detalladamente las circunstancias administrativas correspondientes."
        )
        assert textstat.fernandez_huerta(difficult) < 70
    finally:
        textstat.set_lang("en_US")
    assert hard == {} and long == []


def _copy_bank(tmp_path: Path) -> Path:
    for file in ITEMS_DIR.glob("*.yaml"):
        shutil.copy(file, tmp_path / file.name)
    return tmp_path


def _edit_translation(folder: Path, change) -> None:
    path = folder / "translation-es.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["forms"]["patient"]["items"].pop("pt_val_3"), "lacks item 'pt_val_3'"),
        (lambda d: d["forms"]["patient"]["sections"].pop("hope"), "lacks section 'hope'"),
        (lambda d: d["scales"]["agree5"].pop(3), "lacks the label of value 3"),
        (lambda d: d["forms"].pop("clinician-self"), "form 'clinician-self': missing"),
        (lambda d: d["forms"]["patient"].pop("not_applicable_label"), "not_applicable_label"),
        (lambda d: d["forms"]["patient"]["items"].update(pt_zzz_1="x"), "unknown item(s) pt_zzz_1"),
        (
            lambda d: d["forms"]["patient"]["items"].update(pt_val_1="Mi médico me trata bien."),
            "item 'pt_val_1': {clinician} must appear",
        ),
        (lambda d: d["clinician_terms"].pop("doctor"), "missing ['doctor']"),
        (lambda d: d.update(status="reviewed"), "needs a 'record'"),
        (lambda d: d.update(status="final"), "status 'final'"),
    ],
)
def test_an_incomplete_translation_is_refused_naming_what_is_missing(tmp_path, change, message):
    folder = _copy_bank(tmp_path)
    _edit_translation(folder, change)
    with pytest.raises(BankError, match=re.escape(message)):
        load_bank(folder)


def test_a_reviewed_translation_with_its_record_loads(tmp_path):
    folder = _copy_bank(tmp_path)
    _edit_translation(folder, lambda d: d.update(status="reviewed", record="AB fwd, CD back, 2026"))
    assert load_bank(folder).languages["es"] == "reviewed"


def test_unknown_language_or_term_is_named():
    with pytest.raises(BankError, match="no language 'fr'; it has: en, es"):
        load_bank(language="fr")
    with pytest.raises(BankError, match="unknown clinician term 'nurse'"):
        load_bank(clinician_term="nurse")


def test_retired_items_keep_their_wording_and_name_their_successor():
    bank = load_bank()
    current = {item.id for form in bank.forms.values() for item in form.items}
    retired = [item for form in bank.forms.values() for item in form.retired]
    assert len(retired) == 21
    for item in retired:
        assert item.id not in current and item.replaced_by in current
        assert item.retired_in == bank.version and item.retired_because
        assert bank.any_item(item.id) is item
    with pytest.raises(BankError):
        bank.item("pt_val_6")  # not asked any more


def test_the_changelog_records_every_retired_item():
    changelog = (ITEMS_DIR / "CHANGELOG.md").read_text(encoding="utf-8")
    bank = load_bank()
    missing = [
        item.id
        for form in bank.forms.values()
        for item in form.retired
        if item.id not in changelog or item.replaced_by not in changelog
    ]
    assert missing == []
