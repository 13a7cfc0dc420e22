"""Printed cards (QR of the absolute link, short codes), typing a code at /s/ with its throttle,
and the waiting-room tablet through the test client."""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import urlsplit

import pytest
import segno
from sqlalchemy import func, select

from survey.delivery import codes
from survey.delivery.cards import qr_svg
from survey.extensions import db
from survey.invitations import invite_dyad, reissue
from survey.models import AttemptCounter, InvitationCard, Wave

from .conftest import Respondent, csrf_token
from .staff import add_staff, sign_in

CODE = re.compile(r'<p class="code">([0-9A-Z]{5}-[0-9A-Z]{5})</p>')


@pytest.fixture
def staff(app):
    with app.app_context():
        return add_staff()


def manager(app):
    client = app.test_client()
    sign_in(client, "manager@example.org")
    return client


def print_cards(client, *ids, paper="a4"):
    token = csrf_token(client.get("/invitations/").text)
    made = client.post(
        "/invitations/cards",
        data={"csrf_token": token, "ids": [str(i) for i in ids], "paper": paper},
    )
    assert made.status_code == 302, made.text
    return client.get(made.headers["Location"])


def test_cards_carry_a_qr_of_the_absolute_link_and_a_code(app, staff):
    app.config["BASE_URL"] = "https://survey.example.org"
    with app.app_context():
        links = [invite_dyad(staff.clinician_a1, reference=f"C-{i}") for i in range(9)]
    client = manager(app)
    sheet = print_cards(client, *[link.patient_invitation for link in links], paper="letter")
    assert sheet.status_code == 200 and sheet.headers["Cache-Control"] == "no-store"
    assert '<body class="paper-letter">' in sheet.text and sheet.text.count('class="sheet"') == 2
    assert "Alder Clinic" in sheet.text
    assert "Your clinic asks how your care is going. It takes about 10 minutes." in sheet.text
    assert "http://" not in sheet.text.replace("http://www.w3.org", "")  # no outside requests
    urls = re.findall(
        r'data-invitation="\d+">\s*<div class="qr">.*?<title>([^<]+)</title>',
        sheet.text,
        flags=re.S,
    )
    assert len(urls) == 9
    for url in urls:
        assert url.startswith("https://survey.example.org/s/")
        assert str(qr_svg(url)) in sheet.text  # the SVG is segno's matrix for that exact URL
        assert segno.make(url, error="m").designator  # a valid QR symbol for the URL
    # Links known only as a hash got new tokens when carded: the old ones stop working.
    assert app.test_client().get(links[0].patient_url).status_code == 404
    for url in urls:
        assert app.test_client().get(urlsplit(url).path).status_code == 200
    codes_shown = CODE.findall(sheet.text)
    assert len(set(codes_shown)) == 9
    again = client.get(urlsplit(sheet.request.url).path + "?" + sheet.request.query_string.decode())
    assert CODE.findall(again.text) == codes_shown  # printable again, same codes
    with app.app_context():
        stored = [card.code_hash for card in db.session.scalars(select(InvitationCard))]
        assert all(c.replace("-", "") not in "".join(stored) for c in codes_shown)


def test_typing_a_code_opens_the_flow_and_reissue_replaces_it(app, staff):
    with app.app_context():
        links = invite_dyad(staff.clinician_a1, reference="T-1")
    sheet = print_cards(manager(app), links.patient_invitation)
    code = CODE.findall(sheet.text)[0]
    patient = app.test_client()
    page = patient.get("/s/")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    typed = code.lower().replace("-", " ")
    response = patient.post("/s/", data={"csrf_token": csrf_token(page.text), "code": typed})
    assert response.status_code == 302
    assert patient.get(response.headers["Location"]).status_code == 200
    with app.app_context():
        reissue(links.patient_invitation)
    again = patient.post("/s/", data={"csrf_token": csrf_token(page.text), "code": code})
    assert again.status_code == 404 and "could not find that code" in again.text


def test_code_attempts_are_throttled_per_address_and_counted_in_the_database(app, staff):
    client = app.test_client()
    token = csrf_token(client.get("/s/").text)
    statuses = [
        client.post("/s/", data={"csrf_token": token, "code": "AAAAA-AAAAA"}).status_code
        for _ in range(codes.ATTEMPTS_PER_ADDRESS_PER_MINUTE + 1)
    ]
    assert statuses == [404] * codes.ATTEMPTS_PER_ADDRESS_PER_MINUTE + [429]
    with app.app_context():
        counts = dict(db.session.execute(select(AttemptCounter.key, AttemptCounter.count)).all())
    assert counts == {"code:127.0.0.1": 11, "code:*": 11}


def test_the_site_wide_cap_holds_across_addresses(app):
    with app.test_request_context():
        allowed = [
            codes.allow_attempt(f"10.0.{i // 250}.{i % 250}", now=600.0)
            for i in range(codes.ATTEMPTS_PER_MINUTE + 5)
        ]
        assert allowed == [True] * codes.ATTEMPTS_PER_MINUTE + [False] * 5
        assert codes.allow_attempt("10.9.9.9", now=660.0)  # the next minute starts afresh
        assert db.session.scalar(select(func.sum(AttemptCounter.count))) > 0


def test_cards_need_csrf_and_a_staff_role(app, staff):
    with app.app_context():
        links = invite_dyad(staff.clinician_a1)
    client = manager(app)
    response = client.post("/invitations/cards", data={"ids": str(links.patient_invitation)})
    assert response.status_code == 400
    clinician = app.test_client()
    sign_in(clinician, "a1@example.org")
    assert clinician.get(f"/invitations/cards?ids={links.patient_invitation}").status_code == 403


def test_manager_cannot_print_another_clinics_cards(app, staff):
    with app.app_context():
        other = invite_dyad(staff.clinician_b1)
    client = manager(app)
    token = csrf_token(client.get("/invitations/").text)
    response = client.post(
        "/invitations/cards", data={"csrf_token": token, "ids": str(other.patient_invitation)}
    )
    assert response.status_code == 404


# -- the tablet ------------------------------------------------------------------------------


def todays_invitation(app, clinician_id: int, reference: str) -> int:
    with app.app_context():
        links = invite_dyad(clinician_id, reference=reference)
        wave = db.session.scalar(
            select(Wave).where(Wave.dyad_id == links.dyad, Wave.number == links.wave)
        )
        wave.appointment_on = date.today()
        db.session.commit()
        return links.patient_invitation


def test_kiosk_unlock_lists_today_then_returns_after_thanks(app, staff):
    invitation = todays_invitation(app, staff.clinician_a1, "KIOSK-1")
    todays_invitation(app, staff.clinician_b1, "OTHER-CLINIC")
    tablet = app.test_client()
    locked = tablet.get("/kiosk/")
    assert "This tablet is locked" in locked.text and "KIOSK-1" not in locked.text
    sign_in(tablet, "manager@example.org")
    unlock = csrf_token(tablet.get("/kiosk/").text)
    assert tablet.post("/kiosk/unlock", data={"csrf_token": unlock}).status_code == 302
    assert tablet.get("/dashboard/").status_code == 302  # signed out on the tablet
    start = tablet.get("/kiosk/")
    assert start.headers["Cache-Control"] == "no-store"
    assert "KIOSK-1" in start.text and "OTHER-CLINIC" not in start.text
    begun = tablet.post(f"/kiosk/begin/{invitation}", data={"csrf_token": csrf_token(start.text)})
    respondent = Respondent(tablet, begun.headers["Location"], "patient")
    assert respondent.open().headers["Cache-Control"] == "no-store"
    respondent.answer_all()
    thanks = tablet.get(respondent.submit().headers["Location"])
    assert 'href="/kiosk/">Hand the tablet back' in thanks.text
    assert 'http-equiv="refresh"' not in thanks.text  # no time limit on reading (WCAG 2.2.1)
    assert "KIOSK-1" not in tablet.get("/kiosk/").text  # submitted: off the list
    review = tablet.get(f"{respondent.url}/review")
    assert "checked" not in review.text
    lock = tablet.post("/kiosk/lock", data={"csrf_token": csrf_token(start.text)})
    assert lock.status_code == 302 and "This tablet is locked" in tablet.get("/kiosk/").text


def test_kiosk_unlock_needs_a_manager_or_admin(app, staff):
    clinician = app.test_client()
    sign_in(clinician, "a1@example.org")
    token = csrf_token(clinician.get("/dashboard/", follow_redirects=True).text)
    assert "This tablet is locked" in clinician.get("/kiosk/").text
    assert clinician.post("/kiosk/unlock", data={"csrf_token": token}).status_code == 403
    manager_client = manager(app)
    token = csrf_token(manager_client.get("/kiosk/").text)
    foreign = manager_client.post(
        "/kiosk/unlock", data={"csrf_token": token, "clinic": str(staff.clinic_b)}
    )
    assert foreign.status_code == 403
    anonymous = app.test_client()
    token = csrf_token(anonymous.get("/sign-in").text)
    assert anonymous.post("/kiosk/begin/1", data={"csrf_token": token}).status_code == 302
