"""Appointment lists: a CSV of a clinic's appointments read, checked row by row, and stored as
dyad waves all or nothing.

Columns (header required, any order, names case-insensitive; UTF-8 with or without BOM; comma
or semicolon): ``reference`` (the clinic's patient reference), ``clinician`` (an id or the exact
name of a clinician of the clinic), ``appointment_date`` (YYYY-MM-DD), and optionally ``email``
(the patient's address: the invitation is e-mailed) and ``language``. Other columns are ignored.
The page (``/invitations/batch``) and ``healing-survey invite --batch`` share this module.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import gettext
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from survey.delivery.contacts import ContactError, normalise_address
from survey.delivery.models import (
    Channel,
    InvitationContact,
    MessageKind,
    MessageStatus,
    OutboxMessage,
)
from survey.delivery.sealed import seal
from survey.extensions import db
from survey.invitations.service import (
    MAX_REFERENCE_LENGTH,
    InvitationError,
    check_expires_days,
    check_language,
    hash_token,
    is_retired,
    new_token,
    survey_url,
)
from survey.models import (
    Clinic,
    Clinician,
    Dyad,
    Invitation,
    InvitationState,
    Wave,
    record_audit,
    utcnow,
)

REQUIRED_COLUMNS = ("reference", "clinician", "appointment_date")
OPTIONAL_COLUMNS = ("email", "language")
MAX_ROWS = 20_000
MAX_BYTES = 10 * 1024 * 1024


class BatchError(ValueError):
    """An appointment list that cannot be read at all (encoding, header, size)."""


@dataclass(frozen=True)
class AppointmentRow:
    """One valid row, with the wave it will become."""

    line: int
    reference: str
    clinician_id: int
    clinician: str
    appointment_on: date
    email: str | None
    language: str | None
    wave: int

    def to_dict(self) -> dict:
        return {
            "line": self.line,
            "reference": self.reference,
            "clinician_id": self.clinician_id,
            "clinician": self.clinician,
            "appointment_date": self.appointment_on.isoformat(),
            "email": self.email is not None,  # never the address itself
            "language": self.language,
            "wave": self.wave,
        }


@dataclass(frozen=True)
class RowProblem:
    line: int
    reason: str

    def to_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        return gettext("line %(line)s: %(reason)s", line=self.line, reason=self.reason)


@dataclass(frozen=True)
class BatchPreview:
    """What an appointment list would create, and every row that cannot be used."""

    clinic_id: int
    clinic: str
    checksum: str
    rows: tuple[AppointmentRow, ...]
    problems: tuple[RowProblem, ...]
    ignored_columns: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.rows)

    @property
    def with_email(self) -> int:
        return sum(1 for row in self.rows if row.email)

    def to_dict(self) -> dict:
        return {
            "clinic": self.clinic,
            "checksum": self.checksum,
            "rows": len(self.rows),
            "with_email": self.with_email,
            "problems": [problem.to_dict() for problem in self.problems],
            "ignored_columns": list(self.ignored_columns),
            "invitations": [row.to_dict() for row in self.rows],
        }


@dataclass(frozen=True)
class BatchResult:
    clinic: str
    created: tuple[dict, ...] = field(default_factory=tuple)

    @property
    def patient_invitations(self) -> list[int]:
        return [record["patient_invitation"] for record in self.created]

    def to_dict(self) -> dict:
        return {"clinic": self.clinic, "created": len(self.created), "dyads": list(self.created)}


def checksum_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _decode(content: bytes) -> str:
    if len(content) > MAX_BYTES:
        raise BatchError(
            gettext("the file is larger than %(size)s MB", size=MAX_BYTES // (1024 * 1024))
        )
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise BatchError(
            gettext(
                "the file is not UTF-8 text (byte %(byte)s): save it as CSV UTF-8",
                byte=error.start + 1,
            )
        ) from None


def _records(text: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the non-blank rows with their line numbers (the header is line 1)."""
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise BatchError(
            gettext(
                "the file is empty or its first line is blank: the first line must name the"
                " columns (%(columns)s)",
                columns=", ".join(REQUIRED_COLUMNS),
            )
        )
    delimiter = ";" if lines[0].count(";") > lines[0].count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [name.strip().lower() for name in next(reader)]
    rows = []
    for fields in reader:
        if any(value.strip() for value in fields):
            rows.append((reader.line_num, fields))
    return header, rows


def _columns(header: list[str]) -> tuple[dict[str, int], tuple[str, ...]]:
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise BatchError(
            gettext(
                "line 1: missing column %(missing)s (the header must name %(required)s;"
                " optional: %(optional)s)",
                missing=", ".join(missing),
                required=", ".join(REQUIRED_COLUMNS),
                optional=", ".join(OPTIONAL_COLUMNS),
            )
        )
    repeated = sorted({name for name in header if name and header.count(name) > 1})
    if repeated:
        raise BatchError(
            gettext(
                "line 1: column %(columns)s appears more than once", columns=", ".join(repeated)
            )
        )
    known = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
    index = {name: header.index(name) for name in known if name in header}
    ignored = tuple(name for name in header if name not in known)
    return index, ignored


def _appointment_date(raw: str) -> date:
    try:
        return datetime.strptime(raw, "%Y-%m-%d").date()
    except ValueError:
        raise ValueError(
            gettext("appointment_date %(value)s is not a date written YYYY-MM-DD", value=repr(raw))
        ) from None


class _Clinicians:
    """The clinic's clinicians by id and by exact name."""

    def __init__(self, clinic: Clinic):
        found = db.session.scalars(select(Clinician).where(Clinician.clinic_id == clinic.id))
        self.clinic = clinic
        self.by_id = {clinician.id: clinician for clinician in found}
        self.by_name = {clinician.name: clinician for clinician in self.by_id.values()}

    def find(self, raw: str) -> Clinician:
        clinician = self.by_id.get(int(raw)) if raw.isdigit() else self.by_name.get(raw)
        if clinician is None:
            raise ValueError(
                gettext(
                    "clinician %(value)s is not a clinician of %(clinic)s",
                    value=repr(raw),
                    clinic=self.clinic.name,
                )
            )
        if is_retired(clinician):
            raise ValueError(
                gettext(
                    "clinician %(value)s is retired and gets no new invitations", value=repr(raw)
                )
            )
        return clinician


@dataclass(frozen=True)
class _Parsed:
    line: int
    reference: str
    clinician: Clinician
    appointment_on: date
    email: str | None
    language: str | None


def _parse_row(
    line: int, fields: list[str], index: dict[str, int], width: int, clinicians: _Clinicians
) -> _Parsed:
    if len(fields) != width:
        raise ValueError(
            gettext(
                "%(fields)s fields where the header names %(columns)s columns",
                fields=len(fields),
                columns=width,
            )
        )

    def value(name: str) -> str:
        return fields[index[name]].strip() if name in index else ""

    reference = value("reference")
    if not reference:
        raise ValueError(gettext("the reference is empty"))
    if len(reference) > MAX_REFERENCE_LENGTH:
        raise ValueError(
            gettext("the reference is longer than %(limit)s characters", limit=MAX_REFERENCE_LENGTH)
        )
    if not value("clinician"):
        raise ValueError(gettext("the clinician is empty"))
    clinician = clinicians.find(value("clinician"))
    appointment_on = _appointment_date(value("appointment_date"))
    email = None
    if value("email"):
        try:
            email = normalise_address(value("email"))
        except ContactError as error:
            raise ValueError(gettext("e-mail: %(problem)s", problem=error)) from None
    try:
        language = check_language(value("language"))
    except InvitationError as error:
        raise ValueError(str(error)) from None
    return _Parsed(line, reference, clinician, appointment_on, email, language)


def _existing_waves(pairs: set[tuple[int, str]]) -> dict[tuple[int, str], tuple[int, int, set]]:
    """For each (clinician id, reference) with a dyad: (dyad id, latest wave, appointment
    dates already invited)."""
    found: dict[tuple[int, str], tuple[int, int, set]] = {}
    if not pairs:
        return found
    clinician_ids = {clinician_id for clinician_id, _ in pairs}
    rows = db.session.execute(
        select(Dyad.id, Dyad.clinician_id, Dyad.reference, Wave.number, Wave.appointment_on)
        .outerjoin(Wave, Wave.dyad_id == Dyad.id)
        .where(Dyad.clinician_id.in_(clinician_ids))
    )
    for dyad_id, clinician_id, reference, number, appointment_on in rows:
        key = (clinician_id, reference)
        if key not in pairs:
            continue
        _, latest, dates = found.get(key, (dyad_id, 0, set()))
        if appointment_on is not None:
            dates.add(appointment_on)
        found[key] = (dyad_id, max(latest, number or 0), dates)
    return found


def preview_appointments(content: bytes, clinic: Clinic) -> BatchPreview:
    """Read and check an appointment list for ``clinic``; nothing is stored.

    Raises :class:`BatchError` when the file cannot be read as a list at all; every row that
    cannot be used is named in ``problems`` with its line number.
    """
    header, records = _records(_decode(content))
    index, ignored = _columns(header)
    if len(records) > MAX_ROWS:
        raise BatchError(
            gettext(
                "the file has %(rows)s rows: at most %(limit)s at a time",
                rows=len(records),
                limit=MAX_ROWS,
            )
        )
    if not records:
        raise BatchError(gettext("the file has a header but no appointments"))
    clinicians = _Clinicians(clinic)
    parsed: list[_Parsed] = []
    problems: list[RowProblem] = []
    seen: dict[tuple[int, str, date], int] = {}
    for line, fields in records:
        try:
            row = _parse_row(line, fields, index, len(header), clinicians)
        except ValueError as error:
            problems.append(RowProblem(line, str(error)))
            continue
        key = (row.clinician.id, row.reference, row.appointment_on)
        if key in seen:
            problems.append(RowProblem(line, gettext("duplicate of line %(line)s", line=seen[key])))
            continue
        seen[key] = line
        parsed.append(row)
    rows = _plan_waves(parsed, problems)
    return BatchPreview(
        clinic_id=clinic.id,
        clinic=clinic.name,
        checksum=checksum_of(content),
        rows=tuple(sorted(rows, key=lambda row: row.line)),
        problems=tuple(sorted(problems, key=lambda problem: problem.line)),
        ignored_columns=ignored,
    )


def _plan_waves(parsed: list[_Parsed], problems: list[RowProblem]) -> list[AppointmentRow]:
    """Number each dyad's new waves after its latest one, in appointment order, without gaps."""
    existing = _existing_waves({(row.clinician.id, row.reference) for row in parsed})
    by_dyad: dict[tuple[int, str], list[_Parsed]] = defaultdict(list)
    for row in parsed:
        by_dyad[(row.clinician.id, row.reference)].append(row)
    planned = []
    for key, rows in by_dyad.items():
        _, latest, invited_dates = existing.get(key, (None, 0, set()))
        number = latest
        for row in sorted(rows, key=lambda r: (r.appointment_on, r.line)):
            if row.appointment_on in invited_dates:
                problems.append(
                    RowProblem(
                        row.line,
                        gettext(
                            "%(reference)s with this clinician was already invited for %(date)s",
                            reference=row.reference,
                            date=row.appointment_on.isoformat(),
                        ),
                    )
                )
                continue
            number += 1
            planned.append(
                AppointmentRow(
                    line=row.line,
                    reference=row.reference,
                    clinician_id=row.clinician.id,
                    clinician=row.clinician.name,
                    appointment_on=row.appointment_on,
                    email=row.email,
                    language=row.language,
                    wave=number,
                )
            )
    return planned


def store_appointments(
    content: bytes,
    clinic: Clinic,
    *,
    checksum: str,
    expires_days: int,
    email_clinicians: bool = True,
    actor: str = "cli",
) -> BatchResult:
    """Check the list again and store every row in one transaction, or nothing.

    ``checksum`` is the preview's: a different file, or a row that became invalid since the
    preview (a clinician retired, a wave invited meanwhile), stores nothing and raises
    :class:`BatchError` saying why.
    """
    if checksum_of(content) != checksum:
        raise BatchError(gettext("the file differs from the one previewed; nothing was stored"))
    check_expires_days(expires_days)
    preview = preview_appointments(content, clinic)
    if preview.problems:
        listed = "; ".join(str(problem) for problem in preview.problems[:5])
        more = len(preview.problems) - 5
        if more > 0:
            listed += gettext("; and %(more)s more", more=more)
        raise BatchError(
            gettext(
                "%(count)s row(s) cannot be used (%(listed)s); nothing was stored",
                count=len(preview.problems),
                listed=listed,
            )
        )
    expires_at = utcnow() + timedelta(days=expires_days)
    try:
        created = _create_all(preview.rows, expires_at, email_clinicians)
        record_audit(
            actor,
            "invitation.batch",
            f"clinic:{clinic.id}",
            dyad_waves=len(created),
            with_email=preview.with_email,
            checksum=checksum,
        )
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise BatchError(
            gettext(
                "another change to the same dyads was stored at the same time; nothing was"
                " stored: preview the list again"
            )
        ) from None
    except Exception:
        db.session.rollback()
        raise
    return BatchResult(clinic=clinic.name, created=tuple(created))


def _insert(model, rows: list[dict]) -> None:
    """Insert many rows. A RETURNING makes SQLAlchemy batch them into multi-row INSERTs
    ("insertmanyvalues") on both databases; the ids come back unordered (ordered RETURNING
    goes row by row on SQLite), so callers read them back by each table's unique key."""
    table = model.__table__
    for start in range(0, len(rows), 5000):
        db.session.execute(insert(table).returning(table.c.id), rows[start : start + 5000])


def _ids_by(column, key_columns, keys: list[tuple]) -> dict[tuple, int]:
    """The ids of rows found by their unique key: an IN on the key's last column (plain IN
    lists use the index on both databases; row-value IN lists did not on PostgreSQL), the
    other columns matched here."""
    wanted = set(keys)
    last = sorted({key[-1] for key in keys})
    found = {}
    for start in range(0, len(last), 1000):
        chunk = last[start : start + 1000]
        for row in db.session.execute(
            select(column, *key_columns).where(key_columns[-1].in_(chunk))
        ):
            if tuple(row[1:]) in wanted:
                found[tuple(row[1:])] = row[0]
    return found


def _dyad_ids(rows: tuple[AppointmentRow, ...]) -> dict[tuple[int, str], int]:
    pairs = sorted({(row.reference, row.clinician_id) for row in rows})
    keys = (Dyad.reference, Dyad.clinician_id)  # the IN goes on the indexed clinician_id
    existing = _ids_by(Dyad.id, keys, pairs)
    now = utcnow()
    new = [pair for pair in pairs if pair not in existing]
    _insert(Dyad, [{"clinician_id": c, "reference": r, "created_at": now} for r, c in new])
    found = existing | _ids_by(Dyad.id, keys, new)
    return {(c, r): dyad_id for (r, c), dyad_id in found.items()}


def _create_all(rows, expires_at, email_clinicians: bool) -> list[dict]:
    """Insert the waves, invitations, contacts and messages in bulk (a 10,000-row list is
    about 70,000 rows), all in the caller's transaction."""
    clinician_email = dict(
        db.session.execute(
            select(Clinician.id, Clinician.email).where(
                Clinician.id.in_({row.clinician_id for row in rows})
            )
        ).all()
    )
    dyads = _dyad_ids(rows)
    now = utcnow()
    wave_keys = [(dyads[(row.clinician_id, row.reference)], row.wave) for row in rows]
    _insert(
        Wave,
        [
            {
                "dyad_id": dyad_id,
                "number": number,
                "appointment_on": row.appointment_on,
                "created_at": now,
            }
            for (dyad_id, number), row in zip(wave_keys, rows, strict=True)
        ],
    )
    wave_ids = {
        (dyad_id, number): wave_id
        for (number, dyad_id), wave_id in _ids_by(
            Wave.id, (Wave.number, Wave.dyad_id), [(n, d) for d, n in wave_keys]
        ).items()
    }
    tokens = [(new_token(), new_token()) for _ in rows]
    invitations = []
    for row, wave_key, (patient_token, clinician_token) in zip(
        rows, wave_keys, tokens, strict=True
    ):
        for form, token, language in (
            ("patient", patient_token, row.language),
            ("clinician-dyad", clinician_token, None),
        ):
            invitations.append(
                {
                    "form": form,
                    "clinician_id": row.clinician_id,
                    "wave_id": wave_ids[wave_key],
                    "token_hash": hash_token(token),
                    "state": InvitationState.PENDING.value,
                    "created_at": now,
                    "expires_at": expires_at,
                    "language": language,
                }
            )
    _insert(Invitation, invitations)
    invitation_ids = _ids_by(
        Invitation.id, (Invitation.token_hash,), [(i["token_hash"],) for i in invitations]
    )
    contacts, messages, created = [], [], []
    for row, (patient_token, clinician_token) in zip(rows, tokens, strict=True):
        patient_id = invitation_ids[(hash_token(patient_token),)]
        clinician_id = invitation_ids[(hash_token(clinician_token),)]
        deliveries = []
        if row.email:
            deliveries.append((patient_id, patient_token, row.email, MessageKind.INVITATION))
        address = clinician_email.get(row.clinician_id)
        if email_clinicians and address:
            deliveries.append(
                (clinician_id, clinician_token, address, MessageKind.CLINICIAN_INVITATION)
            )
        for invitation_id, token, to, kind in deliveries:
            contacts.append(
                {
                    "invitation_id": invitation_id,
                    "channel": Channel.EMAIL.value,
                    "address_encrypted": seal(normalise_address(to)),
                    "token_encrypted": seal(token),
                    "created_at": now,
                }
            )
            messages.append(
                {
                    "invitation_id": invitation_id,
                    "channel": Channel.EMAIL.value,
                    "kind": kind.value,
                    "sequence": 0,
                    "status": MessageStatus.QUEUED.value,
                    "due_at": now,
                    "attempts": 0,
                    "created_at": now,
                }
            )
        created.append(
            {
                "line": row.line,
                "dyad": dyads[(row.clinician_id, row.reference)],
                "reference": row.reference,
                "wave": row.wave,
                "appointment_date": row.appointment_on.isoformat(),
                "patient_invitation": patient_id,
                "clinician_invitation": clinician_id,
                "patient_url": survey_url(patient_token),
                "clinician_url": survey_url(clinician_token),
                "email": row.email is not None,
            }
        )
    _insert(InvitationContact, contacts)
    _insert(OutboxMessage, messages)
    return created
