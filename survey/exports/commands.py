"""``healing-survey export`` and ``healing-survey import-redcap``: thin Click commands."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

EXPORT_FORMATS = (
    "csv",
    "csv-long",
    "codebook",
    "codebook-md",
    "r-script",
    "sav",
    "dta",
    "fhir-questionnaire",
    "fhir-bundle",
    "redcap-dictionary",
    "scale-spec",
)
FORM_IDS = ("patient", "clinician-dyad", "clinician-self")


@click.command(help="Export responses or the instrument to a file, in chunks (audited).")
@click.option("--format", "fmt", type=click.Choice(EXPORT_FORMATS), required=True)
@click.option("--form", type=click.Choice(FORM_IDS), default="patient", show_default=True)
@click.option("--deidentify", is_flag=True, help="Pseudonyms, no free text, dates to the month.")
@click.option(
    "--language",
    default=None,
    help="Language of item texts and labels (en, es; default: the bank's own). Responses of "
    "every language are exported; their language column says which.",
)
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True), required=True)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@with_appcontext
def export(fmt: str, form: str, deidentify: bool, language: str | None, out: str, as_json: bool):
    from pathlib import Path

    from flask import current_app

    from survey.exports.layout import ExportError
    from survey.exports.service import ExportRequest, export_to_path

    request = ExportRequest(format=fmt, form=form, deidentify=deidentify, language=language)
    try:
        summary = export_to_path(
            request, Path(out), actor="cli", secret_key=current_app.config["SECRET_KEY"]
        )
    except (ExportError, OSError) as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        click.echo(json.dumps(summary.to_dict(), indent=2))
    elif request.export_format.holds_responses:
        click.echo(f"{out}: {summary.responses} responses, {summary.rows} rows ({fmt}, {form})")
    else:
        click.echo(f"{out}: the {form} form ({fmt}, {summary.language})")


@click.command(
    "import-redcap",
    help="Import a REDCap data export (CSV, raw values) of our instrument as submitted "
    "responses. MAPPING is a CSV with record_id, clinician_id and optionally dyad_id, "
    "reference and wave; without it each row's own clinician_id, dyad_id and wave are used.",
)
@click.argument("data", type=click.Path(exists=True, dir_okay=False))
@click.option("--form", type=click.Choice(FORM_IDS), default="patient", show_default=True)
@click.option("--mapping", type=click.Path(exists=True, dir_okay=False), default=None)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@with_appcontext
def import_redcap(data: str, form: str, mapping: str | None, as_json: bool):
    from survey.imports import RecordImportError, import_csv_files

    try:
        summary = import_csv_files(data, form=form, mapping_path=mapping, actor="cli")
    except RecordImportError as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        click.echo(json.dumps(summary.to_dict(), indent=2))
    else:
        click.echo(f"imported {summary.responses} {form} responses from {data}")
