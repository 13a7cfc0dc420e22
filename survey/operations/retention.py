"""Each clinic's retention rule: what is older than its period, and deleting it or keeping it
only de-identified.

A response is past retention when it was last saved (or submitted) before the clinic's cutoff,
``retention_years`` before now; an invitation nobody answered, when it was created before the
cutoff; a dyad, when nothing of it (no invitation, no response) is newer than the cutoff.
``apply_retention`` works in batches, each its own transaction with its own audit entry, so a
long run holds no lock for long and an interrupted run leaves whole batches done.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, delete, exists, func, or_, select, update

from survey.extensions import db
from survey.models import (
    Answer,
    Clinic,
    Clinician,
    Dyad,
    Invitation,
    Response,
    Wave,
    record_audit,
    utcnow,
)
from survey.operations import OperationError

RETENTION_MODES = ("delete", "deidentify")
DEFAULT_BATCH_SIZE = 500
MAX_RETENTION_YEARS = 100


@dataclass(frozen=True)
class ClinicRetention:
    """One clinic's rule and what falls under it (``apply_retention``: what it dealt with)."""

    clinic_id: int
    clinic: str
    years: int
    mode: str
    cutoff: str
    responses: int
    dyads: int
    invitations: int
    oldest: str | None

    def to_dict(self) -> dict:
        return asdict(self)


def retention_cutoff(years: int, now: datetime) -> datetime:
    """The moment ``years`` before ``now``; 29 February falls back to the 28th.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> retention_cutoff(10, datetime(2028, 2, 29, 12, tzinfo=UTC)).isoformat()
    '2018-02-28T12:00:00+00:00'
    """
    try:
        return now.replace(year=now.year - years)
    except ValueError:
        return now.replace(year=now.year - years, day=28)


def coarsen(moment: datetime | None) -> datetime | None:
    """The first instant of the moment's year (UTC): what de-identified records keep of a date.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> coarsen(datetime(2019, 7, 14, 9, 30, tzinfo=UTC)).isoformat()
    '2019-01-01T00:00:00+00:00'
    """
    if moment is None:
        return None
    return datetime(moment.astimezone(UTC).year, 1, 1, tzinfo=UTC)


def set_retention(clinic_name: str, *, years: int, mode: str, actor: str = "cli") -> dict:
    """Change a clinic's retention period and what happens after it; audited."""
    if not 1 <= years <= MAX_RETENTION_YEARS:
        raise OperationError(
            f"--years {years}: a retention period is 1 to {MAX_RETENTION_YEARS} years"
        )
    if mode not in RETENTION_MODES:
        raise OperationError(f"--mode {mode!r}: expected one of {', '.join(RETENTION_MODES)}")
    clinic = db.session.scalar(select(Clinic).where(Clinic.name == clinic_name))
    if clinic is None:
        raise OperationError(f"no clinic named {clinic_name!r}; see `healing-survey clinic list`")
    before = {"years": clinic.retention_years, "mode": clinic.retention_mode}
    clinic.retention_years, clinic.retention_mode = years, mode
    record_audit(
        actor, "clinic.retention", f"clinic:{clinic.id}", before=before, years=years, mode=mode
    )
    db.session.commit()
    return {"id": clinic.id, "name": clinic.name, "retention_years": years, "retention_mode": mode}


def _last_activity():
    return func.coalesce(Response.submitted_at, Response.last_saved_at)


def _past_responses(clinic: Clinic, cutoff: datetime):
    query = (
        select(Response.id)
        .join(Invitation, Response.invitation_id == Invitation.id)
        .join(Clinician, Invitation.clinician_id == Clinician.id)
        .where(Clinician.clinic_id == clinic.id, _last_activity() < cutoff)
    )
    if clinic.retention_mode == "deidentify":
        query = query.where(Response.deidentified_at.is_(None))
    return query


def _past_unanswered_invitations(clinic: Clinic, cutoff: datetime):
    return (
        select(Invitation.id)
        .join(Clinician, Invitation.clinician_id == Clinician.id)
        .where(
            Clinician.clinic_id == clinic.id,
            Invitation.created_at < cutoff,
            ~exists().where(Response.invitation_id == Invitation.id),
        )
    )


def _past_dyads(clinic: Clinic, cutoff: datetime):
    """Dyads with nothing newer than the cutoff (de-identify mode: those with a reference)."""
    latest = (
        select(
            func.max(
                func.coalesce(Response.submitted_at, Response.last_saved_at, Invitation.created_at)
            )
        )
        .select_from(Invitation)
        .join(Wave, Invitation.wave_id == Wave.id)
        .outerjoin(Response, Response.invitation_id == Invitation.id)
        .where(Wave.dyad_id == Dyad.id)
        .scalar_subquery()
    )
    query = (
        select(Dyad.id)
        .join(Clinician, Dyad.clinician_id == Clinician.id)
        .where(
            Clinician.clinic_id == clinic.id,
            or_(latest < cutoff, and_(latest.is_(None), Dyad.created_at < cutoff)),
        )
    )
    if clinic.retention_mode == "deidentify":
        query = query.where(Dyad.reference.is_not(None))
    return query


def _count(query) -> int:
    return db.session.scalar(select(func.count()).select_from(query.subquery())) or 0


def _oldest(clinic: Clinic, cutoff: datetime) -> datetime | None:
    responses = _past_responses(clinic, cutoff).subquery()
    oldest_response = db.session.scalar(
        select(func.min(_last_activity())).where(Response.id.in_(select(responses.c.id)))
    )
    invitations = _past_unanswered_invitations(clinic, cutoff).subquery()
    oldest_invitation = db.session.scalar(
        select(func.min(Invitation.created_at)).where(Invitation.id.in_(select(invitations.c.id)))
    )
    found = [moment for moment in (oldest_response, oldest_invitation) if moment is not None]
    return min(found) if found else None


def _summary(
    clinic: Clinic,
    cutoff: datetime,
    responses: int,
    dyads: int,
    invitations: int,
    oldest: datetime | None,
) -> ClinicRetention:
    return ClinicRetention(
        clinic_id=clinic.id,
        clinic=clinic.name,
        years=clinic.retention_years,
        mode=clinic.retention_mode,
        cutoff=cutoff.isoformat(timespec="seconds"),
        responses=responses,
        dyads=dyads,
        invitations=invitations,
        oldest=None if oldest is None else oldest.date().isoformat(),
    )


def due_for_retention(now: datetime | None = None) -> list[ClinicRetention]:
    """Per clinic: how many responses, dyads and unanswered invitations are past its period."""
    now = now or utcnow()
    summaries = []
    for clinic in db.session.scalars(select(Clinic).order_by(Clinic.name)):
        cutoff = retention_cutoff(clinic.retention_years, now)
        summaries.append(
            _summary(
                clinic,
                cutoff,
                _count(_past_responses(clinic, cutoff)),
                _count(_past_dyads(clinic, cutoff)),
                _count(_past_unanswered_invitations(clinic, cutoff)),
                _oldest(clinic, cutoff),
            )
        )
    return summaries


def _delete_empty_waves_and_dyads(wave_ids: set[int], dyad_ids: set[int]) -> int:
    if wave_ids:
        db.session.execute(
            delete(Wave).where(
                Wave.id.in_(wave_ids), ~exists().where(Invitation.wave_id == Wave.id)
            )
        )
    if not dyad_ids:
        return 0
    gone = db.session.execute(
        delete(Dyad).where(Dyad.id.in_(dyad_ids), ~exists().where(Wave.dyad_id == Dyad.id))
    )
    return gone.rowcount


def _waves_and_dyads_of(invitation_ids: list[int]) -> tuple[set[int], set[int]]:
    rows = db.session.execute(
        select(Wave.id, Wave.dyad_id)
        .join(Invitation, Invitation.wave_id == Wave.id)
        .where(Invitation.id.in_(invitation_ids))
    ).all()
    return {row.id for row in rows}, {row.dyad_id for row in rows}


def _delete_responses(ids: list[int]) -> tuple[int, int, int]:
    invitation_ids = list(
        db.session.scalars(select(Response.invitation_id).where(Response.id.in_(ids)))
    )
    return (len(ids), *_delete_invitations(invitation_ids, responses=ids))


def _delete_invitations(invitation_ids: list[int], *, responses: list[int] = ()) -> tuple[int, int]:
    wave_ids, dyad_ids = _waves_and_dyads_of(invitation_ids)
    if responses:
        db.session.execute(delete(Answer).where(Answer.response_id.in_(responses)))
        db.session.execute(delete(Response).where(Response.id.in_(responses)))
    # Rows of other tables that hang on an invitation (its contact, its outbox messages) go
    # with it through their ON DELETE CASCADE foreign keys.
    db.session.execute(delete(Invitation).where(Invitation.id.in_(invitation_ids)))
    return len(invitation_ids), _delete_empty_waves_and_dyads(wave_ids, dyad_ids)


def _deidentify_responses(ids: list[int], now: datetime) -> int:
    responses = db.session.scalars(select(Response).where(Response.id.in_(ids))).all()
    for response in responses:
        response.started_at = coarsen(response.started_at)
        response.last_saved_at = coarsen(response.last_saved_at)
        response.submitted_at = coarsen(response.submitted_at)
        response.deidentified_at = now
        invitation = response.invitation
        for field in ("created_at", "expires_at", "opened_at", "submitted_at"):
            setattr(invitation, field, coarsen(getattr(invitation, field)))
        if invitation.wave is not None:
            invitation.wave.created_at = coarsen(invitation.wave.created_at)
            invitation.wave.dyad.created_at = coarsen(invitation.wave.dyad.created_at)
    return len(responses)


def _batches(query, batch_size: int):
    while ids := list(db.session.scalars(query.order_by(None).limit(batch_size))):
        yield ids


def _audited_batch(actor: str, clinic: Clinic, cutoff: datetime, **counts) -> None:
    record_audit(
        actor,
        f"retention.{clinic.retention_mode}",
        f"clinic:{clinic.id}",
        cutoff=cutoff.isoformat(timespec="seconds"),
        **counts,
    )
    db.session.commit()


def _apply_to_clinic(clinic: Clinic, now: datetime, batch_size: int, actor: str) -> ClinicRetention:
    cutoff = retention_cutoff(clinic.retention_years, now)
    oldest = _oldest(clinic, cutoff)
    done = {"responses": 0, "dyads": 0, "invitations": 0}
    for ids in _batches(_past_responses(clinic, cutoff), batch_size):
        if clinic.retention_mode == "delete":
            responses, invitations, dyads = _delete_responses(ids)
            counts = {"responses": responses, "invitations": invitations, "dyads": dyads}
        else:
            counts = {"responses": _deidentify_responses(ids, now)}
        _audited_batch(actor, clinic, cutoff, **counts)
        for key, value in counts.items():
            done[key] += value
    for ids in _batches(_past_unanswered_invitations(clinic, cutoff), batch_size):
        invitations, dyads = _delete_invitations(ids)
        _audited_batch(actor, clinic, cutoff, invitations=invitations, dyads=dyads)
        done["invitations"] += invitations
        done["dyads"] += dyads
    done["dyads"] += _finish_dyads(clinic, cutoff, batch_size, actor)
    return _summary(clinic, cutoff, done["responses"], done["dyads"], done["invitations"], oldest)


def _finish_dyads(clinic: Clinic, cutoff: datetime, batch_size: int, actor: str) -> int:
    """Dyads wholly past the cutoff: deleted (if nothing is left of them) or made referenceless."""
    total = 0
    for ids in _batches(_past_dyads(clinic, cutoff), batch_size):
        if clinic.retention_mode == "delete":
            waves = set(db.session.scalars(select(Wave.id).where(Wave.dyad_id.in_(ids))))
            changed = _delete_empty_waves_and_dyads(waves, set(ids))
        else:
            changed = db.session.execute(
                update(Dyad)
                .where(Dyad.id.in_(ids))
                .values(reference=None)
                .execution_options(synchronize_session=False)
            ).rowcount
        _audited_batch(actor, clinic, cutoff, dyads=changed)
        total += changed
        if changed == 0:
            # What is left still holds invitations (a dyad never deletes its answers itself).
            break
    return total


def apply_retention(
    now: datetime | None = None,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    actor: str = "cli",
    clinic_name: str | None = None,
) -> list[ClinicRetention]:
    """Delete (or de-identify) what is past each clinic's period; returns what was dealt with."""
    if batch_size < 1:
        raise OperationError(f"--batch-size {batch_size}: expected a whole number of at least 1")
    now = now or utcnow()
    query = select(Clinic).order_by(Clinic.name)
    if clinic_name is not None:
        query = query.where(Clinic.name == clinic_name)
    clinics = db.session.scalars(query).all()
    if clinic_name is not None and not clinics:
        raise OperationError(f"no clinic named {clinic_name!r}; see `healing-survey clinic list`")
    return [_apply_to_clinic(clinic, now, batch_size, actor) for clinic in clinics]
