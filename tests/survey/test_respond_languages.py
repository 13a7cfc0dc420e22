"""A patient answers in their language: which one, every word of it, and what is stored."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from functools import cache
from urllib.parse import urljoin

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import select

from items import load_bank
from survey.delivery.messages import MessageContext, render
from survey.extensions import db
from survey.i18n import TRANSLATIONS_DIR
from survey.invitations import find_invitation, invite_dyad
from survey.models import Dyad, Invitation, Wave

from .conftest import Respondent, csrf_token
from .staff import add_staff, sign_in

SPANISH = {"Accept-Language": "es-MX,es;q=0.9"}
ENGLISH = {"Accept-Language": "en-US,en;q=0.9"}
# Attributes whose text a person reads or hears, and the save messages autosave.js shows.
READ_ATTRIBUTES = re.compile(
    r"\s(?:aria-label|title|alt|placeholder|data-hint|data-saving|data-saved|data-not-saved|"
    r'data-offline)="([^"]*)"'
)


def visible_text(page: str) -> str:
    """The words of a page a person reads: its text and read-out attributes, unescaped."""
    attributes = " ".join(READ_ATTRIBUTES.findall(page))
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    body = re.sub(r"<[^>]+>", " ", body)
    return html.unescape(f"{body} {attributes}")


@cache
def english_fragments() -> frozenset[str]:
    """Each English catalogue text whose Spanish differs, cut at its placeholders and tags, and
    every English text of the item bank the Spanish bank says otherwise."""
    with open(TRANSLATIONS_DIR / "es" / "LC_MESSAGES" / "messages.po", "rb") as file:
        catalogue = read_po(file, locale="es")
    fragments = set()
    for message in catalogue:
        if not message.id:
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        for msgid in ids:
            if msgid in strings:
                continue
            for piece in re.split(r"%\(\w+\)[sd]|<[^>]+>", msgid):
                if len(piece.strip(" .,:;()")) >= 4:
                    fragments.add(piece.strip())
    english, spanish = load_bank(), load_bank(language="es")
    for form_id, form in english.forms.items():
        spanish_form = spanish.form(form_id)
        for text, translated in [
            (form.title, spanish_form.title),
            (form.intro, spanish_form.intro),
            (form.who_sees, spanish_form.who_sees),
            *[
                (s.heading, t.heading)
                for s, t in zip(form.sections, spanish_form.sections, strict=True)
            ],
            *[(i.text, spanish_form.item(i.id).text) for i in form.items],
            *[
                (o.label, p.label)
                for i in form.items
                for o, p in zip(i.scale.options, spanish_form.item(i.id).scale.options, strict=True)
            ],
        ]:
            if text and text != translated:
                fragments.add(text)
    return frozenset(fragments)


def english_leaks(page: str, *data: str) -> list[str]:
    """The English texts on a page, leaving out ``data`` (names a clinic chose, e.g. "Alder
    Clinic", which may contain an English word of the catalogue)."""
    text = visible_text(page)
    for name in data:
        text = text.replace(name, " ")
    return sorted(
        fragment
        for fragment in english_fragments()
        if re.search(rf"(?<!\w){re.escape(fragment)}(?!\w)", text)
    )


def spanish_patient(app, client, clinician_id) -> Respondent:
    with app.app_context():
        links = invite_dyad(clinician_id, language="es")
    return Respondent(client, links.patient_url, "patient")


def stored_language(app, url: str) -> str | None:
    with app.app_context():
        response = find_invitation(url.rsplit("/", 1)[-1]).response
        return None if response is None else response.language


def test_every_spanish_respondent_page_is_in_spanish(app, client, clinician_id):
    """The whole flow of an invitation in Spanish, a browser that asks for English: welcome,
    every part, a validation error, review, thank-you and the already-sent page."""
    patient = spanish_patient(app, client, clinician_id)
    spanish_form = load_bank(language="es").form("patient")
    pages = [client.get(patient.url, headers=ENGLISH)]
    assert spanish_form.title in pages[0].text
    for number, section in enumerate(spanish_form.sections, start=1):
        page = client.get(patient.page_url(number), headers=ENGLISH)
        assert section.heading in page.text and section.items[0].text in page.text
        pages.append(page)
    refused = patient.post_page(1, {spanish_form.sections[0].items[0].id: "9"})
    assert refused.status_code == 400
    pages.append(refused)
    patient.answer_all()
    pages.append(client.get(f"{patient.url}/review", headers=ENGLISH))
    thanks = patient.submit()
    pages.append(client.get(thanks.headers["Location"], headers=ENGLISH))
    pages.append(client.get(patient.url, headers=ENGLISH))  # already sent
    for page in pages:
        assert '<html lang="es">' in page.text, page.request.path
        assert english_leaks(page.text) == [], page.request.path
    assert "Gracias" in pages[-2].text and "Ya enviado" in pages[-1].text


def test_the_leak_check_finds_english(app, client, clinician_id):
    """The check above can fail: an English invitation's pages are full of catalogue texts."""
    with app.app_context():
        links = invite_dyad(clinician_id, language="en")
    page = client.get(links.patient_url, headers=SPANISH).text
    assert "Who sees your answers:" in english_leaks(page)
    assert load_bank().form("patient").intro in english_leaks(page)


def test_the_validation_message_is_in_spanish(app, client, clinician_id):
    patient = spanish_patient(app, client, clinician_id)
    item = patient.form.sections[0].items[0]
    refused = patient.post_page(1, {item.id: "9"})
    assert refused.status_code == 400
    assert "Por favor, revise sus respuestas:" in refused.text
    assert "Opción inválida." in refused.text  # WTForms' own Spanish, through Flask-WTF
    assert "Not a valid choice" not in refused.text


@pytest.mark.parametrize(
    ("invitation_language", "browser", "expected"),
    [
        (None, SPANISH, "es"),  # no language on the invitation: the browser decides
        (None, ENGLISH, "en"),
        (None, {"Accept-Language": "fr"}, "en"),  # neither offered: English
        ("es", ENGLISH, "es"),  # the invitation's language beats the browser's
        ("en", SPANISH, "en"),
    ],
)
def test_the_welcome_page_language(
    app, client, clinician_id, invitation_language, browser, expected
):
    with app.app_context():
        links = invite_dyad(clinician_id, language=invitation_language)
    page = client.get(links.patient_url, headers=browser)
    assert f'<html lang="{expected}">' in page.text
    assert load_bank(language=expected).form("patient").intro in page.text


def test_the_welcome_page_switches_language_without_javascript(app, client, clinician_id):
    with app.app_context():
        links = invite_dyad(clinician_id, language="en")
    welcome = client.get(links.patient_url, headers=ENGLISH).text
    switch = re.search(r'<a href="([^"]+)" lang="es" hreflang="es">Español</a>', welcome)
    assert switch is not None, "no link to the Spanish page"
    spanish = client.get(
        urljoin(links.patient_url, html.unescape(switch.group(1))), headers=ENGLISH
    )
    assert '<html lang="es">' in spanish.text and english_leaks(spanish.text) == []
    assert '<a href="' in spanish.text and ">English</a>" in spanish.text
    # The choice stays for the next pages of the visit.
    part = client.get(f"{links.patient_url}/1", headers=ENGLISH)
    assert '<html lang="es">' in part.text
    assert load_bank(language="es").form("patient").sections[0].heading in part.text


def test_the_response_stores_the_language_it_was_answered_in(app, client, clinician_id):
    patient = spanish_patient(app, client, clinician_id)
    patient.answer_all()
    assert stored_language(app, patient.url) == "es"
    assert patient.submit().status_code == 302
    assert stored_language(app, patient.url) == "es"

    with app.app_context():
        links = invite_dyad(clinician_id)
    switching = Respondent(app.test_client(), links.patient_url, "patient")
    switching.client.get(links.patient_url, headers=ENGLISH)
    section = switching.form.sections[0]
    switching.post_page(1, {item.id: "4" for item in section.items})
    assert stored_language(app, links.patient_url) == "en"
    switching.client.get(f"{links.patient_url}?lang=es")
    switching.answer_all()
    switching.submit()
    assert stored_language(app, links.patient_url) == "es"  # the language it was finished in


def test_a_started_response_resumes_in_its_language(app, clinician_id):
    """On another device, with another browser language: the answers started in Spanish."""
    with app.app_context():
        links = invite_dyad(clinician_id)
    first = Respondent(app.test_client(), links.patient_url, "patient")
    first.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "es"
    first.post_page(1, {first.form.sections[0].items[0].id: "5"})
    later = app.test_client().get(links.patient_url, headers=ENGLISH)
    assert '<html lang="es">' in later.text


def test_the_autosaved_answer_stores_the_language(app, client, clinician_id):
    patient = spanish_patient(app, client, clinician_id)
    page = client.get(patient.page_url(1)).text
    item = patient.form.sections[0].items[0]
    saved = client.post(
        f"{patient.url}/answer",
        data={"csrf_token": csrf_token(page), "item": item.id, "value": "3"},
    )
    assert saved.status_code == 200
    assert stored_language(app, patient.url) == "es"
    assert 'data-saved="Guardado."' in page


def test_closed_and_unknown_links_speak_the_patients_language(app, client, clinician_id):
    with app.app_context():
        links = invite_dyad(clinician_id, language="es", expires_days=1)
        invitation = find_invitation(links.patient_url.rsplit("/", 1)[-1])
        invitation.expires_at = datetime(2020, 1, 1, tzinfo=UTC)
        db.session.commit()
    expired = client.get(links.patient_url, headers=ENGLISH)
    assert expired.status_code == 410
    assert "Este enlace ya venció." in expired.text and english_leaks(expired.text) == []
    unknown = client.get("/s/no-such-token", headers=SPANISH)
    assert unknown.status_code == 404
    assert "No encontramos esta página" in unknown.text and english_leaks(unknown.text) == []


def test_enter_code_and_opt_out_pages_follow_the_browser(app, client, clinician_id):
    code_page = client.get("/s/", headers=SPANISH)
    assert "Escriba el código de su tarjeta" in code_page.text
    assert english_leaks(code_page.text) == []
    wrong = client.post(
        "/s/",
        data={"csrf_token": csrf_token(code_page.text), "code": "ZZZZZ-99999"},
        headers=SPANISH,
    )
    assert "No encontramos ese código" in wrong.text and english_leaks(wrong.text) == []
    from survey.delivery.messages import optout_signature

    with app.app_context():
        links = invite_dyad(clinician_id, language="es")
        signature = optout_signature(app.config["SECRET_KEY"], links.patient_invitation)
    optout = client.get(f"/o/{links.patient_invitation}/{signature}", headers=SPANISH)
    assert "¿Dejar de recibir correos" in optout.text and english_leaks(optout.text) == []
    done = client.post(f"/o/{links.patient_invitation}/{signature}", headers=SPANISH)
    assert "No recibirá más correos" in done.text and english_leaks(done.text) == []


def message_context(language: str | None, kind: str = "invitation") -> MessageContext:
    return MessageContext(
        message_id=7,
        kind=kind,
        language=language,
        recipient="ana@example.org",
        sender="survey@clinic.example.org",
        clinic="Riverside Health",
        clinician="Dr. Test",
        patient_reference=None,
        invited_on=datetime(2026, 12, 1, tzinfo=UTC),
        survey_url="https://survey.example.org/s/abc",
        optout_url="https://survey.example.org/o/7/def",
        expires_at=datetime(2026, 12, 31, tzinfo=UTC),
    )


def parsed(wire: bytes) -> EmailMessage:
    """A rendered message read back as a mail client would."""
    return message_from_bytes(wire, policy=policy.default)


@pytest.mark.parametrize("kind", ["invitation", "reminder"])
def test_the_email_is_in_the_patients_language(kind):
    message = parsed(render(message_context("es", kind)))
    plain = message.get_body(("plain",)).get_content()
    page = message.get_body(("html",)).get_content()
    assert "¿cómo va su atención?" in message["Subject"]
    assert "Riverside Health" in message["Subject"] and "Dr. Test" in plain
    assert "31 de diciembre de 2026" in plain
    assert "Empiece aquí: https://survey.example.org/s/abc" in plain
    assert '<html lang="es">' in page and "No recibir más correos" in page
    assert english_leaks(plain) == [] and english_leaks(page) == []


def test_an_email_without_a_language_is_english():
    message = parsed(render(message_context(None)))
    plain = message.get_body(("plain",)).get_content()
    assert message["Subject"] == "Riverside Health: how is your care going?"
    assert "December 31, 2026" in plain and "Start here:" in plain


def test_the_invitation_language_is_checked_and_kept(app, clinician_id):
    from survey.invitations import InvitationError

    with app.app_context():
        links = invite_dyad(clinician_id, language=" ES ")
        invitation = db.session.get(Invitation, links.patient_invitation)
        assert invitation.language == "es"
        with pytest.raises(InvitationError, match="language 'pt': expected one of en, es"):
            invite_dyad(clinician_id, language="pt")


@pytest.fixture
def staff(app):
    with app.app_context():
        return add_staff()


def test_staff_choose_the_language_and_see_the_translation_status(app, staff):
    manager = app.test_client()
    sign_in(manager, "manager@example.org")
    form = manager.get("/invitations/new", headers=ENGLISH).text
    assert '<option value="es"' in form and "Spanish: <strong>draft translation</strong>" in form
    made = manager.post(
        "/invitations/new",
        data={
            "csrf_token": csrf_token(form),
            "clinician": str(staff.clinician_a1),
            "language": "es",
            "expires_days": "14",
        },
    )
    assert made.status_code == 201, made.text
    with app.app_context():
        patient = db.session.scalar(select(Invitation).where(Invitation.form == "patient"))
        assert patient.language == "es"
    refused = manager.post(
        "/invitations/new",
        data={
            "csrf_token": csrf_token(form),
            "clinician": str(staff.clinician_a1),
            "language": "fr",
        },
    )
    assert refused.status_code == 400 and "expected one of en, es" in refused.text
    batch_page = manager.get("/invitations/batch").text
    assert "Spanish: <strong>draft translation</strong>" in batch_page


def test_patients_never_see_the_translation_status(app, client, clinician_id):
    patient = spanish_patient(app, client, clinician_id)
    for url in (patient.url, patient.page_url(1)):
        text = client.get(url).text.lower()
        assert "draft" not in text and "borrador" not in text


def test_the_card_is_printed_in_the_patients_language(app, staff):
    from .test_cards_kiosk import manager, print_cards

    with app.app_context():
        spanish = invite_dyad(staff.clinician_a1, reference="ES-1", language="es")
        english = invite_dyad(staff.clinician_a1, reference="EN-1", language="en")
    sheet = print_cards(manager(app), spanish.patient_invitation, english.patient_invitation).text
    card = r'<article class="card" lang="(\w+)"[^>]*>(.*?)</article>'
    cards = dict(re.findall(card, sheet, re.S))
    assert "Su clínica quiere saber cómo va su atención" in cards["es"]
    assert "Escanee el cuadro" in cards["es"] and english_leaks(cards["es"], "Alder Clinic") == []
    assert "Your clinic asks how your care is going" in cards["en"]


def test_the_kiosk_forgets_a_patients_language_for_the_next(app, staff):
    with app.app_context():
        links = invite_dyad(staff.clinician_a1, reference="KIOSK-ES")
        invitation = db.session.get(Invitation, links.patient_invitation)
        db.session.get(Wave, invitation.wave_id).appointment_on = date.today()
        db.session.commit()
    tablet = app.test_client()
    locked = tablet.get("/kiosk/", headers=SPANISH)
    assert "Esta tableta está bloqueada" in locked.text and english_leaks(locked.text) == []
    sign_in(tablet, "manager@example.org")
    tablet.post("/kiosk/unlock", data={"csrf_token": csrf_token(tablet.get("/kiosk/").text)})
    chosen = tablet.get("/kiosk/?lang=es", headers=ENGLISH)
    assert "Le damos la bienvenida" in chosen.text and "KIOSK-ES" in chosen.text
    begun = tablet.post(
        f"/kiosk/begin/{links.patient_invitation}",
        data={"csrf_token": csrf_token(chosen.text)},
        headers=ENGLISH,
    )
    welcome = tablet.get(begun.headers["Location"], headers=ENGLISH)
    assert '<html lang="es">' in welcome.text  # the patient's choice carries to the form
    back = tablet.get("/kiosk/", headers=ENGLISH)
    assert '<html lang="en">' in back.text and "Welcome to" in back.text


def test_an_appointment_list_sets_each_patients_language(app, staff, client):
    from survey.invitations import batch as batches
    from survey.models import Clinic

    content = (
        b"reference,clinician,appointment_date,email,language\n"
        b"ES-1,Dr. Alder One,2026-12-03,,es\n"
        b"EN-1,Dr. Alder One,2026-12-03,,EN\n"
        b"NONE-1,Dr. Alder One,2026-12-03,,\n"
    )
    with app.app_context():
        clinic = db.session.get(Clinic, staff.clinic_a)
        preview = batches.preview_appointments(content, clinic)
        assert not preview.problems
        batches.store_appointments(content, clinic, checksum=preview.checksum, expires_days=5)
        stored = db.session.execute(
            select(Dyad.reference, Invitation.language)
            .join(Wave, Wave.id == Invitation.wave_id)
            .join(Dyad, Dyad.id == Wave.dyad_id)
            .where(Invitation.form == "patient")
        ).all()
    assert dict(stored) == {"ES-1": "es", "EN-1": "en", "NONE-1": None}
