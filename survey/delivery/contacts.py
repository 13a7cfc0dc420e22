"""Patients' e-mail addresses: checked, encrypted at rest, and erased when the invitation closes.

The key comes from ``HEALING_SURVEY_CONTACT_KEY`` (a Fernet key: 32 url-safe base64 bytes), never
from the database, so a copy of the database alone reveals no address. An invitation closes when
it is submitted, revoked, expired or opted out; :func:`erase_contact` and
:func:`erase_closed_contacts` delete the address (and the link's token kept with it) and cancel
the messages not yet sent.
"""

from __future__ import annotations

import re
from datetime import datetime

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app
from flask_babel import gettext
from sqlalchemy import delete, or_, select, update

from survey.delivery.models import InvitationContact, MessageStatus, OutboxMessage
from survey.extensions import db
from survey.models import Invitation, InvitationState, utcnow

MAX_ADDRESS_LENGTH = 254  # RFC 5321's limit on a forward path
_ADDRESS = re.compile(r"[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f.]+(?:\.[^@\s\x00-\x1f\x7f.]+)+")


class ContactError(ValueError):
    """An address that cannot be used; the message says what is wrong without repeating it.

    Messages go through gettext: an appointment-list row shows them in the staff page's
    language, the CLI (no request) in English."""


def normalise_address(raw: str) -> str:
    """The address as it will be used: trimmed, the domain in lower case.

    Examples
    --------
    >>> normalise_address("  Ana.Diaz@Example.ORG ")
    'Ana.Diaz@example.org'
    >>> normalise_address("ana@example")
    Traceback (most recent call last):
    ...
    survey.delivery.contacts.ContactError: not an e-mail address (expected name@example.org)
    """
    address = (raw or "").strip()
    if not address:
        raise ContactError(gettext("the e-mail address is empty"))
    if len(address) > MAX_ADDRESS_LENGTH:
        raise ContactError(
            gettext(
                "the e-mail address is longer than %(limit)d characters", limit=MAX_ADDRESS_LENGTH
            )
        )
    if not _ADDRESS.fullmatch(address):
        raise ContactError(gettext("not an e-mail address (expected name@example.org)"))
    local, domain = address.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


def _cipher() -> Fernet:
    return Fernet(current_app.config["HEALING_SURVEY_CONTACT_KEY"])


def attach_contact(invitation: Invitation, *, token: str, address: str) -> InvitationContact:
    """Keep ``address`` (checked) and the link's ``token`` encrypted for ``invitation``.

    The caller commits, with the invitation, in one transaction.
    """
    cipher = _cipher()
    contact = InvitationContact(
        invitation=invitation,
        address_encrypted=cipher.encrypt(normalise_address(address).encode()).decode(),
        token_encrypted=cipher.encrypt(token.encode()).decode(),
    )
    db.session.add(contact)
    return contact


def read_contact(contact: InvitationContact) -> tuple[str, str]:
    """The address and the link's token, decrypted; raises ContactError on a foreign key."""
    cipher = _cipher()
    try:
        address = cipher.decrypt(contact.address_encrypted.encode()).decode()
        token = cipher.decrypt(contact.token_encrypted.encode()).decode()
    except InvalidToken:
        raise ContactError(
            f"the contact of invitation {contact.invitation_id} cannot be decrypted with "
            "HEALING_SURVEY_CONTACT_KEY: was the key changed?"
        ) from None
    return address, token


def erase_contact(invitation_id: int) -> None:
    """Delete the invitation's address and cancel its unsent messages (the caller commits)."""
    db.session.execute(
        delete(InvitationContact).where(InvitationContact.invitation_id == invitation_id)
    )
    db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.invitation_id == invitation_id,
            OutboxMessage.status == MessageStatus.QUEUED,
        )
        .values(status=MessageStatus.CANCELLED)
    )


def closed_invitations(now: datetime | None = None):
    """A select of the ids of invitations that are closed but may still have a contact."""
    now = now or utcnow()
    return select(Invitation.id).where(
        or_(
            Invitation.state.in_([InvitationState.SUBMITTED, InvitationState.REVOKED]),
            Invitation.expires_at <= now,
            Invitation.opted_out_at.is_not(None),
        )
    )


def erase_closed_contacts(now: datetime | None = None) -> int:
    """Erase every contact whose invitation has closed; returns how many were erased.

    Submission, revocation and opt-out erase their contact at once; this sweep catches the
    invitations that expired, and runs with every ``healing-survey send``.
    """
    closed = closed_invitations(now)
    erased = db.session.execute(
        delete(InvitationContact).where(InvitationContact.invitation_id.in_(closed))
    ).rowcount
    db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.invitation_id.in_(closed), OutboxMessage.status == MessageStatus.QUEUED
        )
        .values(status=MessageStatus.CANCELLED)
    )
    db.session.commit()
    return erased
