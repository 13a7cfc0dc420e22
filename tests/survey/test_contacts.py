"""Patients' addresses: encrypted at rest, readable with the key, erased when the invitation
closes (submitted, revoked, expired, opted out)."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from survey.delivery.contacts import (
    ContactError,
    attach_contact,
    erase_closed_contacts,
    normalise_address,
    read_contact,
)
from survey.delivery.models import InvitationContact
from survey.extensions import db
from survey.invitations import find_invitation
from survey.models import Invitation, InvitationState, utcnow

ADDRESS = "ana.diaz@example.org"


def _token(url: str) -> str:
    return url.rsplit("/", 1)[-1]


def _attach(app, url):
    with app.app_context():
        invitation = find_invitation(_token(url))
        attach_contact(invitation, token=_token(url), address=ADDRESS)
        db.session.commit()
        return invitation.id


def _stored_bytes(app) -> str:
    """Every contact column as the database holds it."""
    with app.app_context():
        rows = db.session.execute(sa.text("SELECT * FROM invitation_contact")).all()
        return repr(rows)


def test_the_address_is_stored_encrypted_and_reads_back(app, dyad_links):
    invitation_id = _attach(app, dyad_links.patient_url)
    assert ADDRESS not in _stored_bytes(app)
    assert _token(dyad_links.patient_url) not in _stored_bytes(app)
    with app.app_context():
        contact = db.session.scalar(sa.select(InvitationContact))
        assert contact.invitation_id == invitation_id
        assert read_contact(contact) == (ADDRESS, _token(dyad_links.patient_url))


def test_a_different_key_cannot_read_the_address(app, dyad_links):
    _attach(app, dyad_links.patient_url)
    app.config["HEALING_SURVEY_CONTACT_KEY"] = "0" * 43 + "="
    with app.app_context(), pytest.raises(ContactError, match="HEALING_SURVEY_CONTACT_KEY"):
        read_contact(db.session.scalar(sa.select(InvitationContact)))


def test_submitting_erases_the_address_in_the_same_commit(app, dyad_links, patient):
    _attach(app, dyad_links.patient_url)
    patient.answer_all()
    assert patient.submit().status_code == 302
    assert _stored_bytes(app) == "[]"


@pytest.mark.parametrize("closing", ["revoked", "expired", "opted_out"])
def test_the_sweep_erases_every_closed_invitations_address(app, dyad_links, closing):
    invitation_id = _attach(app, dyad_links.patient_url)
    _attach(app, dyad_links.clinician_url)
    with app.app_context():
        invitation = db.session.get(Invitation, invitation_id)
        if closing == "revoked":
            invitation.state = InvitationState.REVOKED
        elif closing == "expired":
            invitation.expires_at = utcnow() - timedelta(seconds=1)
        else:
            invitation.opted_out_at = utcnow()
        db.session.commit()
        assert erase_closed_contacts() == 1
        left = db.session.scalars(sa.select(InvitationContact.invitation_id)).all()
    assert left and invitation_id not in left


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("", "empty"),
        ("ana", "not an e-mail address"),
        ("ana@example", "not an e-mail address"),
        ("ana diaz@example.org", "not an e-mail address"),
        ("ana@exa\x00mple.org", "not an e-mail address"),
        ("a" * 250 + "@example.org", "longer than 254"),
    ],
)
def test_a_bad_address_is_refused_without_repeating_it(raw, problem):
    with pytest.raises(ContactError, match=problem) as error:
        normalise_address(raw)
    assert raw.strip() == "" or raw not in str(error.value)
