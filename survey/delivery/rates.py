"""Response rates per clinician and for the clinic: invited, reminded, responded, bounced and
opted out, for the patient form.

Counts of people are released the way every other number is: never a count that a second view
could difference down to a few patients. Each count is shown rounded DOWN to a multiple of
``min_cell`` (13 shows as 10), so any two views of the same count differ by 0 or by at least
``min_cell`` — before and after one more invitation, one more answer, or between two filters.
Rates are computed from the shown (rounded) counts, so they reveal nothing the counts do not.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, func, select

from survey.aggregates import clinic_invitations, round_down
from survey.delivery.models import MessageKind, MessageStatus, OutboxMessage
from survey.extensions import db
from survey.models import Invitation, InvitationState

STAGES = ("invited", "reminded", "responded", "bounced", "opted_out")


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def response_rates(
    clinic_id: int,
    clinician_ids: list[int],
    *,
    min_cell: int,
    wave: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> dict:
    """Counts per clinician (by id) and for the clinic, each rounded down to ``min_cell``.

    Invitations are the patient form's, selected by wave and by when they were created
    (``start`` inclusive, ``end`` exclusive).

    Returns
    -------
    dict
        ``clinic`` and ``clinicians[clinician_id]`` (each of ``clinician_ids``): ``{invited,
        reminded, responded, bounced, opted_out, response_rate}`` with ``response_rate =
        responded / invited`` of the rounded counts (None when nothing is shown);
        ``rounded_to``.
    """
    reminded = exists().where(
        OutboxMessage.invitation_id == Invitation.id,
        OutboxMessage.kind == MessageKind.REMINDER,
        OutboxMessage.status == MessageStatus.SENT,
    )
    query = select(
        Invitation.clinician_id,
        func.count(Invitation.id),
        func.count(Invitation.id).filter(reminded),
        func.count(Invitation.id).filter(Invitation.state == InvitationState.SUBMITTED),
        func.count(Invitation.bounced_at),
        func.count(Invitation.opted_out_at),
    ).group_by(Invitation.clinician_id)
    query = clinic_invitations(query, clinic_id, form="patient", wave=wave, start=start, end=end)
    raw = {row[0]: dict(zip(STAGES, row[1:], strict=True)) for row in db.session.execute(query)}
    clinic_raw = {stage: sum(counts[stage] for counts in raw.values()) for stage in STAGES}
    nothing = dict.fromkeys(STAGES, 0)
    return {
        "rounded_to": min_cell,
        "clinic": _released(clinic_raw, min_cell),
        "clinicians": {
            clinician_id: _released(raw.get(clinician_id, nothing), min_cell)
            for clinician_id in clinician_ids
        },
    }


def _released(counts: dict, min_cell: int) -> dict:
    shown = {stage: round_down(counts[stage], min_cell) for stage in STAGES}
    shown["response_rate"] = _rate(shown["responded"], shown["invited"])
    return shown
