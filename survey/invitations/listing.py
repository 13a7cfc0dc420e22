"""The list of invitations: filters, paging, and each invitation's state as a person reads it.

A state filter is translated into SQL so that paging counts the right rows; the state shown
comes from :func:`survey.invitations.service.state_of`, and both follow the same order: closed
states first (revoked, submitted, opted out, expired), then bounced, then how far the
respondent got.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_, func, not_, or_, select

from survey.delivery.models import InvitationContact
from survey.extensions import db
from survey.invitations.service import state_of
from survey.models import (
    Clinician,
    Dyad,
    Invitation,
    InvitationCard,
    InvitationState,
    Wave,
    utcnow,
)

STATES = (
    "created",
    "sent",
    "opened",
    "started",
    "submitted",
    "expired",
    "revoked",
    "bounced",
    "opted out",
)
FORMS = ("patient", "clinician-dyad", "clinician-self")


def _state_condition(state: str, now: datetime):
    revoked = Invitation.state == InvitationState.REVOKED
    submitted = Invitation.state == InvitationState.SUBMITTED
    opted_out = Invitation.opted_out_at.is_not(None)
    expired = Invitation.expires_at <= now
    bounced = Invitation.bounced_at.is_not(None)
    closed = or_(revoked, submitted)
    still_open = and_(not_(closed), not_(opted_out), not_(expired), not_(bounced))
    conditions = {
        "revoked": revoked,
        "submitted": submitted,
        "opted out": and_(not_(closed), opted_out),
        "expired": and_(not_(closed), not_(opted_out), expired),
        "bounced": and_(not_(closed), not_(opted_out), not_(expired), bounced),
        "started": and_(still_open, Invitation.state == InvitationState.STARTED),
        "opened": and_(still_open, Invitation.state == InvitationState.OPENED),
        "sent": and_(
            still_open, Invitation.state == InvitationState.PENDING, Invitation.sent_at.is_not(None)
        ),
        "created": and_(
            still_open, Invitation.state == InvitationState.PENDING, Invitation.sent_at.is_(None)
        ),
    }
    return conditions[state]


@dataclass(frozen=True)
class InvitationFilter:
    clinic_id: int | None = None
    clinician_id: int | None = None
    state: str | None = None
    form: str | None = None
    created_from: date | None = None
    created_to: date | None = None
    reference: str | None = None
    ids: tuple[int, ...] | None = None


@dataclass(frozen=True)
class InvitationRow:
    id: int
    form: str
    state: str
    clinician_id: int
    clinician: str
    dyad: int | None
    reference: str | None
    wave: int | None
    appointment_on: date | None
    created_at: datetime
    expires_at: datetime
    email_on_file: bool
    card: bool
    open: bool

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "form": self.form,
            "state": self.state,
            "clinician_id": self.clinician_id,
            "clinician": self.clinician,
            "dyad": self.dyad,
            "reference": self.reference,
            "wave": self.wave,
            "appointment_date": self.appointment_on.isoformat() if self.appointment_on else None,
            "created_at": self.created_at.isoformat(timespec="seconds"),
            "expires_at": self.expires_at.isoformat(timespec="seconds"),
            "email_on_file": self.email_on_file,
            "card": self.card,
        }


@dataclass(frozen=True)
class InvitationPage:
    rows: tuple[InvitationRow, ...]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _filtered(query, wanted: InvitationFilter, now: datetime):
    if wanted.clinic_id is not None:
        query = query.where(Clinician.clinic_id == wanted.clinic_id)
    if wanted.clinician_id is not None:
        query = query.where(Invitation.clinician_id == wanted.clinician_id)
    if wanted.state is not None:
        query = query.where(_state_condition(wanted.state, now))
    if wanted.form is not None:
        query = query.where(Invitation.form == wanted.form)
    if wanted.created_from is not None:
        start = datetime.combine(wanted.created_from, time.min, tzinfo=UTC)
        query = query.where(Invitation.created_at >= start)
    if wanted.created_to is not None:
        end = datetime.combine(wanted.created_to + timedelta(days=1), time.min, tzinfo=UTC)
        query = query.where(Invitation.created_at < end)
    if wanted.reference:
        query = query.where(Dyad.reference == wanted.reference)
    if wanted.ids is not None:
        query = query.where(Invitation.id.in_(wanted.ids))
    return query


def list_invitations(
    wanted: InvitationFilter, *, page: int = 1, per_page: int = 50
) -> InvitationPage:
    """One page of invitations, newest first."""
    now = utcnow()
    base = (
        select(Invitation.id)
        .join(Clinician, Clinician.id == Invitation.clinician_id)
        .outerjoin(Wave, Wave.id == Invitation.wave_id)
        .outerjoin(Dyad, Dyad.id == Wave.dyad_id)
    )
    base = _filtered(base, wanted, now)
    total = db.session.scalar(select(func.count()).select_from(base.subquery()))
    query = (
        select(
            Invitation,
            Clinician.name,
            Dyad.id,
            Dyad.reference,
            Wave.number,
            Wave.appointment_on,
            InvitationContact.id,
            InvitationCard.id,
        )
        .join(Clinician, Clinician.id == Invitation.clinician_id)
        .outerjoin(Wave, Wave.id == Invitation.wave_id)
        .outerjoin(Dyad, Dyad.id == Wave.dyad_id)
        .outerjoin(InvitationContact, InvitationContact.invitation_id == Invitation.id)
        .outerjoin(InvitationCard, InvitationCard.invitation_id == Invitation.id)
    )
    query = (
        _filtered(query, wanted, now)
        .order_by(Invitation.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    rows = []
    for (
        invitation,
        name,
        dyad,
        reference,
        number,
        appointment_on,
        contact,
        card,
    ) in db.session.execute(query):
        state = state_of(invitation, now)
        rows.append(
            InvitationRow(
                id=invitation.id,
                form=invitation.form,
                state=state,
                clinician_id=invitation.clinician_id,
                clinician=name,
                dyad=dyad,
                reference=reference,
                wave=number,
                appointment_on=appointment_on,
                created_at=invitation.created_at,
                expires_at=invitation.expires_at,
                email_on_file=contact is not None,
                card=card is not None,
                open=state in ("created", "sent", "opened", "started", "bounced", "expired"),
            )
        )
    return InvitationPage(rows=tuple(rows), total=total, page=page, per_page=per_page)
