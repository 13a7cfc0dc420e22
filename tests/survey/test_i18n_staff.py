"""The staff side in Spanish: every text of the staff templates is wrapped and translated, the
pages follow the browser or an explicit choice, and the choice outlives signing in."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_file
from flask import render_template
from sqlalchemy import select

from survey.extensions import db
from survey.i18n import TRANSLATIONS_DIR
from survey.models import User

from .conftest import csrf_token
from .dashboard_seed import seed_clinic
from .staff import PASSWORD, add_staff, add_user, sign_in
from .test_i18n import po_catalogue

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "survey" / "templates"
STAFF_AREAS = ("auth", "dashboard", "invitations", "exports", "audit", "staff", "site")
STAFF_TEMPLATES = [
    TEMPLATES / "_navigation.html",
    *sorted(path for area in STAFF_AREAS for path in (TEMPLATES / area).rglob("*.*")),
]
STAFF_PYTHON = [
    ROOT / "survey" / path
    for path in (
        "auth/views.py",
        "dashboard/charts.py",
        "dashboard/filters.py",
        "dashboard/pages.py",
        "invitations/views.py",
        "staff/accounts.py",
        "staff/navigation.py",
        "staff/views.py",
        "audit/log.py",
    )
]
SPANISH = {"Accept-Language": "es-ES,es;q=0.9"}


def visible_words_outside_gettext(template: str) -> list[str]:
    """Words a reader would see that no gettext call or {% trans %} block holds: the template
    without comments, trans blocks, expressions, statements, code samples and tags."""
    for pattern in (
        r"\{#.*?#\}",
        r"\{%-?\s*trans\b.*?\{%-?\s*endtrans\s*-?%\}",
        r"\{\{.*?\}\}",
        r"\{%.*?%\}",
        r"<code>.*?</code>",
        r"<[^>]*>",
    ):
        template = re.sub(pattern, " ", template, flags=re.S)
    return [
        word for word in re.findall(r"[A-Za-z][A-Za-z'-]+", template) if word != "healing-survey"
    ]


@pytest.mark.parametrize("path", STAFF_TEMPLATES, ids=lambda path: str(path.relative_to(TEMPLATES)))
def test_no_staff_template_shows_text_outside_the_catalogue(path):
    assert visible_words_outside_gettext(path.read_text()) == []


def staff_msgids() -> set[str]:
    found = set()
    keywords = dict(DEFAULT_KEYWORDS, lazy_gettext=None)
    options = {"newstyle_gettext": "true"}
    for path in STAFF_TEMPLATES + STAFF_PYTHON:
        method = "python" if path.suffix == ".py" else "jinja2"
        for _line, message, _comments, _context in extract_from_file(
            method, str(path), keywords=keywords, options=options
        ):
            found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_staff_text_has_a_spanish_translation():
    assert (TRANSLATIONS_DIR / "es" / "LC_MESSAGES" / "messages.mo").exists()
    msgids = staff_msgids()
    assert len(msgids) > 300  # the extraction found the staff side, not an empty list
    entries = {
        (entry.id if isinstance(entry.id, str) else entry.id[0]): entry
        for entry in po_catalogue("es")
        if entry.id
    }
    missing = sorted(msgid for msgid in msgids if msgid not in entries)
    assert missing == []
    strings = {msgid: entries[msgid].string for msgid in msgids}
    untranslated = sorted(
        msgid
        for msgid, string in strings.items()
        if entries[msgid].fuzzy or not all(string if isinstance(string, tuple) else [string])
    )
    assert untranslated == []


@pytest.fixture
def staff(app):
    with app.app_context():
        return add_staff()


def signed_in(app, email: str, **kwargs):
    client = app.test_client()
    assert sign_in(client, email, **kwargs).status_code == 302
    return client


def test_the_sign_in_page_follows_the_browsers_language(client):
    page = client.get("/sign-in", headers=SPANISH).text
    assert '<html lang="es">' in page
    assert "<h1>Iniciar sesión</h1>" in page
    assert "Correo electrónico</label>" in page and "Contraseña</label>" in page
    assert "¿Olvidó su contraseña?" in page
    assert "Sign in" not in page


def test_a_wrong_password_is_refused_in_spanish(app, staff, client):
    token = csrf_token(client.get("/sign-in", headers=SPANISH).text)
    refused = client.post(
        "/sign-in",
        data={"email": "manager@example.org", "password": "wrong", "csrf_token": token},
        headers=SPANISH,
    )
    assert refused.status_code == 401
    assert "no corresponden a ninguna cuenta" in refused.text


def test_a_managers_pages_in_spanish(app, staff):
    manager = signed_in(app, "manager@example.org", headers=SPANISH)
    dashboard = manager.get("/dashboard/", headers=SPANISH, follow_redirects=True).text
    for text in ("Paneles", "Invitaciones", "Exportaciones", "Administración", "Cerrar sesión"):
        assert text in dashboard
    assert "responsable de la clínica" in dashboard  # the role beside the e-mail address
    assert "Clínica en conjunto" in dashboard and "Tasa de respuesta" in dashboard
    assert "Table of these numbers" not in dashboard
    invitations = manager.get("/invitations/", headers=SPANISH).text
    assert "Imprimir tarjetas para las invitaciones marcadas" in invitations
    assert '<option value="submitted" >entregada</option>' in invitations  # the code stays
    clinicians = manager.get("/admin/clinicians", headers=SPANISH).text
    assert "Añadir un profesional clínico" in clinicians


def test_a_staff_error_message_is_in_spanish(app, staff):
    manager = signed_in(app, "manager@example.org")
    page = manager.get("/dashboard/", headers=SPANISH, follow_redirects=True)
    bad = manager.get(page.request.path + "?wave=zero", headers=SPANISH)
    assert bad.status_code == 400
    assert "No pudimos usar ese filtro" in bad.text
    assert "se esperaba un número entero a partir de 1" in bad.text


def test_the_language_link_keeps_the_page_and_its_filters(app, staff):
    admin = signed_in(app, "admin@example.org")
    english = admin.get("/admin/audit/?action=auth.sign_in", headers={"Accept-Language": "en"})
    languages = re.search(r'<nav class="languages"[^>]*>(.*?)</nav>', english.text, re.S)
    assert languages is not None
    link = re.search(r'href="([^"]+)" lang="es" hreflang="es">Español</a>', languages.group(1))
    assert link is not None
    assert link.group(1) == "/admin/audit/?action=auth.sign_in&amp;lang=es"
    chosen = admin.get("/admin/audit/?action=auth.sign_in&lang=es")
    assert ">Registro de auditoría</h1>" in chosen.text
    assert ">English</a>" in chosen.text
    # The choice beats the browser on the next pages too.
    exports = admin.get("/exports/", headers={"Accept-Language": "en"}).text
    assert "<h1>Exportaciones</h1>" in exports and "SPSS con etiquetas" in exports


def test_a_language_chosen_before_signing_in_is_kept(app, staff):
    client = app.test_client()
    assert "Iniciar sesión" in client.get("/sign-in?lang=es").text
    token = csrf_token(client.get("/sign-in").text)
    signed = client.post(
        "/sign-in",
        data={"email": "manager@example.org", "password": PASSWORD, "csrf_token": token},
    )
    assert signed.status_code == 302
    dashboard = client.get("/dashboard/", follow_redirects=True).text
    assert "Paneles" in dashboard
    signed_out = client.post(
        "/sign-out", data={"csrf_token": csrf_token(dashboard)}, follow_redirects=True
    )
    assert "Ha cerrado la sesión." in signed_out.text


def test_english_stays_the_default(app, staff):
    manager = signed_in(app, "manager@example.org")
    page = manager.get("/dashboard/", follow_redirects=True).text
    assert '<html lang="en">' in page and "Clinic overall" in page and "Paneles" not in page


def test_the_staff_e_mails_are_written_in_the_page_language(app):
    with app.test_request_context("/account/forgot", headers=SPANISH):
        body = render_template(
            "staff/mail/reset.txt", url="https://example.org/x", expires_at="2026-12-05 10:00"
        )
    assert body.startswith("Hola:")
    assert "hasta 2026-12-05 10:00 UTC" in body and "su contraseña no cambia" in body


def placeholders(text: str) -> set[str]:
    return set(re.findall(r"%\(\w+\)[sd]|%%", text))


def test_every_spanish_text_keeps_the_placeholders_of_its_msgid():
    """A translation that drops or renames a %(name)s would fail only when a Spanish page
    is rendered; this finds it at once."""
    wrong = []
    for entry in po_catalogue("es"):
        if not entry.id:
            continue
        ids = entry.id if isinstance(entry.id, tuple) else (entry.id,)
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        expected = set().union(*(placeholders(msgid) for msgid in ids))
        wrong += [ids[0] for string in strings if placeholders(string) != expected]
    assert wrong == []


def every_staff_page(staff, manager_id: int) -> list[str]:
    return [
        "/dashboard/clinics",
        f"/dashboard/clinics/{staff.clinic_a}",
        f"/dashboard/clinics/{staff.clinic_a}/comparison",
        f"/dashboard/clinicians/{staff.clinician_a1}",
        "/invitations/",
        "/invitations/new",
        "/invitations/batch",
        "/exports/",
        "/admin/",
        "/admin/clinics",
        "/admin/clinicians",
        "/admin/accounts",
        f"/admin/accounts/{manager_id}",  # the manager: nobody manages their own account
        "/admin/audit/",
        "/account/password",
    ]


def test_every_staff_page_renders_in_spanish(app, staff):
    admin = signed_in(app, "admin@example.org")
    with app.app_context():
        manager_id = db.session.scalar(select(User.id).where(User.email == "manager@example.org"))
    for path in every_staff_page(staff, manager_id):
        page = admin.get(path, headers=SPANISH)
        assert page.status_code == 200, path
        assert '<html lang="es">' in page.text and "Paneles" in page.text, path
    anonymous = app.test_client()
    for path in ("/", "/sign-in", "/account/forgot"):
        page = anonymous.get(path, headers=SPANISH)
        assert page.status_code == 200 and "Iniciar sesión" in page.text, path
    own = signed_in(app, "a1@example.org").get(
        "/dashboard/", headers=SPANISH, follow_redirects=True
    )
    assert "Sus relaciones terapéuticas" in own.text


def test_a_dashboard_with_numbers_and_charts_in_spanish(app):
    with app.app_context():
        # As in test_aggregates: blocks of 5; 10 of the 14 shown, 5 of the 9, none of the 3.
        seeded = seed_clinic("Cedar Clinic", [14, 9, 3], clinician_rate=1.0, unsubmitted=4, seed=6)
        add_user("boss@example.org", "manager", clinic_id=seeded.clinic_id)
        db.session.commit()
    boss = signed_in(app, "boss@example.org")
    page = boss.get(f"/dashboard/clinics/{seeded.clinic_id}", headers=SPANISH).text
    text = " ".join(page.split())
    assert re.search(r"\d\.\d\d a \d\.\d\d", text)  # the confidence intervals
    assert "Se mostrarán 10 o más respuestas recientes cuando su grupo esté completo." in text
    assert "puntuación media con IC del 95 %" in text  # a chart's title
    assert "<title>Invitaciones: enviadas, abiertas, empezadas, entregadas</title>" in text
    assert "Tabla de estas cifras" in text and "Table of these numbers" not in text
    comparison = boss.get(f"/dashboard/clinics/{seeded.clinic_id}/comparison", headers=SPANISH)
    assert comparison.status_code == 200
    assert "Pacientes y profesionales clínicos, lado a lado" in comparison.text
    clinician = seeded.clinician_ids[0]
    own = boss.get(f"/dashboard/clinicians/{clinician}", headers=SPANISH)
    assert own.status_code == 200 and "A lo largo del tiempo" in own.text


def test_flash_and_form_messages_in_spanish(app, staff):
    admin = signed_in(app, "admin@example.org")
    token = csrf_token(admin.get("/admin/clinics", headers=SPANISH).text)
    added = admin.post(
        "/admin/clinics",
        data={"name": "Clínica Roble", "csrf_token": token},
        headers=SPANISH,
        follow_redirects=True,
    )
    assert "Se añadió la clínica Clínica Roble." in added.text
    refused = admin.post(
        "/account/password",
        data={"current": PASSWORD, "new": "x" * 12, "again": "y" * 12, "csrf_token": token},
        headers=SPANISH,
    )
    assert refused.status_code == 400
    assert "las dos contraseñas nuevas no coinciden; vuelva a escribirlas" in refused.text


def test_the_card_code_page_has_one_language_switch_only(client):
    """The patient's page carries its own "English / Español" switch; a second navigation
    with the same name would be a duplicate landmark for a screen reader."""
    page = client.get("/s/", headers=SPANISH).text
    assert page.count('aria-label="Idioma"') == 1
    assert '<nav class="languages"' not in page


def test_a_shared_error_follows_the_page_and_stays_english_on_the_cli(app, staff):
    """survey/clinics.py serves the CLI and the pages: one msgid, the page's language on a
    page, English on the CLI (no request there)."""
    admin = signed_in(app, "admin@example.org")
    token = csrf_token(admin.get("/admin/clinics", headers=SPANISH).text)
    taken = admin.post(
        "/admin/clinics", data={"name": "Alder Clinic", "csrf_token": token}, headers=SPANISH
    )
    assert taken.status_code == 400
    assert "ya existe una clínica llamada &#39;Alder Clinic&#39;; elija otro nombre" in taken.text
    cli = app.test_cli_runner().invoke(args=["clinic", "add", "Alder Clinic"])
    assert cli.exit_code != 0
    assert "a clinic named 'Alder Clinic' already exists; choose another name" in cli.output


def test_an_appointment_list_problem_is_in_spanish(app, staff):
    manager = signed_in(app, "manager@example.org")
    token = csrf_token(manager.get("/invitations/batch", headers=SPANISH).text)
    content = b"reference,clinician,appointment_date\nR1,Dr. Alder One,2026-13-01\n"
    page = manager.post(
        "/invitations/batch",
        data={"appointments": (io.BytesIO(content), "list.csv"), "csrf_token": token},
        content_type="multipart/form-data",
        headers=SPANISH,
    )
    assert "línea 2: appointment_date &#39;2026-13-01&#39; no es una fecha escrita AAAA-MM-DD" in (
        page.text
    )


def test_the_clinician_term_and_consent_pages_in_spanish(app, staff):
    admin = signed_in(app, "admin@example.org")
    clinic = staff.clinic_a
    term = admin.get(f"/admin/clinics/{clinic}/clinician-term", headers=SPANISH).text
    assert "Cómo nombran los formularios de Alder Clinic al profesional" in term
    assert "“su médico”" in term and "Los formularios dicen" in term
    saved = admin.post(
        f"/admin/clinics/{clinic}/clinician-term",
        data={"term": "doctor", "csrf_token": csrf_token(term)},
        headers=SPANISH,
        follow_redirects=True,
    )
    assert "Los formularios de Alder Clinic ahora dicen «su médico»." in saved.text
    clinics = admin.get("/admin/clinics", headers=SPANISH).text
    assert "Los formularios dicen</th>" in clinics and ">su médico</option>" in clinics
    consent = admin.get(f"/admin/clinics/{clinic}/consent", headers=SPANISH).text
    assert "Información, consentimiento y retirada: Alder Clinic" in consent
    assert "Guardar plazo" in consent and "Formulario del paciente" in consent
    assert "Save period" not in consent
    dashboard = admin.get(f"/dashboard/clinics/{clinic}", headers=SPANISH).text
    assert "Idioma del paciente" in dashboard and ">español</option>" in dashboard


def test_a_consent_refusal_is_in_spanish(app, staff):
    admin = signed_in(app, "admin@example.org")
    clinic = staff.clinic_a
    page = admin.get(f"/admin/clinics/{clinic}/consent", headers=SPANISH).text
    refused = admin.post(
        f"/admin/clinics/{clinic}/withdrawal",
        data={"withdrawal_days": "soon", "form": "patient", "csrf_token": csrf_token(page)},
        headers=SPANISH,
    )
    assert refused.status_code == 400
    assert "&#39;soon&#39; no es un número entero de días" in refused.text
    cli = app.test_cli_runner().invoke(
        args=["clinic", "set-withdrawal", "Alder Clinic", "--days", "soon"]
    )
    assert "'soon' is not a whole number of days" in cli.output
