"""Consent and withdrawal in a real browser (Debian's chromium through Playwright): a manager
turns on the consent question for the patient form; on a phone, one patient declines (nothing
is stored but a count), another agrees, answers, sends, and then takes the answers back from
the same link (the rows are deleted, a count stays)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from survey.consent import withdrawal
from survey.consent.models import ConsentDeclineCount, ConsentText
from survey.extensions import db
from survey.invitations import invite_dyad
from survey.models import Answer, Response

from .browsing import answer_every_part, sign_in_page
from .staff import add_staff

pytestmark = pytest.mark.browser

PHONE_AGENT = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Mobile Safari/537.36"
)


def phone_page(browser):
    context = browser.new_context(
        viewport={"width": 360, "height": 740}, user_agent=PHONE_AGENT, is_mobile=True
    )
    return context, context.new_page()


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_one_patient_declines_another_consents_and_later_withdraws(
    app, browser, live_server, tmp_path
):
    from playwright.sync_api import expect

    screenshots = Path(os.environ.get("HEALING_SURVEY_SCREENSHOTS") or tmp_path)

    with app.app_context():
        staff = add_staff()
        clinician_id = staff.clinician_a1
        declining, consenting = invite_dyad(clinician_id), invite_dyad(clinician_id)

    # The manager turns the consent question on, in the staff administration.
    desk = browser.new_context(viewport={"width": 1280, "height": 900})
    page = desk.new_page()
    sign_in_page(page, live_server + "/sign-in?next=/admin/", "manager@example.org")
    expect(page.get_by_role("heading", name="Administration")).to_be_visible()
    page.get_by_role("link", name="Information, consent and withdrawal").click()
    expect(page.get_by_role("heading", name=re.compile("Alder Clinic"))).to_be_visible()
    page.get_by_label("Ask the consent question").check()
    page.screenshot(path=screenshots / "consent-editor.png", full_page=True)
    page.get_by_role("button", name="Save as version 1").click()
    expect(page.get_by_text("Saved as version 1")).to_be_visible()
    desk.close()
    with app.app_context():
        text = db.session.scalar(select(ConsentText))
        assert (text.version, text.ask_consent) == (1, True)

    # The first patient reads the information and says no.
    phone, page = phone_page(browser)
    page.goto(declining.patient_url)
    expect(page.get_by_role("heading", name="Before you start")).to_be_visible()
    page.screenshot(path=screenshots / "consent-phone.png", full_page=True)
    page.get_by_label("No, I do not want to take part").check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("No answers were saved")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    phone.close()
    with app.app_context():
        assert count(Response) == 0
        assert db.session.get(ConsentDeclineCount, text.id).declines == 1

    # The second patient, in Spanish, agrees, answers every part and sends.
    phone, page = phone_page(browser)
    page.goto(consenting.patient_url)
    page.get_by_role("link", name="Español").click()
    expect(page.get_by_role("heading", name="Antes de empezar")).to_be_visible()
    page.get_by_label("Sí, estoy de acuerdo").check()
    page.get_by_role("button", name="Continuar").click()
    answer_every_part(page, choice=2, progress="Parte {part} de 6")
    page.get_by_role("button", name="Enviar mis respuestas").click()
    expect(page.get_by_role("heading", name="Gracias")).to_be_visible()
    with app.app_context():
        response = db.session.scalar(select(Response))
        assert (response.consent_text_id, response.consent_answer) == (text.id, "agreed")
        assert count(Answer) > 0

    # Later, from the same link, the patient takes the answers back (still in Spanish).
    page.goto(consenting.patient_url)
    page.get_by_role("link", name="retirar sus respuestas").click()
    expect(page.get_by_role("heading", name="Retirar sus respuestas")).to_be_visible()
    page.screenshot(path=screenshots / "withdraw-phone.png", full_page=True)
    page.get_by_role("button", name="Retirar mis respuestas").click()
    expect(page.get_by_role("heading", name="¿Está seguro?")).to_be_visible()
    page.get_by_role("button", name="Sí, eliminar mis respuestas").click()
    expect(page.get_by_role("heading", name="Sus respuestas se eliminaron")).to_be_visible()
    page.goto(consenting.patient_url)
    expect(page.get_by_role("heading", name="Respuestas eliminadas")).to_be_visible()
    phone.close()
    with app.app_context():
        assert count(Response) == 0 and count(Answer) == 0
        assert withdrawal.withdrawals(staff.clinic_a) == {"patient": 1}
