"""End to end in a real browser: a patient completes the survey on a phone-sized screen, then a
clinic manager signs in and reads the dashboard. Headless Debian chromium through Playwright.

Screenshots go to ``$HEALING_SURVEY_SCREENSHOTS`` when set (the README's come from
``HEALING_SURVEY_SCREENSHOTS=docs pytest -m browser``), else to a temporary directory.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from survey.aggregates import clinic_summary
from survey.demo import DEMO_CLINIC, create_demo
from survey.extensions import db
from survey.models import Clinic

from .browsing import answer_every_part
from .staff import add_user

PHONE_AGENT = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Mobile Safari/537.36"
)

pytestmark = pytest.mark.browser


@pytest.fixture
def screenshots(tmp_path) -> Path:
    target = os.environ.get("HEALING_SURVEY_SCREENSHOTS")
    path = Path(target) if target else tmp_path
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def demo_clinic(app):
    with app.app_context():
        demo = create_demo(dyads=150, seed=2008)
        clinic_id = db.session.scalar(select(Clinic.id).where(Clinic.name == DEMO_CLINIC))
        add_user("manager@demo.example", "manager", clinic_id=clinic_id)
        db.session.commit()
        return demo.patient_url, clinic_id


def complete_on_phone(browser, url: str, screenshots: Path, expect) -> None:
    phone = browser.new_context(
        viewport={"width": 360, "height": 740}, user_agent=PHONE_AGENT, is_mobile=True
    )
    page = phone.new_page()
    page.goto(url)
    page.get_by_role("link", name="Start").click()

    def check_part(part: int) -> None:
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        if part == 2:
            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(path=screenshots / "patient-phone.png")

    answer_every_part(page, choice=3, on_part=check_part)
    expect(page.get_by_role("heading", name="Check your answers")).to_be_visible()
    page.get_by_role("button", name="Send my answers").click()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    phone.close()


def test_patient_answers_on_a_phone_and_the_manager_sees_the_dashboard(
    app, browser, live_server, demo_clinic, screenshots
):
    from playwright.sync_api import expect

    patient_url, clinic_id = demo_clinic
    complete_on_phone(browser, live_server + urlsplit(patient_url).path, screenshots, expect)

    desk = browser.new_context(viewport={"width": 1280, "height": 900})
    page = desk.new_page()
    page.goto(live_server + "/dashboard/")
    assert "/sign-in" in page.url
    page.fill("#email", "manager@demo.example")
    page.fill("#password", "a long enough test password")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**/dashboard/clinics/{clinic_id}")
    expect(page.get_by_role("heading", name=DEMO_CLINIC, level=1)).to_be_visible()
    assert page.locator("svg.chart").count() >= 13  # 6 score charts, 6 trends, the funnel

    with app.app_context():
        summary = clinic_summary(clinic_id, min_cell=5)
    submitted = page.locator("table.funnel tr", has_text="Submitted").inner_text()
    assert str(summary["funnel"]["submitted"]) in submitted
    overall = page.locator("table.overall tr", has_text="Trust").inner_text()
    assert f"{summary['overall']['trust']['mean']:.2f}" in overall
    page.locator("details summary").first.click()
    expect(page.locator("details[open] table").first).to_be_visible()
    page.screenshot(path=screenshots / "dashboard.png", full_page=True)

    page.get_by_role("link", name="Patients and clinicians compared").click()
    heading = page.get_by_role("heading", name="Patients and clinicians, side by side")
    expect(heading).to_be_visible()
    expect(page.locator(".standout").first).to_be_visible()
    page.screenshot(path=screenshots / "comparison.png", full_page=True)

    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(live_server + f"/dashboard/clinics/{clinic_id}")
    expect(page.get_by_role("heading", name=DEMO_CLINIC, level=1)).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=screenshots / "dashboard-phone.png", full_page=False)
    desk.close()
