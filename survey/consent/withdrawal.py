"""Withdrawal: a patient takes their submitted answers back from their own link, within the
clinic's period. The response and its answers are deleted; only a count per clinic and form
stays, and an audit entry that names the clinic and form, not the invitation.

It opens no differencing hole because a dyad wave joins a release block (survey.release) only
after every one of its responses' ``withdrawable_until`` has passed: a withdrawable response is
never behind a number shown, and a released one can no longer be withdrawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext
from sqlalchemy import delete, select

from survey.consent.models import WithdrawalCount, add_one
from survey.extensions import db
from survey.models import (
    Answer,
    Clinic,
    Clinician,
    Invitation,
    InvitationState,
    Response,
    Wave,
    record_audit,
    utcnow,
)

# Only patients withdraw: clinicians' forms are part of their work, not a research subject's.
WITHDRAWABLE_FORMS = ("patient",)
MAX_WITHDRAWAL_DAYS = 365


class WithdrawalError(ValueError):
    """A withdrawal or a withdrawal period that cannot be as asked; the message says why."""


@dataclass(frozen=True)
class WithdrawalStatus:
    """Whether this link's answers may be withdrawn now, and until when."""

    possible: bool
    until: datetime | None
    reason: str


def deadline(clinic: Clinic, form: str, submitted_at: datetime) -> datetime | None:
    """The moment a response submitted at ``submitted_at`` stops being withdrawable."""
    if form not in WITHDRAWABLE_FORMS or clinic.withdrawal_days <= 0:
        return None
    return submitted_at + timedelta(days=clinic.withdrawal_days)


def status(invitation: Invitation, now: datetime | None = None) -> WithdrawalStatus:
    now = now or utcnow()
    response = invitation.response
    if invitation.state != InvitationState.SUBMITTED:
        return WithdrawalStatus(False, None, "not-submitted")
    if response is None:
        return WithdrawalStatus(False, None, "withdrawn")
    until = response.withdrawable_until
    if until is None:
        return WithdrawalStatus(False, None, "no-withdrawal")
    if now >= until or _released(invitation):
        return WithdrawalStatus(False, until, "period-over")
    return WithdrawalStatus(True, until, "open")


def _released(invitation: Invitation) -> bool:
    return invitation.wave is not None and invitation.wave.release_block_id is not None


def withdraw(invitation: Invitation, now: datetime | None = None) -> None:
    """Delete the invitation's response and answers, count the withdrawal, audit it; all in one
    transaction. ``WithdrawalError`` when the period is over or there is nothing to withdraw."""
    now = now or utcnow()
    clinic_id = invitation.clinician.clinic_id
    db.session.commit()  # start fresh, so the clinic lock below is this transaction's own
    # The release of this clinic's blocks locks the same row: on PostgreSQL a withdrawal and a
    # release never interleave; on SQLite one writer at a time gives the same.
    db.session.execute(select(Clinic.id).where(Clinic.id == clinic_id).with_for_update())
    db.session.refresh(invitation)
    found = status(invitation, now)
    if not found.possible:
        db.session.rollback()
        raise WithdrawalError(_refusal(found))
    response_id, form = invitation.response.id, invitation.response.form
    db.session.execute(delete(Answer).where(Answer.response_id == response_id))
    deleted = db.session.execute(
        delete(Response)
        .where(
            Response.id == response_id,
            Response.withdrawable_until > now,
            ~select(Wave.id)
            .where(Wave.id == invitation.wave_id, Wave.release_block_id.is_not(None))
            .exists(),
        )
        .execution_options(synchronize_session=False)
    )
    if deleted.rowcount != 1:
        db.session.rollback()
        raise WithdrawalError(gettext("These answers can no longer be withdrawn."))
    add_one(WithdrawalCount, "withdrawals", clinic_id=clinic_id, form=form)
    record_audit("respondent", "response.withdraw", f"clinic:{clinic_id}", form=form)
    db.session.commit()
    db.session.expire(invitation)


def _refusal(found: WithdrawalStatus) -> str:
    """Why these answers cannot be withdrawn, in the respondent's page language."""
    if found.reason == "not-submitted":
        return gettext("These answers were not sent yet, so there is nothing to withdraw.")
    if found.reason == "withdrawn":
        return gettext("The answers sent with this link were already withdrawn and deleted.")
    if found.reason == "no-withdrawal":
        return gettext("This clinic does not offer withdrawal after the answers are sent.")
    return gettext("The time to withdraw these answers is over.")


def withdrawals(clinic_id: int) -> dict[str, int]:
    """The clinic's count of withdrawn responses, by form."""
    rows = db.session.execute(
        select(WithdrawalCount.form, WithdrawalCount.withdrawals).where(
            WithdrawalCount.clinic_id == clinic_id
        )
    )
    return dict(rows.all())


def set_withdrawal_days(clinic_id: int, days: int | str, *, actor: str) -> int:
    """Change the clinic's withdrawal period (for responses submitted from now on) and audit it."""
    try:
        days = int(str(days).strip())
    except ValueError:
        raise WithdrawalError(
            gettext(
                "%(days)s is not a whole number of days; expected e.g. 30 (0 turns withdrawal"
                " off).",
                days=repr(days),
            )
        ) from None
    if not 0 <= days <= MAX_WITHDRAWAL_DAYS:
        raise WithdrawalError(
            gettext(
                "%(days)s days: expected 0 (no withdrawal) to %(maximum)s days.",
                days=days,
                maximum=MAX_WITHDRAWAL_DAYS,
            )
        )
    clinic = db.session.get(Clinic, clinic_id)
    if clinic is None:
        raise WithdrawalError(gettext("There is no clinic with id %(id)s.", id=clinic_id))
    before = clinic.withdrawal_days
    clinic.withdrawal_days = days
    record_audit(actor, "clinic.withdrawal_days", f"clinic:{clinic_id}", days=days, before=before)
    db.session.commit()
    return days


def clinic_of(invitation: Invitation) -> Clinic:
    return db.session.scalar(
        select(Clinic)
        .join(Clinician, Clinician.clinic_id == Clinic.id)
        .where(Clinician.id == invitation.clinician_id)
    )
