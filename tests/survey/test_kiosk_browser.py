"""The waiting-room tablet in a real browser (headless Debian chromium): a manager unlocks it,
a patient answers, the tablet returns to its start page, and going Back through the history
never shows that patient's answers."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from survey.extensions import db
from survey.invitations import invite_dyad
from survey.models import Wave

from .browsing import answer_every_part, sign_in_page
from .staff import add_staff

pytestmark = pytest.mark.browser


def todays(clinician_id: int, reference: str) -> None:
    links = invite_dyad(clinician_id, reference=reference)
    wave = db.session.scalar(
        select(Wave).where(Wave.dyad_id == links.dyad, Wave.number == links.wave)
    )
    wave.appointment_on = date.today()
    db.session.commit()


def test_tablet_returns_to_start_and_history_shows_no_answers(app, browser, live_server):
    from playwright.sync_api import expect

    with app.app_context():
        staff = add_staff()
        todays(staff.clinician_a1, "KIOSK-1")
        todays(staff.clinician_a2, "KIOSK-2")
    tablet = browser.new_context(viewport={"width": 800, "height": 1200})
    page = tablet.new_page()
    page.goto(live_server + "/kiosk/")
    expect(page.get_by_role("heading", name="This tablet is locked")).to_be_visible()
    assert "KIOSK-1" not in page.content()

    sign_in_page(page, live_server + "/sign-in?next=/kiosk/", "manager@example.org")
    page.wait_for_url("**/kiosk/")
    page.get_by_role("button", name="Unlock for today").click()
    expect(page.get_by_role("heading", name="Welcome to Alder Clinic")).to_be_visible()

    page.get_by_role("button", name="KIOSK-1").click()
    page.get_by_role("link", name="Start").click()
    answer_every_part(page, choice=3)
    expect(page.get_by_role("heading", name="Check your answers")).to_be_visible()
    page.get_by_role("button", name="Send my answers").click()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    page.get_by_role("link", name="Hand the tablet back").click()
    expect(page.get_by_role("heading", name="Welcome to Alder Clinic")).to_be_visible()
    expect(page.get_by_role("button", name="KIOSK-2")).to_be_visible()
    assert page.get_by_role("button", name="KIOSK-1").count() == 0

    # The next person presses Back again and again: no page shows an answer or the review.
    seen = []
    for _ in range(12):
        if not page.evaluate("window.history.length > 1"):
            break
        page.go_back(wait_until="load")
        seen.append(page.url)
        assert page.locator("input[type=radio]:checked").count() == 0, page.url
        assert page.get_by_role("heading", name="Check your answers").count() == 0, page.url
        assert page.get_by_role("button", name="Send my answers").count() == 0, page.url
    assert any("/s/" in url for url in seen)  # the history did reach the answer pages
    # The staff member's session ended on the tablet when it was unlocked.
    page.goto(live_server + "/dashboard/")
    assert "/sign-in" in page.url
    tablet.close()
