"""Exports as a service for the CLI and the download page: pick the format, stream the file,
and write one audit event per export (who, what, how many rows, whether it finished)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from flask_babel import gettext, lazy_gettext

from items import load_bank
from survey.dataset import DEFAULT_CHUNK_SIZE, ResponseFilter, iter_response_chunks
from survey.exports.layout import ExportError, Layout, layout_for
from survey.exports.writers import Tally, fhir_bundle, long_csv, wide_csv
from survey.extensions import db
from survey.models import record_audit


@dataclass(frozen=True)
class ExportFormat:
    """A format: its file suffix, media type, and whether it holds responses or the instrument."""

    name: str
    suffix: str
    mimetype: str
    description: str  # shown on the exports page, in its language
    holds_responses: bool


FORMATS = {
    fmt.name: fmt
    for fmt in (
        ExportFormat("csv", ".csv", "text/csv", lazy_gettext("CSV, one row per response"), True),
        ExportFormat(
            "csv-long", "-long.csv", "text/csv", lazy_gettext("CSV, one row per answer"), True
        ),
        ExportFormat(
            "sav", ".sav", "application/x-spss-sav", lazy_gettext("SPSS with labels"), True
        ),
        ExportFormat(
            "dta", ".dta", "application/x-stata-dta", lazy_gettext("Stata with labels"), True
        ),
        ExportFormat(
            "fhir-bundle",
            "-responses.fhir.json",
            "application/fhir+json",
            lazy_gettext("FHIR R4 Bundle of QuestionnaireResponses"),
            True,
        ),
        ExportFormat(
            "codebook", "-codebook.csv", "text/csv", lazy_gettext("Codebook (CSV)"), False
        ),
        ExportFormat(
            "codebook-md",
            "-codebook.md",
            "text/markdown",
            lazy_gettext("Codebook (Markdown)"),
            False,
        ),
        ExportFormat(
            "r-script", ".R", "text/plain", lazy_gettext("R script that reads the CSV"), False
        ),
        ExportFormat(
            "fhir-questionnaire",
            "-questionnaire.fhir.json",
            "application/fhir+json",
            lazy_gettext("FHIR R4 Questionnaire"),
            False,
        ),
        ExportFormat(
            "redcap-dictionary",
            "-redcap-dictionary.csv",
            "text/csv",
            lazy_gettext("REDCap data dictionary"),
            False,
        ),
        ExportFormat(
            "scale-spec",
            "-scales.yaml",
            "application/yaml",
            lazy_gettext("Scale specification for healing-survey analyze --scales"),
            False,
        ),
    )
}
BINARY_FORMATS = ("sav", "dta")


@dataclass(frozen=True)
class ExportRequest:
    """What to export; ``clinic_id`` limits the responses to one clinic (a manager's view),
    whose forms' word for the clinician the texts then use. ``language`` is the language of
    item texts and labels (the bank's own by default); responses of every language are
    exported, each with its ``language``."""

    format: str
    form: str = "patient"
    deidentify: bool = False
    clinic_id: int | None = None
    language: str | None = None

    @property
    def export_format(self) -> ExportFormat:
        try:
            return FORMATS[self.format]
        except KeyError:
            known = ", ".join(FORMATS)
            raise ExportError(
                gettext(
                    "unknown format %(format)s; expected one of: %(known)s",
                    format=repr(self.format),
                    known=known,
                )
            ) from None

    @property
    def filename(self) -> str:
        return export_filename(
            self.form, self.format, deidentify=self.deidentify, language=self.language
        )


SELF_ASSESSMENT = "clinician-self"


def export_filename(form: str, fmt: str, *, deidentify: bool, language: str | None = None) -> str:
    """The file's name; a language other than the bank's own is part of it.

    >>> export_filename("patient", "codebook", deidentify=False, language="es")
    'healing-survey-patient-es-codebook.csv'
    """
    suffix = FORMATS[fmt].suffix
    labels = f"-{language}" if language and language != load_bank().language else ""
    return f"healing-survey-{form}{'-deidentified' if deidentify else ''}{labels}{suffix}"


@dataclass(frozen=True)
class ExportSummary:
    format: str
    form: str
    deidentified: bool
    responses: int
    rows: int
    path: str | None = None
    language: str = "en"

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def _chunks(request: ExportRequest, chunk_size: int):
    selection = ResponseFilter(form=request.form, clinic_id=request.clinic_id)
    return iter_response_chunks(selection, chunk_size=chunk_size)


def _instrument_text(request: ExportRequest, layout: Layout) -> str:
    from survey.exports.codebook import codebook_csv, codebook_markdown, r_script
    from survey.exports.redcap import data_dictionary_csv
    from survey.exports.scale_spec import scale_spec_yaml
    from survey.fhir.resources import questionnaire

    term = _clinician_term(request)
    makers: dict[str, Callable[[], str]] = {
        "codebook": lambda: codebook_csv(layout),
        "codebook-md": lambda: codebook_markdown(layout, bank_version=load_bank().version),
        "r-script": lambda: r_script(
            layout, csv_name=export_filename(request.form, "csv", deidentify=request.deidentify)
        ),
        "fhir-questionnaire": lambda: (
            json.dumps(
                questionnaire(request.form, language=layout.language, clinician_term=term), indent=2
            )
            + "\n"
        ),
        "redcap-dictionary": lambda: data_dictionary_csv(layout.form),
        "scale-spec": lambda: scale_spec_yaml(layout.form),
    }
    return makers[request.format]()


def _text_stream(request: ExportRequest, layout: Layout, tally: Tally, chunk_size: int):
    if not request.export_format.holds_responses:
        return iter([_instrument_text(request, layout)])
    chunks = _chunks(request, chunk_size)
    if request.format == "csv":
        return wide_csv(layout, chunks, tally)
    if request.format == "csv-long":
        return long_csv(layout, chunks, tally)
    return fhir_bundle(layout, chunks, tally, version=load_bank().version)


def _write_binary(request: ExportRequest, layout: Layout, path: Path, tally: Tally, chunk_size):
    from survey.exports.labelled import write_dta, write_sav

    widths = _text_widths(layout)
    write = write_sav if request.format == "sav" else write_dta
    chunks = _chunks(request, chunk_size)
    write(path, layout, chunks, tally, text_widths=widths, languages=_language_codes())


def _language_codes() -> dict[str, int]:
    """The numbers of the labelled files' language column: the bank's languages, and any other
    language responses were given in (declared before the first row, like text widths)."""
    from sqlalchemy import select

    from survey.languages import language_codes
    from survey.models import Response

    return language_codes(db.session.scalars(select(Response.language).distinct()))


def _text_widths(layout: Layout) -> dict[str, int]:
    """The widest value of each text column in UTF-8 bytes, which .sav and .dta files declare
    before their first row: from the distinct values in the database (a superset of the
    export's)."""
    from sqlalchemy import select

    from survey.models import Clinic, Clinician, Dyad, Response

    sources = {
        "clinic": Clinic.name,
        "clinician": Clinician.name,
        "dyad_reference": Dyad.reference,
        "form": Response.form,
        "bank_version": Response.bank_version,
        "language": Response.language,
        "device": Response.user_agent_class,
        "consent": Response.consent_answer,
    }
    widths = {}
    for column in layout.meta_columns:
        if column.kind != "text":
            continue
        if layout.deidentified and column.name in ("response", "clinic", "clinician", "dyad"):
            widths[column.name] = len(layout.pseudonyms(column.name, 1))
        elif column.name in ("started_month", "submitted_month"):
            widths[column.name] = len("YYYY-MM")
        else:
            query = select(sources[column.name]).distinct().execution_options(yield_per=1000)
            values = db.session.scalars(query)
            widths[column.name] = max((len(v.encode()) for v in values if v), default=1)
    return widths


def _layout(request: ExportRequest, secret_key: str | bytes) -> Layout:
    request.export_format  # noqa: B018 - raises ExportError for an unknown format
    _check_self_assessments(request)
    return layout_for(
        request.form,
        deidentify=request.deidentify,
        secret_key=secret_key,
        language=request.language,
        clinician_term=_clinician_term(request),
    )


def _clinician_term(request: ExportRequest) -> str | None:
    """A clinic's export names the clinician as that clinic's forms do; others say
    "clinician"."""
    from survey.models import Clinic

    if request.clinic_id is None:
        return None
    clinic = db.session.get(Clinic, request.clinic_id)
    return None if clinic is None else clinic.clinician_term


def _check_self_assessments(request: ExportRequest) -> None:
    """Clinicians were told their self-assessments reach others only combined or nameless."""
    if request.form != SELF_ASSESSMENT or not request.export_format.holds_responses:
        return
    if request.clinic_id is not None:
        raise ExportError(
            gettext(
                "clinician self-assessments are not exported for a clinic: its managers see them"
                " only combined on the dashboard"
            )
        )
    if not request.deidentify:
        raise ExportError(
            gettext("clinician self-assessments are exported only de-identified (--deidentify)")
        )


def _audit(actor: str, request: ExportRequest, tally: Tally, *, complete: bool) -> None:
    db.session.rollback()
    record_audit(
        actor,
        "export",
        f"form:{request.form}",
        format=request.format,
        deidentified=request.deidentify,
        clinic_id=request.clinic_id,
        language=layout_language(request),
        responses=tally.responses,
        rows=tally.rows,
        complete=complete,
    )
    db.session.commit()


def export_to_path(
    request: ExportRequest,
    path: Path,
    *,
    actor: str,
    secret_key: str | bytes,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> ExportSummary:
    """Write the export to ``path`` chunk by chunk, audit it, and say how many rows it holds."""
    layout = _layout(request, secret_key)
    tally = Tally()
    complete = False
    try:
        if request.format in BINARY_FORMATS:
            _write_binary(request, layout, path, tally, chunk_size)
        else:
            with open(path, "w", encoding="utf-8", newline="") as out:
                for text in _text_stream(request, layout, tally, chunk_size):
                    out.write(text)
        complete = True
    finally:
        _audit(actor, request, tally, complete=complete)
    return ExportSummary(
        format=request.format,
        form=request.form,
        deidentified=request.deidentify,
        responses=tally.responses,
        rows=tally.rows,
        path=str(path),
        language=layout.language,
    )


def layout_language(request: ExportRequest) -> str:
    return request.language or load_bank().language


def _file_blocks(path: Path, block_size: int = 1 << 16) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        while block := handle.read(block_size):
            yield block


def export_stream(
    request: ExportRequest,
    *,
    actor: str,
    secret_key: str | bytes,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> Iterator[bytes]:
    """The export as a stream of bytes for a download; the audit event is written at its end.

    Checks the request before the first byte, so a bad format or form raises ``ExportError``
    at the call, not in the middle of a response.
    """
    layout = _layout(request, secret_key)
    return _audited_stream(request, layout, actor=actor, chunk_size=chunk_size)


def _audited_stream(request, layout, *, actor, chunk_size) -> Iterator[bytes]:
    tally = Tally()
    complete = False
    try:
        if request.format in BINARY_FORMATS:
            handle, name = tempfile.mkstemp(suffix=request.export_format.suffix)
            os.close(handle)
            try:
                _write_binary(request, layout, Path(name), tally, chunk_size)
                yield from _file_blocks(Path(name))
            finally:
                os.unlink(name)
        else:
            for text in _text_stream(request, layout, tally, chunk_size):
                yield text.encode("utf-8")
        complete = True
    finally:
        _audit(actor, request, tally, complete=complete)
