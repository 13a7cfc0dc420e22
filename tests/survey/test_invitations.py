"""Invitations from the browser and the CLI: absolute links, one dyad wave with e-mail, the
list with its states and actions (revoke, extend, reissue), roles and CSRF."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from survey.delivery.contacts import read_contact
from survey.delivery.models import InvitationContact, OutboxMessage
from survey.extensions import db
from survey.invitations import find_invitation, invite_dyad, reissue, revoke, state_of
from survey.invitations.listing import STATES, InvitationFilter, list_invitations
from survey.models import AuditEvent, Clinician, Invitation, InvitationState

from .conftest import Respondent, csrf_token
from .staff import add_staff, sign_in

ADDRESS = "Patient.One@Example.org"


def token_of(url: str) -> str:
    return urlsplit(url).path.rsplit("/", 1)[1]


@pytest.fixture
def staff(app):
    with app.app_context():
        return add_staff()


def signed_in(app, email: str):
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    return client


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# -- links are absolute ----------------------------------------------------------------------


def test_links_start_with_base_url(app, clinician_id):
    app.config["BASE_URL"] = "https://survey.example.org/clinic/"
    with app.app_context():
        links = invite_dyad(clinician_id)
    for url in (links.patient_url, links.clinician_url):
        assert url.startswith("https://survey.example.org/clinic/s/")
        assert "//s/" not in url


def test_cli_invite_prints_absolute_links_and_refuses_zero_days(app, runner, clinician_id):
    result = runner.invoke(
        args=["invite", "--clinician", str(clinician_id), "--reference", "R-1", "--json"]
    )
    assert result.exit_code == 0, result.output
    links = json.loads(result.stdout)
    assert links["patient_url"].startswith("http://127.0.0.1:5000/s/")
    refused = runner.invoke(
        args=["invite", "--clinician", str(clinician_id), "--expires-days", "0"]
    )
    assert refused.exit_code != 0
    assert "expires days 0: expected 1 to 3650 (the default is 30)" in refused.output
    assert "Traceback" not in refused.output


def test_explicit_wave_may_leave_a_gap_and_says_so(app, clinician_id):
    with app.app_context():
        first = invite_dyad(clinician_id, reference="P-1")
        second = invite_dyad(clinician_id, reference="P-1")
        gap = invite_dyad(clinician_id, reference="P-1", wave=5)
    assert (first.wave, second.wave) == (1, 2)
    assert first.note is None and second.note is None
    assert gap.wave == 5 and gap.note == "wave 5 leaves a gap: this dyad has no waves 3-4"


# -- e-mail, revoke, extend, reissue ---------------------------------------------------------


def test_email_is_kept_encrypted_and_queued_with_the_clinicians(app, clinician_id):
    with app.app_context():
        db.session.get(Clinician, clinician_id).email = "dr.test@example.org"
        db.session.commit()
        links = invite_dyad(clinician_id, email=ADDRESS, language="en", email_clinician=True)
        patient = db.session.get(Invitation, links.patient_invitation)
        assert patient.language == "en"
        contact = db.session.scalar(
            select(InvitationContact).where(InvitationContact.invitation_id == patient.id)
        )
        assert read_contact(contact) == ("Patient.One@example.org", token_of(links.patient_url))
        kinds = {
            (m.invitation_id, m.kind, m.sequence) for m in db.session.scalars(select(OutboxMessage))
        }
        assert kinds == {
            (links.patient_invitation, "invitation", 0),
            (links.clinician_invitation, "clinician-invitation", 0),
        }


def test_unknown_language_and_bad_address_store_nothing(app, clinician_id):
    from survey.invitations import InvitationError

    with app.app_context():
        with pytest.raises(InvitationError, match="language 'fr': expected one of en, es"):
            invite_dyad(clinician_id, language="fr")
        with pytest.raises(InvitationError, match="not an e-mail address"):
            invite_dyad(clinician_id, email="nobody@nowhere")
        assert count(Invitation) == 0


def test_revoke_erases_the_contact_and_closes_the_link(app, client, clinician_id):
    with app.app_context():
        links = invite_dyad(clinician_id, email=ADDRESS)
        revoke(links.patient_invitation)
        assert count(InvitationContact) == 0
        message = db.session.scalar(select(OutboxMessage))
        assert message.status == "cancelled"
        assert state_of(db.session.get(Invitation, links.patient_invitation)) == "revoked"
    assert client.get(links.patient_url).status_code == 410


def test_reissue_stops_the_old_link_and_keeps_saved_answers(app, clinician_id):
    with app.app_context():
        links = invite_dyad(clinician_id, email=ADDRESS)
    old = Respondent(app.test_client(), links.patient_url, "patient")
    first = old.form.sections[0]
    assert old.post_page(1, {item.id: "4" for item in first.items}).status_code == 302
    with app.app_context():
        reissued = reissue(links.patient_invitation)
        contact = db.session.scalar(select(InvitationContact))
        assert read_contact(contact)[1] == token_of(reissued.url)
        sequences = sorted(m.sequence for m in db.session.scalars(select(OutboxMessage)))
        assert sequences == [-1, 0]
        assert find_invitation(token_of(links.patient_url)) is None
    assert app.test_client().get(links.patient_url).status_code == 404
    new = Respondent(app.test_client(), reissued.url, "patient")
    page = new.client.get(new.page_url(1)).text
    assert page.count("checked") >= len(first.items)  # the answers saved under the old link


def test_extend_reopens_an_expired_link(app, client, clinician_id):
    from survey.invitations import extend

    with app.app_context():
        links = invite_dyad(clinician_id)
        invitation = db.session.get(Invitation, links.patient_invitation)
        invitation.expires_at = invitation.created_at - timedelta(days=1)
        db.session.commit()
        assert state_of(invitation) == "expired"
    assert client.get(links.patient_url).status_code == 410
    with app.app_context():
        extend(links.patient_invitation, 7)
    assert client.get(links.patient_url).status_code == 200


def test_cli_revoke_extend_reissue_list(app, runner, clinician_id):
    with app.app_context():
        links = invite_dyad(clinician_id, reference="R-9")
    invitation = str(links.patient_invitation)
    extended = runner.invoke(args=["invitation", "extend", invitation, "--days", "10"])
    assert extended.exit_code == 0 and "valid until" in extended.output
    reissued = runner.invoke(args=["invitation", "reissue", invitation])
    assert reissued.exit_code == 0
    assert reissued.output.strip().startswith("http://127.0.0.1:5000/s/")
    revoked = runner.invoke(args=["invitation", "revoke", invitation])
    assert revoked.exit_code == 0
    again = runner.invoke(args=["invitation", "revoke", invitation])
    assert again.exit_code != 0
    assert f"invitation {invitation} is revoked: it cannot be revoked" in again.output
    missing = runner.invoke(args=["invitation", "reissue", "999999"])
    assert "no invitation with id 999999" in missing.output and "Traceback" not in missing.output
    listed = runner.invoke(args=["invitation", "list", "--state", "revoked", "--json"])
    records = json.loads(listed.output)
    assert [r["id"] for r in records] == [links.patient_invitation]
    bad = runner.invoke(args=["invitation", "list", "--state", "lost"])
    assert bad.exit_code != 0 and "--state 'lost'" in bad.output


def test_every_state_is_computed_and_filtered_alike(app, clinician_id):
    with app.app_context():
        made = [invite_dyad(clinician_id).patient_invitation for _ in STATES]
        rows = [db.session.get(Invitation, i) for i in made]
        now = rows[0].created_at
        rows[1].sent_at = now
        rows[2].state = InvitationState.OPENED
        rows[3].state = InvitationState.STARTED
        rows[4].state = InvitationState.SUBMITTED
        rows[5].expires_at = now - timedelta(days=1)
        rows[6].state = InvitationState.REVOKED
        rows[7].bounced_at = now
        rows[8].opted_out_at = now
        db.session.commit()
        assert [state_of(row) for row in rows] == list(STATES)
        for state, invitation_id in zip(STATES, made, strict=True):
            listed = list_invitations(InvitationFilter(state=state, form="patient"))
            assert [row.id for row in listed.rows] == [invitation_id], state


# -- the pages -------------------------------------------------------------------------------


def test_roles_on_every_invitation_page(app, staff):
    with app.app_context():
        links = invite_dyad(staff.clinician_a1)
    pages = ["/invitations/", "/invitations/new", "/invitations/batch", "/invitations/cards?ids=1"]
    for email in ("a1@example.org", "researcher@example.org"):
        client = signed_in(app, email)
        for path in pages:
            assert client.get(path).status_code == 403, (email, path)
        token = csrf_token(client.get("/dashboard/", follow_redirects=True).text)
        for action in ("revoke", "reissue", "extend"):
            response = client.post(
                f"/invitations/{links.patient_invitation}/{action}",
                data={"csrf_token": token, "days": "3"},
            )
            assert response.status_code == 403, (email, action)
    anonymous = app.test_client()
    for path in pages:
        assert urlsplit(anonymous.get(path).headers["Location"]).path == "/sign-in"
    for email in ("admin@example.org", "manager@example.org"):
        client = signed_in(app, email)
        for path in pages[:3]:
            assert client.get(path).status_code == 200, (email, path)


def test_manager_sees_and_acts_on_their_own_clinic_only(app, staff):
    with app.app_context():
        own = invite_dyad(staff.clinician_a1, reference="OWN-1")
        other = invite_dyad(staff.clinician_b1, reference="OTHER-1")
    client = signed_in(app, "manager@example.org")
    page = client.get("/invitations/").text
    assert "OWN-1" in page and "OTHER-1" not in page
    token = csrf_token(page)
    response = client.post(
        f"/invitations/{other.patient_invitation}/revoke", data={"csrf_token": token}
    )
    assert response.status_code == 404
    admin = signed_in(app, "admin@example.org")
    assert "OTHER-1" in admin.get("/invitations/").text
    assert own.patient_invitation


def test_actions_need_csrf(app, staff):
    with app.app_context():
        links = invite_dyad(staff.clinician_a1)
    client = signed_in(app, "manager@example.org")
    for action in ("revoke", "reissue", "extend"):
        response = client.post(f"/invitations/{links.patient_invitation}/{action}")
        assert response.status_code == 400, action
    with app.app_context():
        assert db.session.get(Invitation, links.patient_invitation).state == "pending"


def test_create_in_the_browser_then_revoke_with_audit(app, staff):
    client = signed_in(app, "manager@example.org")
    form = client.get("/invitations/new").text
    assert "Dr. Birch One" not in form  # another clinic's clinician
    response = client.post(
        "/invitations/new",
        data={
            "csrf_token": csrf_token(form),
            "clinician": str(staff.clinician_a1),
            "reference": "WEB-1",
            "email": ADDRESS,
            "language": "en",
            "expires_days": "14",
        },
    )
    assert response.status_code == 201, response.text
    assert "http://127.0.0.1:5000/s/" in response.text
    assert ADDRESS not in response.text and "example.org" not in response.text.split("<main")[1]
    listing = client.get("/invitations/?reference=WEB-1").text
    assert "e-mail on file" in listing and "Patient.One" not in listing
    with app.app_context():
        patient = db.session.scalar(select(Invitation).where(Invitation.form == "patient"))
    revoked = client.post(
        f"/invitations/{patient.id}/revoke", data={"csrf_token": csrf_token(listing)}
    )
    assert revoked.status_code == 302
    with app.app_context():
        assert count(InvitationContact) == 0
        actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"invitation.create", "invitation.revoke"} <= actions


def test_create_refuses_another_clinics_clinician_and_zero_days(app, staff):
    client = signed_in(app, "manager@example.org")
    token = csrf_token(client.get("/invitations/new").text)
    foreign = client.post(
        "/invitations/new", data={"csrf_token": token, "clinician": str(staff.clinician_b1)}
    )
    assert foreign.status_code == 400 and "choose one of your clinic" in foreign.text
    zero = client.post(
        "/invitations/new",
        data={
            "csrf_token": token,
            "clinician": str(staff.clinician_a1),
            "expires_days": "0",
            "email": ADDRESS,
        },
    )
    assert zero.status_code == 400 and "expected a whole number from 1" in zero.text
    assert ADDRESS not in zero.text
    with app.app_context():
        assert count(Invitation) == 0


def test_reissue_page_shows_the_new_absolute_link_once(app, staff):
    with app.app_context():
        links = invite_dyad(staff.clinician_a1)
    client = signed_in(app, "manager@example.org")
    token = csrf_token(client.get("/invitations/").text)
    response = client.post(
        f"/invitations/{links.patient_invitation}/reissue", data={"csrf_token": token}
    )
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "http://127.0.0.1:5000/s/" in response.text
    assert app.test_client().get(links.patient_url).status_code == 404


def test_list_filters_and_paging(app, staff):
    with app.app_context():
        for number in range(60):
            invite_dyad(staff.clinician_a1, reference=f"PG-{number:02d}")
        invite_dyad(staff.clinician_a2, reference="OTHER")
    client = signed_in(app, "manager@example.org")
    first = client.get("/invitations/?form=patient").text
    assert "61 invitation(s), page 1 of 2" in first
    second = client.get("/invitations/?form=patient&page=2").text
    assert "page 2 of 2" in second
    by_clinician = client.get(f"/invitations/?clinician={staff.clinician_a2}").text
    assert "2 invitation(s)" in by_clinician and "OTHER" in by_clinician
    bad = client.get("/invitations/?state=lost")
    assert bad.status_code == 400 and "state &#39;lost&#39;" in bad.text
    reversed_dates = client.get("/invitations/?created_from=2026-02-01&created_to=2026-01-01")
    assert reversed_dates.status_code == 400
