"""The project's own CLI commands: thin Click wrappers that parse options, call a function of
the app and print its result. Imports happen inside the commands so that ``--help`` is fast."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup, with_appcontext

from survey.analysis_command import analyze
from survey.api.commands import token
from survey.audit.commands import audit
from survey.auth.commands import user
from survey.consent.commands import set_withdrawal
from survey.delivery.commands import send
from survey.exports.commands import export, import_redcap
from survey.invitations.commands import invitation, invite
from survey.operations.commands import backup, restore, retention, set_retention
from survey.staff.commands import CLINIC_COMMANDS, CLINICIAN_COMMANDS


def _emit(records: dict | list, *, as_json: bool, lines: list[str]) -> None:
    if as_json:
        click.echo(json.dumps(records, indent=2))
    else:
        click.echo("\n".join(lines))


def _fail_on(*errors: type[Exception]):
    """Turn the project's own errors into a one-line CLI message and a non-zero exit."""

    class _Guard:
        def __enter__(self):
            return self

        def __exit__(self, kind, error, traceback):
            if kind is not None and issubclass(kind, errors):
                raise click.ClickException(str(error)) from None
            return False

    return _Guard()


def _retired(record: dict) -> str:
    return f"\t(retired {record['retired_at'][:10]})" if record.get("retired_at") else ""


def _json_option(what: str):
    return click.option("--json", "as_json", is_flag=True, help=f"Print {what} as JSON.")


@click.group(cls=AppGroup, help="Create, list, rename, retire and set up clinics.")
def clinic():
    pass


CLINICIAN_TERM_HELP = (
    "How the clinic's forms name the clinician: clinician (default), doctor or "
    "nurse_practitioner (the item bank's clinician_terms), in every language."
)


def _term_line(record: dict) -> str:
    from survey.clinics import clinician_terms

    return f"the forms say 'your {clinician_terms()[record['clinician_term']]}'"


@clinic.command("add", help="Add a clinic.")
@click.argument("name")
@click.option("--clinician-term", default=None, help=CLINICIAN_TERM_HELP)
@_json_option("the new clinic")
def clinic_add(name: str, clinician_term: str | None, as_json: bool):
    from survey.clinics import ClinicError, add_clinic

    with _fail_on(ClinicError):
        record = add_clinic(name, clinician_term=clinician_term)
    _emit(
        record,
        as_json=as_json,
        lines=[f"clinic {record['id']}: {record['name']} ({_term_line(record)})"],
    )


@clinic.command("set", help="Change a clinic's settings (audited).")
@click.argument("name")
@click.option("--clinician-term", default=None, help=CLINICIAN_TERM_HELP)
@_json_option("the clinic")
def clinic_set(name: str, clinician_term: str | None, as_json: bool):
    from survey.clinics import ClinicError, set_clinician_term_by_name

    if clinician_term is None:
        raise click.UsageError("nothing to change; give --clinician-term")
    with _fail_on(ClinicError):
        record = set_clinician_term_by_name(name, clinician_term)
    _emit(record, as_json=as_json, lines=[f"{record['name']}: {_term_line(record)}"])


@clinic.command("list", help="List the clinics.")
@_json_option("the clinics")
def clinic_list(as_json: bool):
    from survey.clinics import list_clinics

    records = list_clinics()
    _emit(
        records,
        as_json=as_json,
        lines=[f"{r['id']}\t{r['name']}\t{r['clinician_term']}{_retired(r)}" for r in records],
    )


clinic.add_command(set_retention)
clinic.add_command(set_withdrawal)


@click.group(cls=AppGroup, help="Create, list, rename and retire clinicians.")
def clinician():
    pass


@clinician.command("add", help="Add a clinician to a clinic.")
@click.option("--clinic", "clinic_name", required=True, help="Name of an existing clinic.")
@click.option("--name", required=True, help="The clinician's name as the clinic shows it.")
@click.option("--email", default=None, help="Optional e-mail address.")
@_json_option("the new clinician")
def clinician_add(clinic_name: str, name: str, email: str | None, as_json: bool):
    from survey.clinics import ClinicError, add_clinician

    with _fail_on(ClinicError):
        record = add_clinician(clinic_name, name, email=email)
    _emit(
        record,
        as_json=as_json,
        lines=[f"clinician {record['id']}: {record['name']} ({record['clinic']})"],
    )


@clinician.command("list", help="List clinicians.")
@click.option("--clinic", "clinic_name", default=None, help="Only this clinic's clinicians.")
@_json_option("the clinicians")
def clinician_list(clinic_name: str | None, as_json: bool):
    from survey.clinics import ClinicError, list_clinicians

    with _fail_on(ClinicError):
        records = list_clinicians(clinic_name)
    _emit(
        records,
        as_json=as_json,
        lines=[f"{r['id']}\t{r['clinic']}\t{r['name']}{_retired(r)}" for r in records],
    )


@click.command("self-invite", help="Create a clinician's self-assessment link.")
@click.option("--clinician", "clinician_id", type=int, required=True, help="Clinician id.")
@click.option(
    "--expires-days",
    type=int,
    default=None,
    help="Days the link stays valid, 1 to 3650 (default 30).",
)
@_json_option("the link")
@with_appcontext
def self_invite(clinician_id, expires_days, as_json):
    from flask import current_app

    from survey.invitations import InvitationError, invite_self_assessment

    days = (
        current_app.config["HEALING_SURVEY_INVITATION_DAYS"]
        if expires_days is None
        else expires_days
    )
    with _fail_on(InvitationError):
        link = invite_self_assessment(clinician_id, expires_days=days)
    _emit(link.to_dict(), as_json=as_json, lines=[f"self-assessment: {link.url}"])


DEMO_MANAGER = "manager@demo.example"


@click.command(help="Seed a demo clinic with synthetic dyads (upgrades the database first).")
@click.option("--dyads", type=int, default=300, show_default=True, help="Number of dyads.")
@click.option("--seed", type=int, default=2008, show_default=True, help="Random seed.")
@_json_option("the summary")
@with_appcontext
def demo(dyads: int, seed: int, as_json: bool):
    from flask_migrate import upgrade

    from survey.auth.accounts import add_account
    from survey.demo import DEMO_CLINIC, DemoError, DemoExists, create_demo
    from survey.invitations import absolute_url

    upgrade()
    try:
        summary = create_demo(dyads=dyads, seed=seed)
    except DemoExists as exists:
        click.echo(
            f"{exists}; nothing was added. Its manager is {DEMO_MANAGER}; the password was shown"
            " only the first time. To set a new one, run:\n"
            f"  healing-survey user set-password --email {DEMO_MANAGER}"
        )
        return
    except DemoError as error:
        raise click.ClickException(str(error)) from None
    manager, password = add_account(DEMO_MANAGER, "manager", clinic_name=DEMO_CLINIC)
    record = summary.to_dict() | {"manager": manager["email"], "password": password.password}
    _emit(
        record,
        as_json=as_json,
        lines=[
            f"{summary.clinic}: {summary.clinicians} clinicians, {summary.dyads} dyads, "
            f"{summary.waves} waves, {summary.responses} responses, {summary.answers} answers",
            "Try the survey (after 'healing-survey run'):",
            f"  patient:   {summary.patient_url}",
            f"  clinician: {summary.clinician_url}",
            f"See the dashboard at {absolute_url('/sign-in')} as the clinic's manager",
            f"  e-mail:    {manager['email']}",
            f"  password:  {password.password}   (shown only now)",
        ],
    )


@click.command(help="Release complete blocks of answers to the dashboards (run from cron).")
@click.option("--clinic", "clinic_name", default=None, help="Only this clinic (default: all).")
@_json_option("what was released")
@with_appcontext
def release(clinic_name: str | None, as_json: bool):
    from flask import current_app

    from survey.clinics import ClinicError, find_clinic
    from survey.release import ReleaseError, release_blocks

    with _fail_on(ClinicError, ReleaseError):
        clinic_id = None if clinic_name is None else find_clinic(clinic_name).id
        report = release_blocks(
            clinic_id,
            min_cell=current_app.config["HEALING_SURVEY_MIN_CELL"],
            withdrawal_days=current_app.config.get("HEALING_SURVEY_WITHDRAWAL_DAYS", 0),
        )
    _emit(
        report.to_dict(),
        as_json=as_json,
        lines=[
            f"{report.blocks} blocks released ({report.dyad_waves} dyad waves) in "
            f"{report.clinics} clinics; {report.held_back_dyad_waves} answered dyad waves wait "
            "for their block"
        ],
    )


for _command in CLINIC_COMMANDS:
    clinic.add_command(_command)
for _command in CLINICIAN_COMMANDS:
    clinician.add_command(_command)

COMMANDS = (
    clinic,
    clinician,
    invite,
    invitation,
    self_invite,
    demo,
    release,
    analyze,
    export,
    import_redcap,
    user,
    token,
    send,
    audit,
    backup,
    restore,
    retention,
)


def register_commands(app) -> None:
    for command in COMMANDS:
        app.cli.add_command(command)
