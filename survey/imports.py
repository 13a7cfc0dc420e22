"""Importing answers collected elsewhere (a REDCap data export, or our own wide CSV) as
submitted responses, stored exactly as a web submission would be.

A record's answers: ``1``..``5`` a value, ``-7`` "does not apply", empty or ``-9`` skipped.
Where each record goes comes from a mapping the user provides (see :func:`read_placements`).
Everything is checked before anything is stored.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from items import NOT_APPLICABLE, Form, load_bank
from survey.exports.layout import NOT_APPLICABLE_CODE, SKIPPED_CODE
from survey.extensions import db
from survey.models import Clinician, Dyad, Invitation, InvitationState, Wave, record_audit

RECORD_COLUMNS = ("record_id", "response_id")
IMPORT_USER_AGENT = None  # stored as device class "unknown"


class RecordImportError(ValueError):
    """An import that cannot be done; the message names the record, column and value."""


@dataclass(frozen=True)
class Placement:
    """Where one record's answers go: a clinician, and for dyad forms a dyad and wave.

    ``dyad_id`` or ``reference`` name an existing dyad of the clinician (a new one is made for
    an unknown reference or when both are empty); ``wave`` defaults to the dyad's next wave.
    """

    clinician_id: int
    dyad_id: int | None = None
    reference: str | None = None
    wave: int | None = None


@dataclass(frozen=True)
class ImportSummary:
    form: str
    responses: int
    response_ids: tuple[int, ...]

    def to_dict(self) -> dict:
        return {"form": self.form, "responses": self.responses, "response_ids": self.response_ids}


def _record_column(header: Iterable[str]) -> str:
    for name in RECORD_COLUMNS:
        if name in header:
            return name
    raise RecordImportError(f"the data has no {' or '.join(RECORD_COLUMNS)} column")


def _answer(form: Form, item_id: str, raw: str, record: str) -> int | str | None:
    raw = raw.strip()
    if raw in ("", str(SKIPPED_CODE)):
        return None
    item = form.item(item_id)
    if raw == str(NOT_APPLICABLE_CODE) and item.not_applicable:
        return NOT_APPLICABLE
    allowed = {str(option.value): option.value for option in item.scale.options}
    if raw not in allowed:
        extra = f", {NOT_APPLICABLE_CODE}" if item.not_applicable else ""
        raise RecordImportError(
            f"record {record}: {item_id}={raw!r} is not an answer; expected one of "
            f"{', '.join(allowed)}{extra}, {SKIPPED_CODE} or empty"
        )
    return allowed[raw]


def parse_records(rows: list[dict[str, str]], form: Form) -> dict[str, dict[str, int | str]]:
    """Each record's answers by record id; columns that are not items are ignored."""
    if not rows:
        raise RecordImportError("the data file has no records")
    header = rows[0].keys()
    record_column = _record_column(header)
    item_columns = [item.id for item in form.items if item.id in header]
    if not item_columns:
        raise RecordImportError(f"the data has no item of the {form.id!r} form; another form?")
    records: dict[str, dict[str, int | str]] = {}
    for row in rows:
        record = (row.get(record_column) or "").strip()
        if not record:
            raise RecordImportError(f"a row has an empty {record_column}")
        if record in records:
            raise RecordImportError(f"record {record} appears twice")
        answers = {}
        for item_id in item_columns:
            value = _answer(form, item_id, row.get(item_id) or "", record)
            if value is not None:
                answers[item_id] = value
        records[record] = answers
    return records


def _optional_int(row: dict[str, str], column: str, record: str) -> int | None:
    raw = (row.get(column) or "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise RecordImportError(
            f"record {record}: {column}={raw!r} is not a whole number"
        ) from None


def read_placements(rows: list[dict[str, str]]) -> dict[str, Placement]:
    """Placements by record id from rows with ``record_id`` (or ``response_id``),
    ``clinician_id`` and optionally ``dyad_id``, ``reference`` (or ``dyad_reference``), ``wave``.
    """
    if not rows:
        return {}
    record_column = _record_column(rows[0].keys())
    placements = {}
    for row in rows:
        record = (row.get(record_column) or "").strip()
        clinician_id = _optional_int(row, "clinician_id", record)
        if clinician_id is None:
            raise RecordImportError(f"record {record}: no clinician_id in the mapping")
        reference = (row.get("reference") or row.get("dyad_reference") or "").strip() or None
        placements[record] = Placement(
            clinician_id=clinician_id,
            dyad_id=_optional_int(row, "dyad_id", record),
            reference=reference,
            wave=_optional_int(row, "wave", record),
        )
    return placements


def _existing_dyad(placement: Placement) -> Dyad | None:
    if placement.dyad_id is not None:
        return db.session.get(Dyad, placement.dyad_id)
    if placement.reference is None:
        return None
    return db.session.scalar(
        select(Dyad).where(
            Dyad.clinician_id == placement.clinician_id, Dyad.reference == placement.reference
        )
    )


def _check_placement(record: str, placement: Placement, form: Form) -> None:
    if db.session.get(Clinician, placement.clinician_id) is None:
        raise RecordImportError(f"record {record}: no clinician with id {placement.clinician_id}")
    if form.id == "clinician-self":
        return
    dyad = _existing_dyad(placement)
    if placement.dyad_id is not None and (
        dyad is None or dyad.clinician_id != placement.clinician_id
    ):
        raise RecordImportError(
            f"record {record}: dyad {placement.dyad_id} is not a dyad of clinician "
            f"{placement.clinician_id}"
        )
    if dyad is None or placement.wave is None:
        return
    submitted = db.session.scalar(
        select(Invitation.id)
        .join(Wave, Invitation.wave_id == Wave.id)
        .where(
            Wave.dyad_id == dyad.id,
            Wave.number == placement.wave,
            Invitation.form == form.id,
            Invitation.state == InvitationState.SUBMITTED,
        )
    )
    if submitted is not None:
        raise RecordImportError(
            f"record {record}: dyad {dyad.id} wave {placement.wave} already has a submitted "
            f"{form.id} response"
        )


def _target_invitation(placement: Placement, form: Form) -> Invitation:
    from survey.invitations import invite_dyad, invite_self_assessment

    if form.id == "clinician-self":
        invite_self_assessment(placement.clinician_id, actor="import")
        return db.session.scalar(
            select(Invitation)
            .where(
                Invitation.clinician_id == placement.clinician_id,
                Invitation.form == form.id,
            )
            .order_by(Invitation.id.desc())
            .limit(1)
        )
    dyad = _existing_dyad(placement)
    wave = None
    if dyad is not None and placement.wave is not None:
        wave = db.session.scalar(
            select(Wave).where(Wave.dyad_id == dyad.id, Wave.number == placement.wave)
        )
    if wave is None:
        links = invite_dyad(
            placement.clinician_id,
            wave=placement.wave,
            dyad_id=None if dyad is None else dyad.id,
            reference=None if dyad is not None else placement.reference,
            actor="import",
        )
        wave = db.session.scalar(
            select(Wave).where(Wave.dyad_id == links.dyad, Wave.number == links.wave)
        )
    return db.session.scalar(
        select(Invitation).where(Invitation.wave_id == wave.id, Invitation.form == form.id)
    )


def store_answers(invitation: Invitation, answers: dict[str, int | str], *, language: str):
    """Store answers and submit through the respondent flow, exactly as a web submission,
    in one transaction: all answers are kept and submitted, or nothing is."""
    from survey.respond import flow

    return flow.submit(
        invitation, user_agent=IMPORT_USER_AGENT, language=language, answers=dict(answers)
    )


def import_records(
    records: dict[str, dict[str, int | str]],
    placements: dict[str, Placement],
    *,
    form_id: str,
    actor: str,
) -> ImportSummary:
    """Check every record's placement, then store each as a submitted response."""
    bank = load_bank()
    form = bank.form(form_id)
    targets: dict[tuple, str] = {}
    for record in records:
        if record not in placements:
            raise RecordImportError(f"record {record} has no row in the mapping")
        placement = placements[record]
        _check_placement(record, placement, form)
        target = (placement.clinician_id, placement.dyad_id, placement.reference, placement.wave)
        if form.id != "clinician-self" and placement.wave is not None and target in targets:
            raise RecordImportError(
                f"records {targets[target]} and {record} go to the same dyad and wave"
            )
        targets[target] = record
    stored = []
    for record, answers in records.items():
        invitation = _target_invitation(placements[record], form)
        stored.append(store_answers(invitation, answers, language=bank.language).id)
    record_audit(actor, "import", f"form:{form_id}", responses=len(stored))
    db.session.commit()
    return ImportSummary(form=form_id, responses=len(stored), response_ids=tuple(stored))


def _read_csv(path: str) -> list[dict[str, str]]:
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            return list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise RecordImportError(f"cannot read {path}: {error}") from None


def import_csv_files(
    data_path: str, *, form: str, mapping_path: str | None, actor: str
) -> ImportSummary:
    """Import a REDCap export (or our wide CSV) with an optional mapping file."""
    bank = load_bank()
    if form not in bank.forms:
        raise RecordImportError(f"unknown form {form!r}; expected one of {', '.join(bank.forms)}")
    rows = _read_csv(data_path)
    records = parse_records(rows, bank.form(form))
    placements = read_placements(_read_csv(mapping_path) if mapping_path else rows)
    return import_records(records, placements, form_id=form, actor=actor)
