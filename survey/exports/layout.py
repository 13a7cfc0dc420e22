"""The columns of an export and how one response becomes one row of them.

Missing codes (documented in the codebook): ``-7`` means the respondent chose "does not apply",
``-9`` means the item was left unanswered at submission (skipped); an empty cell means the item
was not part of that response (an older or newer item bank).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime
from hashlib import sha256

from flask_babel import gettext

from items import NOT_APPLICABLE, SKIPPED, Form, load_bank
from survey.dataset import ResponseRecord

NOT_APPLICABLE_CODE = -7
SKIPPED_CODE = -9
MISSING_CODES = {NOT_APPLICABLE: NOT_APPLICABLE_CODE, SKIPPED: SKIPPED_CODE}
MISSING_LABELS = {NOT_APPLICABLE_CODE: "Does not apply", SKIPPED_CODE: "Skipped (no answer)"}


class ExportError(ValueError):
    """An export that cannot be made as asked; the message names the bad value (through
    gettext: in the page's language on the exports page, always English on the CLI)."""


@dataclass(frozen=True)
class Column:
    """One metadata column: its name, its label, and whether it identifies anybody."""

    name: str
    label: str
    kind: str  # "int", "text" or "datetime"


# What was answered and how, in identified and de-identified files alike.
ANSWERED_COLUMNS = (
    Column("wave", "Wave number (measurement occasion of the dyad)", "int"),
    Column("form", "Form id", "text"),
    Column("bank_version", "Item bank version", "text"),
    Column("language", "Language of the form", "text"),
    Column("device", "Device class (phone, tablet, desktop, unknown)", "text"),
)
# Which information text a respondent was shown, in identified and de-identified files alike.
CONSENT_COLUMNS = (
    Column(
        "consent_version",
        "Version of the information (and consent) text shown before the first question; "
        "empty: none shown",
        "int",
    ),
    Column("consent", "agreed (to the consent question) or informed (information only)", "text"),
)
IDENTIFIED_COLUMNS = (
    Column("response_id", "Response id", "int"),
    Column("clinic_id", "Clinic id", "int"),
    Column("clinic", "Clinic name", "text"),
    Column("clinician_id", "Clinician id", "int"),
    Column("clinician", "Clinician name", "text"),
    Column("dyad_id", "Dyad id (one patient-clinician relationship)", "int"),
    Column("dyad_reference", "The clinic's pseudonymous patient reference", "text"),
    *ANSWERED_COLUMNS,
    Column("started_at", "Started (UTC, ISO 8601)", "datetime"),
    Column("submitted_at", "Submitted (UTC, ISO 8601)", "datetime"),
    Column("duration_seconds", "Seconds from start to submission", "int"),
    *CONSENT_COLUMNS,
)
# De-identified: pseudonyms instead of ids and names, no free text, dates to the month.
DEIDENTIFIED_COLUMNS = (
    Column("response", "Response pseudonym", "text"),
    Column("clinic", "Clinic pseudonym", "text"),
    Column("clinician", "Clinician pseudonym", "text"),
    Column("dyad", "Dyad pseudonym", "text"),
    *ANSWERED_COLUMNS,
    Column("started_month", "Month started (UTC, YYYY-MM)", "text"),
    Column("submitted_month", "Month submitted (UTC, YYYY-MM)", "text"),
    Column("duration_seconds", "Seconds from start to submission", "int"),
    *CONSENT_COLUMNS,
)
LONG_ITEM_COLUMNS = (
    Column("item_id", "Item id", "text"),
    Column("construct", "Construct", "text"),
    Column("value", "Answer on the response scale (empty for a code)", "int"),
    Column("code", "not_applicable or skipped (empty for a value)", "text"),
)


class Pseudonymizer:
    """Stable pseudonyms: HMAC-SHA256 of ``kind:id`` under the app's secret key.

    The same key gives the same pseudonym in every export, so waves of one dyad stay linked
    across files, while nobody without the key can go back from a pseudonym to an id.

    Examples
    --------
    >>> names = Pseudonymizer(b"key")
    >>> names("clinician", 3) == names("clinician", 3), names("clinician", 3)[:2]
    (True, 'N-')
    """

    PREFIXES = {"clinic": "C-", "clinician": "N-", "dyad": "D-", "response": "R-"}

    def __init__(self, key: bytes):
        if not key:
            raise ExportError(gettext("a de-identified export needs a SECRET_KEY"))
        self._key = key

    def __call__(self, kind: str, identifier: int | None) -> str:
        if identifier is None:
            return ""
        digest = hmac.new(self._key, f"{kind}:{identifier}".encode(), sha256).hexdigest()
        return self.PREFIXES[kind] + digest[:12]


def _iso(moment: datetime | None) -> str:
    return "" if moment is None else moment.isoformat(timespec="seconds")


def _month(moment: datetime | None) -> str:
    return "" if moment is None else moment.strftime("%Y-%m")


@dataclass(frozen=True)
class Layout:
    """What an export of one form holds: metadata columns, then the items in bank order.

    ``language`` is the language of the item texts and labels (the responses in the file may
    be of any language: their ``language`` column says which); ``translation`` is that text's
    status in the bank ("source", "draft" or "reviewed").
    """

    form: Form
    deidentified: bool
    pseudonyms: Pseudonymizer | None
    language: str = "en"
    translation: str = "source"
    clinician_term: str | None = None

    def form_in(self, language: str | None) -> Form:
        """The form worded in ``language`` (as one response was answered), or in the layout's
        language when the bank does not have that one."""
        if not language or language == self.language or language not in load_bank().languages:
            return self.form
        return load_bank(language=language, clinician_term=self.clinician_term).form(self.form.id)

    @property
    def meta_columns(self) -> tuple[Column, ...]:
        return DEIDENTIFIED_COLUMNS if self.deidentified else IDENTIFIED_COLUMNS

    @property
    def items(self) -> tuple:
        """The items of the wide exports: the form's current items, in bank order."""
        return self.form.items

    @property
    def all_items(self) -> tuple:
        """The current items, then the retired ones (answered under older bank versions): the
        long export and the codebook keep old answers with their own wording."""
        return self.form.items + self.form.retired

    @property
    def item_ids(self) -> tuple[str, ...]:
        return tuple(item.id for item in self.items)

    @property
    def wide_header(self) -> list[str]:
        return [column.name for column in self.meta_columns] + list(self.item_ids)

    @property
    def long_header(self) -> list[str]:
        return [column.name for column in self.meta_columns] + [c.name for c in LONG_ITEM_COLUMNS]

    def meta_values(self, record: ResponseRecord) -> list:
        """The metadata cells of one response, in ``meta_columns`` order."""
        if self.deidentified:
            name = self.pseudonyms
            identity = [
                name("response", record.response_id),
                name("clinic", record.clinic_id),
                name("clinician", record.clinician_id),
                name("dyad", record.dyad_id),
            ]
            stamp = _month
        else:
            identity = [
                record.response_id,
                record.clinic_id,
                record.clinic,
                record.clinician_id,
                record.clinician,
                record.dyad_id,
                record.dyad_reference,
            ]
            stamp = _iso
        return [
            *identity,
            record.wave,
            record.form,
            record.bank_version,
            record.language,
            record.user_agent_class,
            stamp(record.started_at),
            stamp(record.submitted_at),
            record.duration_seconds,
            record.consent_version,
            record.consent or "",
        ]

    def item_codes(self, record: ResponseRecord) -> list[int | None]:
        """Each item's answer as a number: the value, -7, -9, or None if not in the response."""
        answers = record.answers
        cells: list[int | None] = []
        for item_id in self.item_ids:
            answer = answers.get(item_id)
            cells.append(MISSING_CODES.get(answer, answer) if isinstance(answer, str) else answer)
        return cells

    def wide_row(self, record: ResponseRecord) -> list:
        return self.meta_values(record) + self.item_codes(record)

    def long_rows(self, record: ResponseRecord) -> list[list]:
        meta = self.meta_values(record)
        rows = []
        for item in self.all_items:
            answer = record.answers.get(item.id)
            if answer is None:
                continue
            value, code = (None, answer) if isinstance(answer, str) else (answer, None)
            rows.append([*meta, item.id, item.construct, value, code])
        return rows


def layout_for(
    form_id: str,
    *,
    deidentify: bool = False,
    secret_key: str | bytes = b"",
    language: str | None = None,
    clinician_term: str | None = None,
) -> Layout:
    """The layout of an export of ``form_id``, its texts in ``language`` (the bank's own by
    default) naming the clinician by ``clinician_term``; ``ExportError`` naming an unknown form
    or language."""
    source = load_bank()
    if form_id not in source.forms:
        known = ", ".join(source.forms)
        raise ExportError(
            gettext(
                "unknown form %(form)s; expected one of: %(known)s", form=repr(form_id), known=known
            )
        )
    if language is not None and language not in source.languages:
        known = ", ".join(source.languages)
        raise ExportError(
            gettext(
                "unknown language %(language)s; the item bank has: %(known)s",
                language=repr(language),
                known=known,
            )
        )
    bank = load_bank(language=language, clinician_term=clinician_term)
    key = secret_key.encode() if isinstance(secret_key, str) else secret_key
    pseudonyms = Pseudonymizer(key) if deidentify else None
    return Layout(
        form=bank.form(form_id),
        deidentified=deidentify,
        pseudonyms=pseudonyms,
        language=bank.language,
        translation=bank.languages[bank.language],
        clinician_term=clinician_term,
    )
