"""A Spanish-speaking patient completes the form in Spanish on a 360 px phone (headless Debian
chromium through Playwright). The screenshot goes to ``$HEALING_SURVEY_SCREENSHOTS`` when set
(the README's comes from ``HEALING_SURVEY_SCREENSHOTS=docs pytest -m browser``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import func, select

from items import SKIPPED, load_bank
from survey.extensions import db
from survey.invitations import find_invitation, invite_dyad
from survey.models import Answer

pytestmark = pytest.mark.browser

PHONE_AGENT = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Mobile Safari/537.36"
)


def test_a_spanish_speaking_patient_completes_the_form_on_a_phone(
    app, browser, live_server, clinician_id, tmp_path
):
    from playwright.sync_api import expect

    with app.app_context():
        links = invite_dyad(clinician_id, language="es")
    form = load_bank(language="es").form("patient")
    pages = len(form.sections)
    screenshots = Path(os.environ.get("HEALING_SURVEY_SCREENSHOTS") or tmp_path)
    # The phone itself is set to English: the invitation's language is what counts.
    phone = browser.new_context(
        viewport={"width": 360, "height": 740},
        user_agent=PHONE_AGENT,
        is_mobile=True,
        locale="en-US",
    )
    page = phone.new_page()
    page.goto(links.patient_url)
    assert page.get_attribute("html", "lang") == "es"
    expect(page.get_by_role("heading", name=form.title, level=1)).to_be_visible()
    expect(page.get_by_role("link", name="English")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=screenshots / "patient-welcome-es.png")
    page.get_by_role("link", name="Empezar").click()
    for part in range(1, pages + 1):
        # Wait for each new page before touching it: a click does not wait for navigation.
        expect(page.locator(".progress-text")).to_have_text(f"Parte {part} de {pages}")
        expect(page.locator("#save-hint")).to_have_text(
            "Puede dejar preguntas sin responder. Cada respuesta se guarda en cuanto la elige."
        )
        for fieldset in page.locator("fieldset.item").all():
            fieldset.locator("label.choice").nth(3).click()
        expect(page.locator("#save-status")).to_have_text("Guardado.")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        if part == 1:
            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(path=screenshots / "patient-phone-es.png")
        label = "Revisar" if part == pages else "Siguiente"
        page.get_by_role("button", name=label, exact=True).click()
    expect(page.get_by_role("heading", name="Revise sus respuestas")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.get_by_role("button", name="Enviar mis respuestas").click()
    expect(page.get_by_role("heading", name="Gracias")).to_be_visible()
    phone.close()

    with app.app_context():
        response = find_invitation(links.patient_url.rsplit("/", 1)[-1]).response
        assert response.language == "es" and response.submitted_at is not None
        answered = db.session.scalar(
            select(func.count())
            .select_from(Answer)
            .where(Answer.response_id == response.id, Answer.code.is_distinct_from(SKIPPED))
        )
    assert answered == len(form.items)
