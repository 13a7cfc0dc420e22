"""``healing-survey clinic rename|retire`` and ``clinician rename|retire``: thin Click wrappers
over :mod:`survey.clinics`, added to the ``clinic`` and ``clinician`` groups."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext


def _run(change, *args, as_json: bool, **kwargs) -> dict:
    from survey.clinics import ClinicError

    try:
        record = change(*args, **kwargs)
    except ClinicError as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        click.echo(json.dumps(record, indent=2))
    return record


def _state(record: dict) -> str:
    return f"retired {record['retired_at']}" if record["retired_at"] else "in use"


_json = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")


@click.command("rename", help="Give a clinic a new name; its history keeps it.")
@click.argument("old_name", metavar="OLD")
@click.argument("new_name", metavar="NEW")
@_json
@with_appcontext
def clinic_rename(old_name: str, new_name: str, as_json: bool):
    from survey.clinics import rename_clinic

    record = _run(rename_clinic, old_name, new_name, as_json=as_json)
    if not as_json:
        click.echo(f"clinic {record['id']}: {record['name']}")


@click.command("retire", help="Retire a clinic: history kept, no new invitations.")
@click.argument("name")
@click.option("--undo", is_flag=True, help="Bring a retired clinic back into use.")
@_json
@with_appcontext
def clinic_retire(name: str, undo: bool, as_json: bool):
    from survey.clinics import retire_clinic

    record = _run(retire_clinic, name, retire=not undo, as_json=as_json)
    if not as_json:
        click.echo(f"clinic {record['id']}: {record['name']}, {_state(record)}")


@click.command("rename", help="Give a clinician a new name; their history keeps it.")
@click.argument("clinician_id", metavar="ID", type=int)
@click.argument("name")
@_json
@with_appcontext
def clinician_rename(clinician_id: int, name: str, as_json: bool):
    from survey.clinics import rename_clinician

    record = _run(rename_clinician, clinician_id, name, as_json=as_json)
    if not as_json:
        click.echo(f"clinician {record['id']}: {record['name']} ({record['clinic']})")


@click.command("retire", help="Retire a clinician: history kept, no new invitations.")
@click.argument("clinician_id", metavar="ID", type=int)
@click.option("--undo", is_flag=True, help="Bring a retired clinician back into use.")
@_json
@with_appcontext
def clinician_retire(clinician_id: int, undo: bool, as_json: bool):
    from survey.clinics import retire_clinician

    record = _run(retire_clinician, clinician_id, retire=not undo, as_json=as_json)
    if not as_json:
        click.echo(
            f"clinician {record['id']}: {record['name']} ({record['clinic']}), {_state(record)}"
        )


CLINIC_COMMANDS = (clinic_rename, clinic_retire)
CLINICIAN_COMMANDS = (clinician_rename, clinician_retire)
