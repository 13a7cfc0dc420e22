"""``healing-survey backup``, ``restore``, ``retention`` and ``clinic set-retention``: thin
Click wrappers over survey.operations; imports happen inside the commands so --help is fast."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext


def _database_url() -> str:
    return current_app.config["SQLALCHEMY_DATABASE_URI"]


def _guard():
    from survey.operations import OperationError

    class _Guard:
        def __enter__(self):
            return self

        def __exit__(self, kind, error, traceback):
            if kind is not None and issubclass(kind, OperationError):
                raise click.ClickException(str(error)) from None
            return False

    return _Guard()


def _years(n: int) -> str:
    return "1 year" if n == 1 else f"{n} years"


def _mebibytes(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


@click.command(help="Write a consistent copy of the database while the app keeps serving.")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(path_type=Path),
    help="The backup file to write (replaced if it exists).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@with_appcontext
def backup(out: Path, as_json: bool):
    from survey.operations.backup import backup_database

    with _guard():
        summary = backup_database(_database_url(), out)
    if as_json:
        click.echo(json.dumps(summary.to_dict(), indent=2))
        return
    click.echo(
        f"backed up the {summary.kind} database (schema {summary.revision}) to {summary.path}: "
        f"{_mebibytes(summary.size_bytes)} in {summary.seconds:.1f} s"
    )


@click.command(help="Bring a backup back into an empty database (DATABASE_URL).")
@click.argument("backup_file", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Replace the data of a database that is not empty.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@with_appcontext
def restore(backup_file: Path, force: bool, as_json: bool):
    from survey.extensions import db
    from survey.operations.backup import restore_database

    db.engine.dispose()
    with _guard():
        summary = restore_database(_database_url(), backup_file, force=force)
    if as_json:
        click.echo(json.dumps(summary.to_dict(), indent=2))
    else:
        click.echo(
            f"restored {summary.source} into the {summary.kind} database "
            f"in {summary.seconds:.1f} s; schema at {summary.revision}"
        )
    if not summary.at_head:
        click.echo(
            f"the schema is at {summary.revision}, this version expects {summary.head}: "
            "run `healing-survey db upgrade` before starting the app",
            err=True,
        )


@click.command(help="List what is past each clinic's retention period; --apply deals with it.")
@click.option(
    "--apply", "apply", is_flag=True, help="Delete or de-identify it, as each clinic set."
)
@click.option("--clinic", "clinic_name", default=None, help="Only this clinic (with --apply).")
@click.option(
    "--batch-size",
    type=int,
    default=500,
    show_default=True,
    help="Responses per transaction with --apply.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the records as JSON.")
@with_appcontext
def retention(apply: bool, clinic_name: str | None, batch_size: int, as_json: bool):
    from survey.operations.retention import apply_retention, due_for_retention

    with _guard():
        if apply:
            records = apply_retention(batch_size=batch_size, clinic_name=clinic_name)
        else:
            records = [
                r for r in due_for_retention() if clinic_name is None or r.clinic == clinic_name
            ]
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in records], indent=2))
        return
    if not records:
        click.echo("no clinics")
        return
    verb = {"delete": "deleted", "deidentify": "de-identified"} if apply else None
    for r in records:
        rule = f"{_years(r.years)}, then {r.mode}"
        if apply:
            click.echo(
                f"{r.clinic} ({rule}): {verb[r.mode]} {r.responses} responses; "
                f"{r.dyads} dyads and {r.invitations} unanswered invitations dealt with"
            )
        else:
            oldest = f", oldest {r.oldest}" if r.oldest else ""
            click.echo(
                f"{r.clinic} ({rule}; before {r.cutoff[:10]}): {r.responses} responses, "
                f"{r.dyads} dyads, {r.invitations} unanswered invitations{oldest}"
            )


@click.command("set-retention", help="Set how long a clinic keeps answers, and what then.")
@click.argument("name")
@click.option("--years", type=int, required=True, help="Retention period in years (1-100).")
@click.option(
    "--mode",
    type=click.Choice(["delete", "deidentify"]),
    required=True,
    help="After the period: delete, or keep only de-identified.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the clinic as JSON.")
@with_appcontext
def set_retention(name: str, years: int, mode: str, as_json: bool):
    from survey.operations.retention import set_retention as set_rule

    with _guard():
        record = set_rule(name, years=years, mode=mode)
    if as_json:
        click.echo(json.dumps(record, indent=2))
        return
    click.echo(f"{record['name']}: keep {_years(years)}, then {mode}")
