"""Exports, codebooks, FHIR resources and the REDCap dictionary carry the language: the
language of each response, and item texts and labels in a chosen language."""

from __future__ import annotations

import csv
import doctest
import json

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.questionnaire import Questionnaire
from sqlalchemy import func, select, update

import survey.clinics
import survey.exports.codebook
import survey.exports.service
import survey.fhir.resources
import survey.languages
from items import load_bank
from survey.exports.codebook import UNTRANSLATED
from survey.exports.service import ExportRequest, export_to_path
from survey.extensions import db
from survey.fhir.resources import TRANSLATION, questionnaire
from survey.invitations import invite_dyad
from survey.models import Clinic, Response

from .conftest import Respondent
from .exchange import seed_demo

ENGLISH, SPANISH = load_bank(), load_bank(language="es")


@pytest.fixture
def bilingual(app):
    """The demo clinic, with every third patient response given in Spanish and one in French
    (a language the bank does not have, as an import might bring)."""
    seed_demo(app)
    with app.app_context():
        ids = db.session.scalars(
            select(Response.id).where(Response.form == "patient").order_by(Response.id)
        ).all()
        db.session.execute(update(Response).where(Response.id.in_(ids[::3])).values(language="es"))
        db.session.execute(update(Response).where(Response.id == ids[1]).values(language="fr"))
        db.session.commit()
    return app


def export(app, tmp_path, fmt, **options):
    path = tmp_path / f"out-{fmt}-{len(list(tmp_path.iterdir()))}"
    with app.app_context():
        summary = export_to_path(
            ExportRequest(format=fmt, **options), path, actor="test", secret_key="key"
        )
    return path, summary


def read_csv(path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize(
    "module",
    [
        survey.languages,
        survey.clinics,
        survey.exports.codebook,
        survey.exports.service,
        survey.fhir.resources,
    ],
)
def test_docstring_examples(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0


# Response files ----------------------------------------------------------------------------


def test_wide_and_long_csv_carry_each_responses_language(bilingual, tmp_path):
    wide, _ = export(bilingual, tmp_path, "csv")
    long, _ = export(bilingual, tmp_path, "csv-long")
    with bilingual.app_context():
        stored = dict(db.session.execute(select(Response.id, Response.language)).all())
    rows = read_csv(wide)
    assert [row["language"] for row in rows] == [stored[int(row["response_id"])] for row in rows]
    assert {row["language"] for row in rows} == {"en", "es", "fr"}
    answers = read_csv(long)
    assert {row["language"] for row in answers if row["response_id"] == rows[0]["response_id"]} == {
        stored[int(rows[0]["response_id"])]
    }


@pytest.mark.parametrize("fmt", ["sav", "dta"])
def test_sav_and_dta_label_the_language_column(bilingual, tmp_path, fmt):
    import pyreadstat

    rows = read_csv(export(bilingual, tmp_path, "csv")[0])
    path, _ = export(bilingual, tmp_path, fmt)
    read = pyreadstat.read_sav if fmt == "sav" else pyreadstat.read_dta
    data, meta = read(str(path))
    expected = {1: "English (en)", 2: "Spanish (es)", 3: "French (fr)"}
    assert {int(k): v for k, v in meta.variable_value_labels["language"].items()} == expected
    numbers = {"en": 1, "es": 2, "fr": 3}
    assert [int(v) for v in data["language"]] == [numbers[row["language"]] for row in rows]
    labelled, _ = read(str(path), apply_value_formats=True)
    assert labelled["language"].iloc[0] == expected[numbers[rows[0]["language"]]]


@pytest.mark.parametrize("fmt", ["sav", "dta"])
def test_a_table_writer_fallback_labels_the_language_the_same_way(bilingual, tmp_path, fmt):
    """A text too wide for the streaming writers (declared here, as only SQLite could hold it)
    sends the file to pyreadstat's table writer: the language is labelled the same way."""
    import pyreadstat

    from survey.dataset import ResponseFilter, iter_response_chunks
    from survey.exports.labelled import write_dta, write_sav
    from survey.exports.layout import layout_for
    from survey.exports.service import _language_codes, _text_widths
    from survey.exports.writers import Tally

    path = tmp_path / f"wide.{fmt}"
    with bilingual.app_context():
        layout = layout_for("patient")
        widths = _text_widths(layout) | {"clinic": 3000}
        chunks = iter_response_chunks(ResponseFilter(form="patient"), chunk_size=5)
        write = write_sav if fmt == "sav" else write_dta
        write(path, layout, chunks, Tally(), text_widths=widths, languages=_language_codes())
    read = pyreadstat.read_sav if fmt == "sav" else pyreadstat.read_dta
    data, meta = read(str(path), apply_value_formats=True)
    assert set(data["language"]) == {"English (en)", "Spanish (es)", "French (fr)"}
    assert meta.variable_value_labels["language"] == {
        1: "English (en)",
        2: "Spanish (es)",
        3: "French (fr)",
    }


def test_spanish_labels_in_sav_with_responses_of_every_language(bilingual, tmp_path):
    import pyreadstat

    path, summary = export(bilingual, tmp_path, "sav", language="es")
    data, meta = pyreadstat.read_sav(str(path))
    assert summary.language == "es"
    assert meta.column_names_to_labels["pt_val_1"] == SPANISH.item("pt_val_1").text
    assert meta.variable_value_labels["pt_val_1"][1.0] == "Muy en desacuerdo"
    assert len({*data["language"]}) == 3


# Codebooks ---------------------------------------------------------------------------------


def test_the_codebook_in_spanish_shows_each_items_translation_status(app, tmp_path):
    path, summary = export(app, tmp_path, "codebook", language="es")
    assert path.exists() and summary.language == "es"
    rows = {row["variable"]: row for row in read_csv(path)}
    current = rows["pt_val_1"]
    assert current["label"] == SPANISH.item("pt_val_1").text
    assert current["values"].startswith("1=Muy en desacuerdo; 2=En desacuerdo")
    assert current["translation"] == "draft"
    assert rows["pt_abi_3"]["missing_codes"] == "-7=No me aplica; -9=Skipped (no answer)"
    # A retired item keeps the words it was asked in, and says it was never translated.
    retired = rows["pt_val_6"]
    assert retired["label"] == "My clinician sees how my health problems affect my life."
    assert retired["translation"] == UNTRANSLATED
    assert rows["language"]["values"] == ("en=English; es=Spanish (in .sav and .dta: 1=en; 2=es)")
    english = {row["variable"]: row for row in read_csv(export(app, tmp_path, "codebook")[0])}
    assert english["pt_val_1"]["label"] == ENGLISH.item("pt_val_1").text
    assert {english[item.id]["translation"] for item in ENGLISH.form("patient").items} == {"source"}
    assert english["pt_val_6"]["translation"] == "source"


def test_the_markdown_codebook_in_spanish(app, tmp_path):
    path, _ = export(app, tmp_path, "codebook-md", language="es")
    text = path.read_text(encoding="utf-8")
    assert "Item texts and labels in Spanish (`es`), translation status: draft." in text
    assert f"Stem: {SPANISH.form('patient').sections[0].stem}" in text
    assert f"| `pt_val_1` | {SPANISH.item('pt_val_1').text} |" in text
    assert "(never translated)" in text and "| `pt_kno_5` | I feel that my clinician" in text


def test_a_clinics_codebook_names_the_clinician_as_its_forms_do(app, tmp_path):
    with app.app_context():
        clinic = Clinic(name="Oak Clinic", clinician_term="doctor")
        db.session.add(clinic)
        db.session.commit()
        clinic_id = clinic.id
    path, _ = export(app, tmp_path, "codebook", language="es", clinic_id=clinic_id)
    rows = {row["variable"]: row for row in read_csv(path)}
    assert rows["pt_val_1"]["label"] == "Mi médico me trata como una persona que importa."
    path, _ = export(app, tmp_path, "codebook", clinic_id=clinic_id)
    rows = {row["variable"]: row for row in read_csv(path)}
    assert rows["pt_val_1"]["label"] == "My doctor treats me as a person who matters."


def test_cli_export_language_and_a_clear_error(app, runner, tmp_path):
    out = tmp_path / "codebook.csv"
    args = ["export", "--format", "codebook", "--out", str(out)]
    done = runner.invoke(args=[*args, "--language", "es"])
    assert done.exit_code == 0, done.output
    assert "(codebook, es)" in done.output
    assert "Muy en desacuerdo" in out.read_text(encoding="utf-8")
    bad = runner.invoke(args=[*args, "--language", "fr"])
    assert bad.exit_code != 0
    assert "unknown language 'fr'; the item bank has: en, es" in bad.output
    assert "Traceback" not in bad.output


def test_the_download_page_offers_each_language(bilingual, client):
    from .exchange import add_user, sign_in

    add_user(bilingual, "admin@example.org", "admin")
    sign_in(client, "admin@example.org")
    page = client.get("/exports/").text
    assert 'hreflang="es"' in page and "Spanish" in page and "(draft)" in page
    download = client.get("/exports/download?format=codebook&form=patient&language=es")
    assert download.status_code == 200
    assert (
        'filename="healing-survey-patient-es-codebook.csv"'
        in (download.headers["Content-Disposition"])
    )
    assert "Muy en desacuerdo" in download.text
    bad = client.get("/exports/download?format=codebook&form=patient&language=xx")
    assert bad.status_code == 400 and "unknown language" in bad.text


# FHIR --------------------------------------------------------------------------------------


def _texts(resource: dict):
    """Every translatable element: (the element's holder, its name)."""
    yield resource, "title"
    yield resource, "description"
    pending = list(resource["item"])
    while pending:
        item = pending.pop()
        yield item, "text"
        pending.extend(item.get("item", []))
        for option in item.get("answerOption", []):
            yield option["valueCoding"], "display"


def _translations(holder: dict, name: str) -> dict[str, str]:
    extensions = holder[f"_{name}"]["extension"]
    assert {e["url"] for e in extensions} == {TRANSLATION}
    found = {}
    for extension in extensions:
        parts = {part["url"]: part for part in extension["extension"]}
        assert set(parts) == {"lang", "content"}
        found[parts["lang"]["valueCode"]] = parts["content"]["valueString"]
    return found


@pytest.mark.parametrize("form_id", list(ENGLISH.forms))
@pytest.mark.parametrize("language", ["en", "es"])
def test_questionnaire_carries_every_text_in_every_language(form_id, language):
    resource = questionnaire(form_id, language=language)
    model = Questionnaire.model_validate(resource)
    assert model.language == language
    other = "es" if language == "en" else "en"
    in_other = questionnaire(form_id, language=other)
    mine, theirs = list(_texts(resource)), list(_texts(in_other))
    assert len(mine) == len(theirs) > 20
    for (holder, name), (twin, _) in zip(mine, theirs, strict=True):
        assert _translations(holder, name) == {other: twin[name]}, holder.get("linkId")
    # The FHIR model reads the extension where FHIR puts it.
    assert model.title__ext.extension[0].url == TRANSLATION


def test_questionnaire_uses_the_clinics_word_in_every_language():
    resource = questionnaire("patient", clinician_term="nurse_practitioner")
    item = resource["item"][0]["item"][1]
    assert item["text"] == "My nurse practitioner treats me as a person who matters."
    assert _translations(item, "text")["es"].startswith("Mi enfermero practicante ")


def test_questionnaire_endpoint_takes_a_language(client):
    spanish = client.get("/fhir/Questionnaire/patient?language=es")
    assert spanish.status_code == 200 and spanish.json["language"] == "es"
    assert spanish.json["title"] == SPANISH.form("patient").title
    unknown = client.get("/fhir/Questionnaire/patient?language=fr")
    assert unknown.status_code == 400
    assert "language 'fr': expected one of en, es" in unknown.json["issue"][0]["diagnostics"]


def test_bundle_responses_say_their_language_in_its_words(bilingual, tmp_path):
    path, _ = export(bilingual, tmp_path, "fhir-bundle")
    bundle = json.loads(path.read_text(encoding="utf-8"))
    Bundle.model_validate(bundle)
    resources = [entry["resource"] for entry in bundle["entry"]]
    assert {r["language"] for r in resources} == {"en", "es", "fr"}
    for resource in resources:
        first = resource["item"][0]["item"][0]
        bank = SPANISH if resource["language"] == "es" else ENGLISH
        assert first["text"] == bank.item(first["linkId"]).text


def _response_body(language: str | None) -> dict:
    from survey.fhir.resources import ResponseContext, questionnaire_response

    answers = {item.id: 3 for item in ENGLISH.form("patient").items}
    context = ResponseContext(
        id="1", clinician="1", dyad="1", wave=1, authored="2026-11-01", language=language
    )
    return questionnaire_response(
        SPANISH.form("patient"), answers, context=context, version=ENGLISH.version
    )


def _post(client, url: str, body: dict):
    token = url.rsplit("/", 1)[1]
    return client.post(
        "/fhir/QuestionnaireResponse",
        data=json.dumps(body),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"},
    )


def test_a_response_sent_in_spanish_is_stored_as_spanish(app, client, clinician_id):
    with app.app_context():
        links = [invite_dyad(clinician_id) for _ in range(2)]
    sent = _post(client, links[0].patient_url, _response_body("es-MX"))
    assert sent.status_code == 201, sent.text
    assert sent.json["language"] == "es"
    assert sent.json["item"][0]["item"][0]["text"] == SPANISH.item("pt_val_1").text
    refused = _post(client, links[1].patient_url, _response_body("fr"))
    assert refused.status_code == 422
    assert "language 'fr'" in refused.json["issue"][0]["diagnostics"]
    with app.app_context():
        assert db.session.scalars(select(Response.language)).all() == ["es"]
        assert db.session.scalar(select(func.count()).select_from(Response)) == 1


def test_a_web_answer_exports_with_its_language(app, clinician_id, tmp_path):
    with app.app_context():
        links = invite_dyad(clinician_id)
    web = Respondent(app.test_client(), links.patient_url, "patient")
    web.answer_all()
    assert web.submit().status_code == 302
    rows = read_csv(export(app, tmp_path, "csv")[0])
    assert [row["language"] for row in rows] == ["en"]


# REDCap ------------------------------------------------------------------------------------


def test_redcap_dictionary_in_spanish_keeps_names_and_codes(app, tmp_path):
    english = read_csv(export(app, tmp_path, "redcap-dictionary")[0])
    spanish = read_csv(export(app, tmp_path, "redcap-dictionary", language="es")[0])
    name = "Variable / Field Name"
    choices = "Choices, Calculations, OR Slider Labels"
    assert [row[name] for row in spanish] == [row[name] for row in english]
    by_name = {row[name]: row for row in spanish}
    assert by_name["pt_val_1"]["Field Label"] == SPANISH.item("pt_val_1").text
    assert by_name["pt_abi_3"][choices].endswith("| -7, No me aplica")
    assert by_name["pt_val_1"][choices].startswith("1, Muy en desacuerdo | 2, En desacuerdo")
    header = by_name[SPANISH.form("patient").items[0].id]["Section Header"]
    assert header.startswith(SPANISH.form("patient").sections[0].heading)
    codes = [c.split(",")[0] for c in by_name["pt_abi_3"][choices].split(" | ")]
    english_codes = [
        c.split(",")[0] for c in {r[name]: r for r in english}["pt_abi_3"][choices].split(" | ")
    ]
    assert codes == english_codes


# The JSON API ------------------------------------------------------------------------------


def test_the_api_gives_a_form_in_a_language_with_its_status(app, client):
    from .exchange import add_user, api_token

    add_user(app, "admin@example.org", "admin")
    headers = {"Authorization": f"Bearer {api_token(app, 'admin@example.org')}"}
    spanish = client.get("/api/v1/forms/patient?language=es", headers=headers).json
    assert (spanish["language"], spanish["translation"]) == ("es", "draft")
    assert spanish["sections"][0]["items"][0]["text"] == SPANISH.item("pt_val_1").text
    english = client.get("/api/v1/forms/patient", headers=headers).json
    assert (english["language"], english["translation"]) == ("en", "source")
    bad = client.get("/api/v1/forms/patient?language=fr", headers=headers)
    assert bad.status_code == 400 and "language='fr': expected one of en, es" in bad.text
