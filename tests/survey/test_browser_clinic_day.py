"""A clinic's day in a real browser (Debian's chromium through Playwright), the whole way: a
manager with no shell adds a clinician and invites a colleague, uploads an appointment list of 50
rows (3 bad, each named in the preview), stores the corrected list, and the sender delivers the
invitations to a real SMTP server on localhost. A patient answers from the e-mail that arrived,
another opts out from theirs, the reminders go only to the rest, and the dashboard's response
rate matches what happened."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from survey.delivery.sender import send_pending
from survey.extensions import db
from survey.models import Clinician, Invitation, InvitationState

from .browsing import answer_every_part, sign_in_page
from .conftest import Respondent
from .mailbox import link_in, running_smtp_server
from .staff import add_staff

pytestmark = pytest.mark.browser

BAD_LINES = {  # line number in the uploaded file: what the preview must say about it
    12: "Dr. Nobody",
    23: "2026-02-30",
    34: "not-an-address",
}
OPTOUT = re.compile(r"https?://\S+/o/\d+/[0-9a-f]+")


@pytest.fixture
def smtp_server():
    yield from running_smtp_server()


def appointment_list(rows: int, bad: dict[int, str]) -> str:
    """A CSV of ``rows`` appointments (lines 2..rows+1), with the bad values at ``bad``'s lines."""
    lines = ["reference,clinician,appointment_date,email,language"]
    for line in range(2, rows + 2):
        clinician = "Dr. Alder One" if line % 2 else "Dr. Alder Two"
        day, email = "2026-12-01", f"patient{line}@example.org"
        if bad.get(line) == "Dr. Nobody":
            clinician = "Dr. Nobody"
        elif bad.get(line, "").startswith("2026"):
            day = bad[line]
        elif bad.get(line):
            email = bad[line]
        lines.append(f"R-{line:03d},{clinician},{day},{email},en")
    return "\n".join(lines) + "\n"


def test_a_clinics_day_from_set_up_to_response_rate(
    app,
    browser,
    live_server,
    smtp_server,
    tmp_path,
):
    from playwright.sync_api import expect

    inbox, smtp_url = smtp_server
    app.config["SMTP_URL"] = smtp_url
    with app.app_context():
        staff = add_staff()
    desk = browser.new_context(viewport={"width": 1280, "height": 900})
    desk.set_default_timeout(60_000)
    page = desk.new_page()

    # 1. Sign in; add a clinician; invite a colleague, whose set-up link arrives by e-mail.
    sign_in_page(page, live_server + "/sign-in?next=/admin/", "manager@example.org")
    expect(page.get_by_role("heading", name="Administration")).to_be_visible()
    page.get_by_role("link", name="Clinicians").click()
    page.get_by_label("Name, as patients know them").fill("Dr. Alder Three")
    page.get_by_role("button", name="Add clinician").click()
    expect(page.locator("table.admin-table")).to_contain_text("Dr. Alder Three")
    page.goto(live_server + "/admin/")
    page.get_by_role("link", name="Staff accounts").click()
    page.get_by_label("Colleague's e-mail address").fill("colleague@example.org")
    page.get_by_label("Role").select_option("manager")
    page.get_by_role("button", name="Invite").click()
    expect(page.locator(".flash")).to_contain_text("A set-up link was e-mailed to colleague@")
    [welcome] = inbox.wait_for(1)
    assert welcome["To"] == "colleague@example.org" and "/account/set-up/" in link_in(welcome)

    # 2. Upload an appointment list of 50 rows, 3 of them bad: the preview names each one.
    listing = tmp_path / "appointments.csv"
    listing.write_text(appointment_list(50, BAD_LINES))
    page.goto(live_server + "/invitations/batch")
    page.set_input_files("input[name=appointments]", str(listing))
    page.get_by_role("button", name="Check the list").click()
    problems = page.locator("ul.problems li")
    expect(problems).to_have_count(3)
    texts = problems.all_inner_texts()
    for line in BAD_LINES:
        assert any(text.startswith(f"line {line}:") for text in texts), (line, texts)
    assert "Dr. Nobody" in texts[0] and "2026-02-30" in texts[1]
    expect(page.get_by_role("button", name=re.compile("Create"))).to_have_count(0)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Invitation)) == 0

    # ... corrected (the three bad rows left out), it is stored in one go.
    good = [
        line
        for i, line in enumerate(appointment_list(50, BAD_LINES).splitlines())
        if i + 1 not in BAD_LINES
    ]
    listing.write_text("\n".join(good) + "\n")
    page.goto(live_server + "/invitations/batch")
    page.set_input_files("input[name=appointments]", str(listing))
    page.get_by_role("button", name="Check the list").click()
    page.get_by_label(re.compile("E-mail each clinician")).uncheck()
    page.get_by_role("button", name="Create 47 invitations").click()
    expect(page.locator("body")).to_contain_text("47")

    # 3. The sender (healing-survey send) delivers the 47 invitations.
    with app.app_context():
        assert send_pending().sent == 47
    addresses = [f"patient{n}@example.org" for n in range(2, 52) if n + 0 not in BAD_LINES]
    assert sorted(m["To"] for m in inbox.messages[1:]) == sorted(addresses)

    # 4. One patient answers in the browser from the link in their e-mail; four more answer
    #    from theirs; another opts out from the link in their e-mail.
    [mail] = inbox.to("patient2@example.org")
    survey_link = re.search(r"https?://\S+/s/\S+", mail.get_body(("plain",)).get_content())[0]
    phone = browser.new_context(viewport={"width": 360, "height": 740})
    phone.set_default_timeout(60_000)
    patient = phone.new_page()
    patient.goto(survey_link)
    patient.get_by_role("link", name="Start").click()
    answer_every_part(patient, choice=3)
    patient.get_by_role("button", name="Send my answers").click()
    expect(patient.get_by_role("heading", name="Thank you")).to_be_visible()
    for n in (3, 4, 5, 6):
        [mail] = inbox.to(f"patient{n}@example.org")
        link = re.search(r"https?://\S+/s/\S+", mail.get_body(("plain",)).get_content())[0]
        respondent = Respondent(app.test_client(), link.removeprefix(live_server), "patient")
        respondent.answer_all()
        assert respondent.submit().status_code == 302
    [mail] = inbox.to("patient7@example.org")
    patient.goto(OPTOUT.search(mail.get_body(("plain",)).get_content())[0])
    patient.get_by_role("button", name="Yes, stop the e-mails").click()
    expect(patient.get_by_role("heading", name="You will get no more e-mails")).to_be_visible()
    phone.close()

    # 5. Three days later the reminders go to the 41 others only.
    with app.app_context():
        first_sent = db.session.scalar(sa.select(sa.func.min(Invitation.sent_at)))
        report = send_pending(now=first_sent + timedelta(days=3, minutes=1))
    reminded = [m["To"] for m in inbox.messages if m["Subject"].startswith("Reminder")]
    answered_or_out = {f"patient{n}@example.org" for n in (2, 3, 4, 5, 6, 7)}
    assert report.sent == len(reminded) == 41
    assert not answered_or_out & set(reminded)

    # 6. The dashboard's response rate matches, rounded down to the minimum cell (5).
    page.goto(live_server + f"/dashboard/clinics/{staff.clinic_a}")
    rates = page.locator("table.rates")
    with app.app_context():
        ids = [
            c.id
            for c in db.session.scalars(
                sa.select(Clinician)
                .where(Clinician.clinic_id == staff.clinic_a)
                .order_by(Clinician.id)
            )
        ]
        submitted = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Invitation)
            .where(Invitation.state == InvitationState.SUBMITTED, Invitation.form == "patient")
        )
    assert submitted == 5 and len(ids) == 3
    clinic_row = rates.locator("tr.total td").all_inner_texts()
    assert clinic_row == ["45", "40", "5", "0", "0", "11%"]
