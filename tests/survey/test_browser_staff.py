"""In a real browser (Debian's chromium through Playwright): a clinic manager with no shell adds
a clinician and invites a colleague, whose set-up link arrives at a local SMTP server; the
colleague chooses a password and signs in. And a patient's answer, chosen but never sent with
Next, is still there after the tab is closed."""

from __future__ import annotations

import pytest

from survey.extensions import db
from survey.invitations import invite_dyad

from .browsing import sign_in_page
from .mailbox import link_in, running_smtp_server
from .staff import add_staff

COLLEAGUE_PASSWORD = "the colleague's own password"

pytestmark = pytest.mark.browser


@pytest.fixture
def smtp_server():
    yield from running_smtp_server()


def test_a_manager_adds_a_clinician_and_invites_a_colleague(app, browser, live_server, smtp_server):
    from playwright.sync_api import expect

    inbox, smtp_url = smtp_server
    app.config["SMTP_URL"] = smtp_url
    with app.app_context():
        add_staff()

    desk = browser.new_context(viewport={"width": 1280, "height": 900})
    desk.set_default_timeout(60_000)
    page = desk.new_page()
    sign_in_page(page, live_server + "/sign-in?next=/admin/", "manager@example.org")
    expect(page.get_by_role("heading", name="Administration")).to_be_visible()
    expect(page.get_by_role("link", name="Administration")).to_have_attribute(
        "aria-current", "page"
    )
    page.get_by_role("link", name="Clinicians").click()
    page.get_by_label("Name, as patients know them").fill("Dr. Alder Three")
    page.get_by_role("button", name="Add clinician").click()
    expect(page.locator(".flash")).to_contain_text("Dr. Alder Three added to Alder Clinic")
    expect(page.locator("table.admin-table")).to_contain_text("Dr. Alder Three")

    page.get_by_role("link", name="Administration").click()
    page.get_by_role("link", name="Staff accounts").click()
    page.get_by_label("Colleague's e-mail address").fill("three@example.org")
    page.get_by_label("Role").select_option("clinician")
    page.get_by_label("Clinician (for a clinician's own account)").select_option(
        label="Dr. Alder Three"
    )
    page.get_by_role("button", name="Invite").click()
    expect(page.locator(".flash")).to_contain_text(
        "A set-up link was e-mailed to three@example.org"
    )
    expect(page.locator("table.admin-table")).to_contain_text("invited, not set up yet")
    desk.close()

    [message] = inbox.wait_for(1)
    assert message["To"] == "three@example.org"
    link = link_in(message)
    assert link.startswith(live_server + "/account/set-up/")

    colleague = browser.new_context(viewport={"width": 360, "height": 740})
    colleague.set_default_timeout(60_000)
    page = colleague.new_page()
    page.goto(link)
    expect(page.get_by_role("heading", name="Set up your account")).to_be_visible()
    page.get_by_label("New password (12 characters or more)").fill(COLLEAGUE_PASSWORD)
    page.get_by_label("New password again").fill(COLLEAGUE_PASSWORD)
    page.get_by_role("button", name="Set my password").click()
    expect(page.get_by_text("Your password is set. Please sign in.")).to_be_visible()
    page.fill("#email", "three@example.org")
    page.fill("#password", COLLEAGUE_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Your healing relationships", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Administration")).to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    # The link worked once.
    page.goto(link)
    expect(page.get_by_role("heading", name="This link is not active")).to_be_visible()
    colleague.close()


def test_a_chosen_answer_survives_a_closed_tab_and_can_be_cleared(app, browser, live_server):
    from playwright.sync_api import expect

    with app.app_context():
        staff = add_staff()
        links = invite_dyad(staff.clinician_a1, reference="P-17")
        db.session.remove()
    first = browser.new_context(viewport={"width": 360, "height": 740})
    page = first.new_page()
    page.goto(links.patient_url + "/1")
    question = page.locator("fieldset.item").first
    expect(question.locator(".clear-answer")).to_be_hidden()
    question.locator("label.choice").nth(3).click()
    expect(page.locator("#save-status")).to_have_text("Saved.")
    first.close()  # the tab is closed before Next

    second = browser.new_context(viewport={"width": 360, "height": 740})
    page = second.new_page()
    page.goto(links.patient_url + "/1")
    question = page.locator("fieldset.item").first
    expect(question.locator("input[type=radio]").nth(3)).to_be_checked()
    question.get_by_role("button", name="Clear answer").click()
    expect(page.locator("#save-status")).to_have_text("Saved.")
    expect(question.locator("input[type=radio]:checked")).to_have_count(0)
    page.reload()
    expect(page.locator("fieldset.item").first.locator("input:checked")).to_have_count(0)
    second.close()
