"""In a real browser: a clinic manager switches the staff pages to Spanish with the link in the
navigation (no script needed), works in Spanish, and keeps the language after signing out."""

from __future__ import annotations

import pytest

from .browsing import sign_in_page
from .staff import add_staff

pytestmark = pytest.mark.browser


def test_a_manager_switches_the_staff_pages_to_spanish(app, browser, live_server):
    from playwright.sync_api import expect

    with app.app_context():
        add_staff()
    desk = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    desk.set_default_timeout(60_000)
    page = desk.new_page()
    sign_in_page(page, live_server + "/sign-in", "manager@example.org")
    page.get_by_role("link", name="Administration").click()
    page.get_by_role("navigation", name="Language").get_by_role("link", name="Español").click()

    expect(page.get_by_role("heading", name="Administración")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "es")
    page.get_by_role("link", name="Profesionales clínicos", exact=True).click()
    page.get_by_label("Nombre, tal como lo conocen los pacientes").fill("Dra. Alder Tres")
    page.get_by_role("button", name="Añadir profesional clínico").click()
    expect(page.locator(".flash")).to_contain_text("Dra. Alder Tres se añadió a Alder Clinic")

    page.get_by_role("button", name="Cerrar sesión").click()
    expect(page.get_by_text("Ha cerrado la sesión.")).to_be_visible()
    page.get_by_role("navigation", name="Idioma").get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    desk.close()
