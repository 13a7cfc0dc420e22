"""The languages of the app: catalogues in step with the code, and which language a page uses."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from survey.i18n import SOURCE_LANGUAGE, TRANSLATIONS_DIR, supported_languages

ROOT = Path(__file__).resolve().parents[2]
CATALOGUES = sorted(TRANSLATIONS_DIR.glob("*/LC_MESSAGES/messages.po"))
TRANSLATED = [path.parent.parent.name for path in CATALOGUES]


def source_msgids() -> set[str]:
    """Every msgid the code and templates ask for, extracted as `pybabel extract` does."""
    with open(ROOT / "babel.cfg") as config:
        method_map, options_map = parse_mapping_cfg(config)
    keywords = dict(DEFAULT_KEYWORDS, lazy_gettext=None)
    return {
        message[2] if isinstance(message[2], str) else message[2][0]
        for message in extract_from_dir(ROOT, method_map, options_map, keywords=keywords)
        if message[2]
    }


def po_catalogue(language: str):
    with open(TRANSLATIONS_DIR / language / "LC_MESSAGES" / "messages.po", "rb") as file:
        return read_po(file, locale=language)


def _key(text):
    # A plural entry's id and string are sequences (a list in a .mo, a tuple in a .po).
    return text if isinstance(text, str) else tuple(text)


def translations(catalogue) -> dict:
    """msgid -> msgstr of the entries a compiled catalogue holds (translated, not fuzzy)."""
    return {
        _key(message.id): _key(message.string)
        for message in catalogue
        if message.id and message.string and not message.fuzzy
    }


def test_there_is_a_spanish_catalogue_and_it_is_supported():
    assert "es" in TRANSLATED
    assert supported_languages() == (SOURCE_LANGUAGE, *sorted(TRANSLATED))


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_committed_mo_file_is_the_compiled_po_file(language):
    """The .mo files are committed so that `pip install` needs no build step; this fails when
    someone edits a .po file and forgets `pybabel compile -d survey/translations`."""
    mo_path = TRANSLATIONS_DIR / language / "LC_MESSAGES" / "messages.mo"
    assert mo_path.exists(), f"run: pybabel compile -d survey/translations ({mo_path} missing)"
    with open(mo_path, "rb") as file:
        compiled = read_mo(file)
    assert translations(compiled) == translations(po_catalogue(language)), (
        "the .mo file is out of date: run pybabel compile -d survey/translations"
    )


def test_the_template_holds_every_text_of_the_code():
    with open(TRANSLATIONS_DIR / "messages.pot", "rb") as file:
        template = {message.id for message in read_po(file) if message.id}
    template = {msgid if isinstance(msgid, str) else msgid[0] for msgid in template}
    assert source_msgids() == template, "run pybabel extract (README, Languages)"


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_text_is_translated_and_none_is_fuzzy(language):
    catalogue = po_catalogue(language)
    by_id = {
        (message.id if isinstance(message.id, str) else message.id[0]): message
        for message in catalogue
        if message.id
    }
    missing = sorted(source_msgids() - by_id.keys())
    assert not missing, f"not in the {language} catalogue (run pybabel update): {missing[:5]}"
    untranslated = sorted(
        key
        for key, message in by_id.items()
        if message.fuzzy
        or not all(message.string if isinstance(message.string, tuple) else [message.string])
    )
    assert not untranslated, f"untranslated or fuzzy in {language}: {untranslated[:5]}"


def test_a_page_follows_the_browsers_language(client):
    spanish = client.get("/no-such-page", headers={"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"})
    assert '<html lang="es">' in spanish.text
    assert "Ir al contenido" in spanish.text
    english = client.get("/no-such-page", headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert '<html lang="en">' in english.text
    assert "Skip to content" in english.text


def test_an_unsupported_browser_language_falls_back_to_english(client):
    page = client.get("/no-such-page", headers={"Accept-Language": "fr-FR,de;q=0.8"})
    assert '<html lang="en">' in page.text


def test_an_explicit_choice_beats_the_browser_and_is_kept(client):
    chosen = client.get("/no-such-page?lang=es", headers={"Accept-Language": "en"})
    assert '<html lang="es">' in chosen.text
    later = client.get("/no-such-page", headers={"Accept-Language": "en"})
    assert '<html lang="es">' in later.text
    back = client.get("/no-such-page?lang=en", headers={"Accept-Language": "es"})
    assert '<html lang="en">' in back.text


def test_an_unknown_choice_is_ignored(client):
    page = client.get("/no-such-page?lang=xx", headers={"Accept-Language": "es"})
    assert '<html lang="es">' in page.text
