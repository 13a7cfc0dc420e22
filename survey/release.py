"""Release blocks: the only data any aggregate is computed from, so that no two selections an
account can request differ by fewer than ``HEALING_SURVEY_MIN_CELL`` responses.

A dyad wave (one patient form and one clinician form about the same relationship) is *settled*
once it can no longer change: each of its invitations is submitted, revoked or expired, at least
one was submitted, and no answer in it can still be withdrawn: every response's own
``withdrawable_until`` (fixed at submission from its clinic's withdrawal period, see
survey.consent.withdrawal) has passed, and so has the global minimum wait after the newest
submission (``HEALING_SURVEY_WITHDRAWAL_DAYS``). Settled dyad waves are grouped, in the order of
their newest submission, by clinician, wave number, the patient's language (the language the
patient answered in, else the one the patient was invited in; unknown is a group of its own) and
kind:

- ``pair``: both forms answered;
- ``patient``: only the patient answered;
- ``clinician``: only the clinician answered.

A group becomes a *release block* once it holds ``min_cell`` dyad waves and, for every construct,
the number of usable scores is 0 or at least ``min_cell`` (a score is usable when the construct
was answered: in a pair, by both). If that never happens because a construct is rarely
answered, the block is released anyway at ``PATIENCE * min_cell`` dyad waves, and a construct
with fewer than ``min_cell`` usable scores in it is left out of every aggregate for that block,
for good. A block's membership never changes.

Because the languages are kept apart too, a view of one language takes whole blocks, so it and
the view of all languages differ by whole blocks (a block mixing 4 English answers and 1 Spanish
one would let the difference of the two views show the one Spanish patient's answers).

Because the three kinds are kept apart, every cell of every view (a form's scores, or the
patient-clinician comparison, which uses pairs only) takes from each block either all of the
block's usable scores for a construct or none, so the difference of any two cells is a union of
whole blocks: 0 or at least ``min_cell`` responses. Mixing kinds in one block would not do: a
block of 5 patient answers of which 4 have the clinician's answer too lets the comparison's
patient mean (4) and the dashboard's (5) be subtracted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from items import load_bank
from survey.extensions import db
from survey.models import (
    Answer,
    Clinic,
    Clinician,
    Dyad,
    Invitation,
    InvitationState,
    ReleaseBlock,
    Response,
    Wave,
    utcnow,
)

DYAD_FORMS = ("patient", "clinician-dyad")
KINDS = ("pair", "patient", "clinician")
# Which kinds of block hold responses to each form.
FORM_KINDS = {"patient": ("pair", "patient"), "clinician-dyad": ("pair", "clinician")}
_KIND_OF_ONE = {"patient": "patient", "clinician-dyad": "clinician"}
# A group is released at this many times min_cell dyad waves even when a construct is too
# rarely answered in it; that construct's few scores are then left out for good.
PATIENCE = 2
_CHUNK = 500


class ReleaseError(ValueError):
    """A release that cannot be run as asked; the message names the bad value."""


@dataclass(frozen=True)
class ReleaseReport:
    """What one release run did: blocks made and the dyad waves now in them."""

    clinics: int
    blocks: int
    dyad_waves: int
    held_back_dyad_waves: int

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class _DyadWave:
    wave_id: int
    clinician_id: int
    number: int
    kind: str
    newest: datetime
    language: str | None = None


# --- settling ------------------------------------------------------------------------------


def settled_dyad_waves(
    clinic_id: int, *, now: datetime, withdrawal_days: int = 0
) -> tuple[list[_DyadWave], int]:
    """The clinic's unreleased dyad waves that can no longer change, newest submission last,
    and how many unreleased dyad waves with a submission are not settled yet.

    A dyad wave is not settled while any of its responses can be withdrawn (its
    ``withdrawable_until``, from the clinic's period when it was submitted, is still ahead) nor
    before ``withdrawal_days`` (a floor for every clinic) have passed since its newest
    submission, so a withdrawal can never take a response out of a released block. An
    invitation whose answers were withdrawn counts as closed and unanswered.
    """
    rows = db.session.execute(
        select(
            Wave.id,
            Dyad.clinician_id,
            Wave.number,
            Invitation.form,
            Invitation.state,
            Invitation.expires_at,
            Response.submitted_at,
            Response.withdrawable_until,
            Invitation.language,
            Response.language,
        )
        .join(Dyad, Wave.dyad_id == Dyad.id)
        .join(Clinician, Dyad.clinician_id == Clinician.id)
        .join(Invitation, Invitation.wave_id == Wave.id)
        .outerjoin(Response, Response.invitation_id == Invitation.id)
        .where(
            Clinician.clinic_id == clinic_id,
            Wave.release_block_id.is_(None),
            Invitation.form.in_(DYAD_FORMS),
        )
    )
    waves: dict[int, dict] = {}
    for row in rows:
        wave_id, clinician_id, number, form, state, expires_at, submitted_at, until = row[:8]
        entry = waves.setdefault(
            wave_id,
            {
                "clinician_id": clinician_id,
                "number": number,
                "open": False,
                "at": {},
                "until": [],
                "lang": None,
            },
        )
        submitted = state == InvitationState.SUBMITTED and submitted_at is not None
        if form == "patient":
            invited_in, answered_in = row[8:]
            entry["lang"] = (answered_in if submitted else None) or invited_in
        # An invitation that is neither answered (or withdrawn), revoked nor expired may still
        # be answered.
        closed = state in (InvitationState.SUBMITTED, InvitationState.REVOKED)
        entry["open"] |= not (closed or expires_at <= now)
        if submitted:
            entry["at"][form] = submitted_at
            if until is not None:
                entry["until"].append(until)
    settled, waiting = [], 0
    window = timedelta(days=withdrawal_days)
    for wave_id, entry in waves.items():
        if not entry["at"]:
            continue
        newest = max(entry["at"].values())
        withdrawable = any(until > now for until in entry["until"])
        if entry["open"] or withdrawable or newest + window > now:
            waiting += 1
            continue
        kind = "pair" if len(entry["at"]) == 2 else _KIND_OF_ONE[next(iter(entry["at"]))]
        settled.append(
            _DyadWave(wave_id, entry["clinician_id"], entry["number"], kind, newest, entry["lang"])
        )
    settled.sort(key=lambda w: (w.newest, w.wave_id))
    return settled, waiting


# --- scores of dyad waves ------------------------------------------------------------------


def _chunks(values: list, size: int = _CHUNK) -> Iterator[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def dyad_wave_scores(wave_ids: Iterable[int]):
    """One row per dyad wave (indexed by wave id): each form's construct scores
    (``patient:<construct>``, ``clinician-dyad:<construct>``, NaN where not answered) and each
    form's completion time in seconds (``<form>:seconds``)."""
    import numpy as np
    import pandas as pd

    from analysis.scoring import scale_scores

    bank = load_bank()
    wave_ids = sorted(set(wave_ids))
    frames = []
    for form in DYAD_FORMS:
        spec = bank.form(form).scale_spec()
        item_ids = list(spec.item_ids)
        column = {item: j for j, item in enumerate(item_ids)}
        meta, matrices = [], []
        for chunk in _chunks(wave_ids):
            rows = db.session.execute(
                select(Invitation.wave_id, Response.id, Response.duration_seconds)
                .join(Invitation, Response.invitation_id == Invitation.id)
                .where(
                    Invitation.wave_id.in_(chunk),
                    Response.form == form,
                    Response.submitted_at.is_not(None),
                )
                .order_by(Response.id)
            ).all()
            if not rows:
                continue
            row_of = {response_id: i for i, (_, response_id, _) in enumerate(rows)}
            matrix = np.full((len(rows), len(item_ids)), np.nan)
            answers = db.session.execute(
                select(Answer.response_id, Answer.item_id, Answer.value).where(
                    Answer.response_id.in_(list(row_of)), Answer.value.is_not(None)
                )
            )
            for response_id, item_id, value in answers:
                j = column.get(item_id)
                if j is not None:
                    matrix[row_of[response_id], j] = value
            meta.extend(rows)
            matrices.append(matrix)
        constructs = list(spec.scales)
        names = [f"{form}:{c}" for c in constructs]
        if not meta:
            frames.append(pd.DataFrame(columns=[*names, f"{form}:seconds"], dtype=float))
            continue
        answers = pd.DataFrame(np.vstack(matrices), columns=item_ids)
        scores = scale_scores(answers, spec)[constructs].set_axis(names, axis=1)
        scores[f"{form}:seconds"] = [float(s) if s is not None else np.nan for _, _, s in meta]
        scores.index = pd.Index([w for w, _, _ in meta], name="wave_id")
        frames.append(scores[~scores.index.duplicated()])
    return pd.concat(frames, axis=1).reindex(pd.Index(wave_ids, name="wave_id"))


def constructs() -> list[str]:
    """The six constructs both dyad forms share, in the bank's order."""
    return list(load_bank().form("patient").scale_spec().scales)


def usable(scores, kinds):
    """Which construct scores of each dyad wave a block may use: in a pair, where both answered
    the construct; otherwise where its one respondent did. A boolean frame, one column per
    construct, indexed like ``scores``."""
    import numpy as np
    import pandas as pd

    names = constructs()
    patient = scores[[f"patient:{c}" for c in names]].notna().to_numpy()
    clinician = scores[[f"clinician-dyad:{c}" for c in names]].notna().to_numpy()
    kind = np.asarray(kinds, dtype=object).reshape(-1, 1)
    ok = np.where(
        kind == "pair", patient & clinician, np.where(kind == "patient", patient, clinician)
    )
    return pd.DataFrame(ok.astype(bool), index=scores.index, columns=names)


# --- releasing -----------------------------------------------------------------------------


def release_blocks(
    clinic_id: int | None = None,
    *,
    min_cell: int,
    withdrawal_days: int = 0,
    now: datetime | None = None,
) -> ReleaseReport:
    """Release every block that is complete, in every clinic or one; safe to run at any time,
    from several processes at once (each clinic in one transaction; see :func:`_release_clinic`).
    """
    if isinstance(min_cell, bool) or not isinstance(min_cell, int) or min_cell < 1:
        raise ReleaseError(f"min_cell {min_cell!r}: expected a whole number from 1")
    if isinstance(withdrawal_days, bool) or not isinstance(withdrawal_days, int):
        raise ReleaseError(f"withdrawal_days {withdrawal_days!r}: expected a whole number")
    if withdrawal_days < 0:
        raise ReleaseError(f"withdrawal_days {withdrawal_days}: expected 0 or more")
    now = now or utcnow()
    if clinic_id is None:
        clinic_ids = list(db.session.scalars(select(Clinic.id).order_by(Clinic.id)))
    elif db.session.get(Clinic, clinic_id) is None:
        raise ReleaseError(f"no clinic with id {clinic_id}")
    else:
        clinic_ids = [clinic_id]
    blocks = waves = held = 0
    for clinic in clinic_ids:
        made, joined, left = _release_clinic(clinic, min_cell, withdrawal_days, now)
        blocks, waves, held = blocks + made, waves + joined, held + left
    return ReleaseReport(
        clinics=len(clinic_ids), blocks=blocks, dyad_waves=waves, held_back_dyad_waves=held
    )


class _LostRace(Exception):
    """Another process released some of the same dyad waves first."""


def _release_clinic(clinic_id: int, min_cell: int, withdrawal_days: int, now: datetime):
    """Release one clinic's complete blocks in one transaction.

    On PostgreSQL the clinic's row is locked (``SELECT ... FOR UPDATE``), so two processes
    release one clinic one after the other, the second seeing the first's blocks. SQLite has
    no row locks but one writer at a time: every dyad wave joins its block by a conditional
    ``UPDATE ... WHERE release_block_id IS NULL``, and if any was taken meanwhile the whole
    transaction is rolled back (the other process released them). Either way no dyad wave can
    be in two blocks.
    """
    db.session.commit()  # start from a fresh transaction, so the lock below is this run's own
    try:
        db.session.execute(select(Clinic.id).where(Clinic.id == clinic_id).with_for_update())
        settled, waiting = settled_dyad_waves(clinic_id, now=now, withdrawal_days=withdrawal_days)
        made = joined = 0
        groups = _groups(settled, min_cell)
        ok = _usable_counts([w for group in groups for w in group])
        for group in groups:
            for block in _complete_blocks(group, ok, min_cell):
                _store_block(clinic_id, block, now)
                made, joined = made + 1, joined + len(block)
        held = waiting + len(settled) - joined
        db.session.commit()
    except (_LostRace, OperationalError):
        # Lost to a concurrent release (or SQLite stayed locked): what it released stands.
        db.session.rollback()
        return 0, 0, 0
    return made, joined, held


def _groups(settled: list[_DyadWave], min_cell: int) -> list[list[_DyadWave]]:
    groups: dict[tuple, list[_DyadWave]] = defaultdict(list)
    for wave in settled:
        groups[(wave.clinician_id, wave.number, wave.language, wave.kind)].append(wave)
    return [group for group in groups.values() if len(group) >= min_cell]


def _usable_counts(waves: list[_DyadWave]) -> dict[int, object]:
    """For each dyad wave, a 0/1 array: which constructs it gives a usable score for."""
    import pandas as pd

    if not waves:
        return {}
    kinds = pd.Series([w.kind for w in waves], index=[w.wave_id for w in waves])
    scores = dyad_wave_scores(kinds.index).loc[kinds.index]
    table = usable(scores, kinds).to_numpy(dtype=int)
    return {w.wave_id: table[i] for i, w in enumerate(waves)}


def _complete_blocks(
    group: list[_DyadWave], ok: dict[int, object], min_cell: int
) -> Iterator[list[_DyadWave]]:
    """Consecutive blocks of the group, oldest first, each released as soon as it is complete."""
    start, counts = 0, 0
    for end, wave in enumerate(group):
        counts = counts + ok[wave.wave_id]
        size = end - start + 1
        complete = size >= min_cell and bool(((counts == 0) | (counts >= min_cell)).all())
        if complete or size >= PATIENCE * min_cell:
            yield group[start : end + 1]
            start, counts = end + 1, 0


def _store_block(clinic_id: int, members: list[_DyadWave], now: datetime) -> None:
    kind = members[0].kind
    size = len(members)
    block = ReleaseBlock(
        clinic_id=clinic_id,
        clinician_id=members[0].clinician_id,
        wave_number=members[0].number,
        kind=kind,
        language=members[0].language,
        released_at=now,
        period_month=max(w.newest for w in members).strftime("%Y-%m"),
        dyad_waves=size,
        patient_responses=size if kind in FORM_KINDS["patient"] else 0,
        clinician_responses=size if kind in FORM_KINDS["clinician-dyad"] else 0,
        complete_pairs=size if kind == "pair" else 0,
    )
    db.session.add(block)
    db.session.flush()
    joined = db.session.execute(
        update(Wave)
        .where(Wave.id.in_([w.wave_id for w in members]), Wave.release_block_id.is_(None))
        .values(release_block_id=block.id)
        .execution_options(synchronize_session=False)
    )
    if joined.rowcount != size:
        raise _LostRace


# --- reading released data -----------------------------------------------------------------


@dataclass(frozen=True)
class BlockSelection:
    """Which blocks a view takes: any of these ``None`` means all (a language filter takes
    only blocks of that patient language, never those whose language is unknown)."""

    clinic_id: int
    wave: int | None = None
    month_from: str | None = None
    month_to: str | None = None
    clinician_id: int | None = None
    language: str | None = None


def selected_blocks(selection: BlockSelection):
    """The selected blocks, one row each: id, clinician_id, wave_number, kind, period_month."""
    import pandas as pd

    query = select(
        ReleaseBlock.id,
        ReleaseBlock.clinician_id,
        ReleaseBlock.wave_number,
        ReleaseBlock.kind,
        ReleaseBlock.period_month,
    ).where(ReleaseBlock.clinic_id == selection.clinic_id)
    if selection.wave is not None:
        query = query.where(ReleaseBlock.wave_number == selection.wave)
    if selection.month_from is not None:
        query = query.where(ReleaseBlock.period_month >= selection.month_from)
    if selection.month_to is not None:
        query = query.where(ReleaseBlock.period_month <= selection.month_to)
    if selection.clinician_id is not None:
        query = query.where(ReleaseBlock.clinician_id == selection.clinician_id)
    if selection.language is not None:
        query = query.where(ReleaseBlock.language == selection.language)
    rows = db.session.execute(query.order_by(ReleaseBlock.id)).all()
    columns = ["block_id", "clinician_id", "wave_number", "kind", "period_month"]
    return pd.DataFrame(rows, columns=columns)


def released_dyad_waves(selection: BlockSelection, *, min_cell: int):
    """Every dyad wave of the selected blocks with its scores, where a score the block may not
    use is NaN: one row per dyad wave with ``block_id``, ``clinician_id``, ``dyad_id``,
    ``wave``, ``kind``, ``period_month`` and the columns of :func:`dyad_wave_scores`.

    A construct whose usable scores in a block number fewer than ``min_cell`` (possible only in
    a block released at the patience limit) is NaN for the whole block, on both forms.
    """
    import pandas as pd

    blocks = selected_blocks(selection)
    members = []
    for chunk in _chunks(blocks["block_id"].tolist()):
        members.extend(
            db.session.execute(
                select(Wave.id, Wave.release_block_id, Wave.dyad_id, Wave.number).where(
                    Wave.release_block_id.in_(chunk)
                )
            ).all()
        )
    waves = pd.DataFrame(members, columns=["wave_id", "block_id", "dyad_id", "wave"])
    waves = waves.merge(blocks.drop(columns="wave_number"), on="block_id").set_index("wave_id")
    waves = waves.sort_index()
    scores = dyad_wave_scores(waves.index.tolist())
    frame = pd.concat([waves, scores], axis=1)
    ok = usable(scores, waves["kind"])
    whole = ok.groupby(waves["block_id"]).transform("sum") >= min_cell
    for construct in constructs():
        keep = ok[construct] & whole[construct]
        for form in DYAD_FORMS:
            frame.loc[~keep, f"{form}:{construct}"] = float("nan")
    return frame


def form_scores(frame, form: str):
    """One form's released scores from :func:`released_dyad_waves`: one row per response, the
    construct scores under their plain names, ``seconds`` its completion time."""
    rows = frame[frame["kind"].isin(FORM_KINDS[form])]
    renamed = {f"{form}:{c}": c for c in constructs()} | {f"{form}:seconds": "seconds"}
    meta = ["block_id", "clinician_id", "dyad_id", "wave", "kind", "period_month"]
    return rows[meta + list(renamed)].rename(columns=renamed)


def held_back_responses(
    clinic_id: int, form: str, *, clinician_id: int | None = None, language: str | None = None
) -> int:
    """Submitted responses to ``form`` whose dyad wave is in no block yet (exact; round it
    before showing it); with ``language``, only dyad waves whose patient answered in it (or,
    not having answered, was invited in it)."""
    from sqlalchemy import func

    query = (
        select(func.count(Response.id))
        .join(Invitation, Response.invitation_id == Invitation.id)
        .join(Wave, Invitation.wave_id == Wave.id)
        .join(Clinician, Invitation.clinician_id == Clinician.id)
        .where(
            Clinician.clinic_id == clinic_id,
            Response.form == form,
            Response.submitted_at.is_not(None),
            Wave.release_block_id.is_(None),
        )
    )
    if clinician_id is not None:
        query = query.where(Clinician.id == clinician_id)
    if language is not None:
        query = query.where(_patient_language(Wave.id) == language)
    return db.session.scalar(query) or 0


def _patient_language(wave_id):
    """The language of a dyad wave's patient, as a correlated SQL expression: the language of
    the patient's submitted response, else the one the patient was invited in (as blocks have
    it, see :func:`settled_dyad_waves`)."""
    from sqlalchemy import func
    from sqlalchemy.orm import aliased

    invitation, response = aliased(Invitation), aliased(Response)
    return (
        select(func.coalesce(response.language, invitation.language))
        .select_from(invitation)
        .outerjoin(
            response,
            (response.invitation_id == invitation.id) & response.submitted_at.is_not(None),
        )
        .where(invitation.wave_id == wave_id, invitation.form == "patient")
        .limit(1)
        .scalar_subquery()
    )
