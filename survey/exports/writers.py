"""Writers that turn chunks of responses into text as they arrive: wide CSV, long CSV, and a
FHIR Bundle of QuestionnaireResponses. Each yields one string per chunk of responses. Also the
CSV text of the instrument's tables (codebook, REDCap dictionary), written whole."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from survey.dataset import ResponseRecord
from survey.exports.layout import Layout
from survey.fhir.resources import ResponseContext, fhir_datetime, questionnaire_response
from survey.spreadsheet import safe_cell


@dataclass
class Tally:
    """Counts what a streaming export wrote; read it after the stream ends."""

    responses: int = 0
    rows: int = 0


def _csv_text(rows: Iterable[list]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([safe_cell(v) for v in row] for row in rows)
    return buffer.getvalue()


def records_csv(header: Sequence[str], records: Iterable[dict[str, str]]) -> str:
    """``records`` as CSV text under ``header``; a field a record lacks is left empty. The texts
    come from the item bank, not from people, so they are written as they are."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return buffer.getvalue()


def wide_csv(layout: Layout, chunks: Iterable[list[ResponseRecord]], tally: Tally) -> Iterator[str]:
    """One row per response: metadata columns, then one column per item."""
    yield _csv_text([layout.wide_header])
    for chunk in chunks:
        tally.responses += len(chunk)
        tally.rows += len(chunk)
        yield _csv_text(layout.wide_row(record) for record in chunk)


def long_csv(layout: Layout, chunks: Iterable[list[ResponseRecord]], tally: Tally) -> Iterator[str]:
    """One row per answer: the response's metadata, the item, its value or its code."""
    yield _csv_text([layout.long_header])
    for chunk in chunks:
        rows = [row for record in chunk for row in layout.long_rows(record)]
        tally.responses += len(chunk)
        tally.rows += len(rows)
        yield _csv_text(rows)


def response_context(layout: Layout, record: ResponseRecord) -> ResponseContext:
    """Where a response came from, as ids, or as pseudonyms in a de-identified export."""
    if layout.deidentified:
        name = layout.pseudonyms
        return ResponseContext(
            id=name("response", record.response_id),
            clinician=name("clinician", record.clinician_id),
            dyad=name("dyad", record.dyad_id) or None,
            wave=record.wave,
            authored=fhir_datetime(record.submitted_at, month_only=True),
            language=record.language,
        )
    return ResponseContext(
        id=str(record.response_id),
        clinician=str(record.clinician_id),
        dyad=None if record.dyad_id is None else str(record.dyad_id),
        wave=record.wave,
        authored=fhir_datetime(record.submitted_at, month_only=False),
        language=record.language,
    )


def fhir_bundle(
    layout: Layout, chunks: Iterable[list[ResponseRecord]], tally: Tally, *, version: str
) -> Iterator[str]:
    """A FHIR ``collection`` Bundle with one QuestionnaireResponse entry per response, each in
    the language it was answered in."""
    yield '{"resourceType": "Bundle", "type": "collection", "entry": ['
    first = True
    for chunk in chunks:
        entries = []
        for record in chunk:
            resource = questionnaire_response(
                layout.form_in(record.language),
                record.answers,
                context=response_context(layout, record),
                version=version,
            )
            entries.append(json.dumps({"resource": resource}, separators=(",", ":")))
        if entries:
            yield ("" if first else ",") + "\n" + ",\n".join(entries)
            first = False
        tally.responses += len(chunk)
        tally.rows += len(chunk)
    yield "\n]}\n"
