"""Submitted responses read back in chunks, one record per response with its answers.

Exports, the dashboard and ``analyze --from-db`` build their wide tables from here. Reading goes
by keyset pagination on the response id, so memory stays flat however many responses there are.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain

from sqlalchemy import case, func, literal, select

from survey.consent.models import ConsentText
from survey.extensions import db
from survey.models import Answer, Clinic, Clinician, Dyad, Invitation, Response, Wave

DEFAULT_CHUNK_SIZE = 2000


@dataclass(frozen=True)
class ResponseFilter:
    """Which responses to read; every field narrows the selection, ``None`` means any."""

    form: str
    clinic_id: int | None = None
    clinician_id: int | None = None
    wave: int | None = None
    submitted_from: datetime | None = None
    submitted_until: datetime | None = None
    submitted_only: bool = True
    language: str | None = None
    first_wave: bool = False  # one response per dyad: its lowest wave within the selection


@dataclass(frozen=True)
class ResponseRecord:
    """One response with where it came from and its answers (value, or a code string)."""

    response_id: int
    form: str
    clinic_id: int
    clinic: str
    clinician_id: int
    clinician: str
    dyad_id: int | None
    dyad_reference: str | None
    wave: int | None
    started_at: datetime
    submitted_at: datetime | None
    duration_seconds: int | None
    bank_version: str
    language: str
    user_agent_class: str
    answers: dict[str, int | str] = field(default_factory=dict)
    # The version of the information text shown before the first question, and "agreed" (to
    # its consent question) or "informed" (no question); None where no page was shown.
    consent_version: int | None = None
    consent: str | None = None

    def value(self, item_id: str) -> int | None:
        """The numeric answer, or None for a code or a missing answer."""
        answer = self.answers.get(item_id)
        return answer if isinstance(answer, int) else None


def _response_query(selection: ResponseFilter):
    query = (
        select(
            Response.id,
            Response.form,
            Clinic.id,
            Clinic.name,
            Clinician.id,
            Clinician.name,
            Dyad.id,
            Dyad.reference,
            Wave.number,
            Response.started_at,
            Response.submitted_at,
            Response.duration_seconds,
            Response.bank_version,
            Response.language,
            Response.user_agent_class,
            ConsentText.version,
            Response.consent_answer,
        )
        .join(Invitation, Response.invitation_id == Invitation.id)
        .outerjoin(ConsentText, Response.consent_text_id == ConsentText.id)
        .join(Clinician, Invitation.clinician_id == Clinician.id)
        .join(Clinic, Clinician.clinic_id == Clinic.id)
        .outerjoin(Wave, Invitation.wave_id == Wave.id)
        .outerjoin(Dyad, Wave.dyad_id == Dyad.id)
        .where(Response.form == selection.form)
        .order_by(Response.id)
    )
    if selection.submitted_only:
        query = query.where(Response.submitted_at.is_not(None))
    if selection.clinic_id is not None:
        query = query.where(Clinic.id == selection.clinic_id)
    if selection.clinician_id is not None:
        query = query.where(Clinician.id == selection.clinician_id)
    if selection.wave is not None:
        query = query.where(Wave.number == selection.wave)
    if selection.submitted_from is not None:
        query = query.where(Response.submitted_at >= selection.submitted_from)
    if selection.submitted_until is not None:
        query = query.where(Response.submitted_at < selection.submitted_until)
    if selection.language is not None:
        query = query.where(Response.language == selection.language)
    if selection.first_wave:
        query = query.where(Response.id.in_(_first_wave_ids(query)))
    return query


def _first_wave_ids(query):
    """The selected responses that come first in their dyad (lowest wave, then lowest id);
    responses without a dyad (self-assessments) are left out."""
    rank = func.row_number().over(partition_by=Dyad.id, order_by=(Wave.number, Response.id))
    ranked = (
        query.with_only_columns(Response.id.label("id"), rank.label("rank"))
        .where(Dyad.id.is_not(None))
        .order_by(None)
        .subquery()
    )
    return select(ranked.c.id).where(ranked.c.rank == 1)


def iter_response_chunks(
    selection: ResponseFilter, *, chunk_size: int = DEFAULT_CHUNK_SIZE, after_id: int = 0
) -> Iterator[list[ResponseRecord]]:
    """Yield the selected responses in id order, ``chunk_size`` at a time, with their answers.

    ``after_id`` starts after that response id (a page cursor for the JSON API).
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size {chunk_size}: expected at least 1")
    last_id = after_id
    base = _response_query(selection)
    while True:
        rows = db.session.execute(base.where(Response.id > last_id).limit(chunk_size)).all()
        if not rows:
            return
        answers: dict[int, dict[str, int | str]] = {row[0]: {} for row in rows}
        answer_rows = db.session.execute(
            select(Answer.response_id, Answer.item_id, Answer.value, Answer.code).where(
                Answer.response_id.in_(list(answers))
            )
        )
        for response_id, item_id, value, code in answer_rows:
            answers[response_id][item_id] = value if code is None else code
        yield [_record(row, answers[row[0]]) for row in rows]
        last_id = rows[-1][0]
        db.session.expunge_all()


def _record(row, answers: dict[str, int | str]) -> ResponseRecord:
    *where, consent_version, consent = row
    return ResponseRecord(*where, answers=answers, consent_version=consent_version, consent=consent)


def iter_responses(
    selection: ResponseFilter, *, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> Iterator[ResponseRecord]:
    for chunk in iter_response_chunks(selection, chunk_size=chunk_size):
        yield from chunk


def iter_value_chunks(
    selection: ResponseFilter,
    item_ids: list[str] | tuple[str, ...],
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> Iterator:
    """Yield float arrays (responses x items, NaN for codes and blanks), chunk by chunk.

    The lean path for analysis (``analyze --from-db`` reads a million responses through it):
    only response ids and numeric answers are read, the database turns each item id into its
    column number, and the answer rows go from the driver's cursor straight into NumPy, since
    building a SQLAlchemy row object per answer took most of the time.
    """
    for chunk in iter_value_chunks_with_sources(selection, item_ids, chunk_size=chunk_size):
        yield chunk.values


@dataclass(frozen=True)
class ValueChunk:
    """Answers of a chunk of responses (float array, NaN where missing) and where each came
    from: the response, its clinician and its dyad (-1 for none), as int64 arrays."""

    values: object
    response_ids: object
    clinician_ids: object
    dyad_ids: object


def iter_value_chunks_with_sources(
    selection: ResponseFilter,
    item_ids: list[str] | tuple[str, ...],
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> Iterator[ValueChunk]:
    """As :func:`iter_value_chunks`, each chunk with its response, clinician and dyad ids.

    The selected ids are read once (24 bytes per response), so a selection with a window
    function (``first_wave``) is evaluated once, not per chunk.
    """
    import numpy as np

    if chunk_size < 1:
        raise ValueError(f"chunk_size {chunk_size}: expected at least 1")
    connection = db.session.connection()
    # Answers to items that were not asked for get column -1 (cheaper than filtering in SQL).
    numbers = {item_id: j for j, item_id in enumerate(item_ids)}
    column = case(numbers, value=Answer.item_id, else_=-1) if numbers else literal(-1)
    sources = _selected_sources(connection, selection)
    for start in range(0, len(sources), chunk_size):
        block = sources[start : start + chunk_size]
        ids = block[:, 0]
        first, last = int(ids[0]), int(ids[-1])
        answers = select(Answer.response_id, column, Answer.value).where(
            Answer.response_id.between(first, last), Answer.value.is_not(None)
        )
        if last - first + 1 != ids.size:  # the filter left gaps: name the responses
            answers = answers.where(Answer.response_id.in_(ids.tolist()))
        rows = _driver_rows(connection, answers)
        cells = np.fromiter(chain.from_iterable(rows), dtype=np.int64, count=3 * len(rows))
        cells = cells.reshape(-1, 3)
        cells = cells[cells[:, 1] >= 0]
        matrix = np.full((ids.size, len(item_ids)), np.nan)
        matrix[np.searchsorted(ids, cells[:, 0]), cells[:, 1]] = cells[:, 2]
        yield ValueChunk(matrix, ids.copy(), block[:, 1].copy(), block[:, 2].copy())


def _selected_sources(connection, selection: ResponseFilter):
    """(response id, clinician id, dyad id or -1) of every selected response, in id order."""
    import numpy as np

    query = _response_query(selection).with_only_columns(
        Response.id, Clinician.id, func.coalesce(Dyad.id, -1)
    )
    parts = []
    result = connection.execute(query.execution_options(yield_per=50_000))
    for rows in result.partitions():
        flat = chain.from_iterable(rows)
        parts.append(np.fromiter(flat, dtype=np.int64, count=3 * len(rows)).reshape(-1, 3))
    return np.vstack(parts) if parts else np.empty((0, 3), dtype=np.int64)


def _driver_rows(connection, statement) -> list[tuple]:
    """Run ``statement`` on the DBAPI cursor of ``connection`` and fetch plain tuples.

    The statement is rendered with its values inline (ids and item ids from the bank), so the
    driver's parameter style does not matter.
    """
    sql = statement.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True})
    cursor = connection.connection.cursor()
    try:
        cursor.execute(str(sql))
        return cursor.fetchall()
    finally:
        cursor.close()


def value_matrix(records: list[ResponseRecord], item_ids: list[str] | tuple[str, ...]):
    """A float array (responses x items) of numeric answers, NaN for codes and blanks."""
    import numpy as np

    matrix = np.full((len(records), len(item_ids)), np.nan)
    column = {item_id: j for j, item_id in enumerate(item_ids)}
    for i, record in enumerate(records):
        for item_id, answer in record.answers.items():
            j = column.get(item_id)
            if j is not None and isinstance(answer, int):
                matrix[i, j] = answer
    return matrix


def response_labels(selection: ResponseFilter, grouping: str) -> list:
    """The ``grouping`` ("language", "clinic" name or "wave" number) of each selected response,
    in the id order that :func:`iter_value_chunks` yields the responses in."""
    columns = {"language": Response.language, "clinic": Clinic.name, "wave": Wave.number}
    if grouping not in columns:
        raise ValueError(f"responses can be grouped by {', '.join(columns)}; got {grouping!r}")
    query = _response_query(selection).with_only_columns(columns[grouping])
    return list(db.session.execute(query).scalars())
