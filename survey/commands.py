"""The project's own CLI commands: thin Click wrappers that parse options, call a function of
the app and print its result. Imports happen inside the commands so that ``--help`` is fast."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup, with_appcontext

from survey.api.commands import token
from survey.audit.commands import audit
from survey.auth.commands import user
from survey.exports.commands import export, import_redcap
from survey.operations.commands import backup, restore, retention, set_retention


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


def _json_option(what: str):
    return click.option("--json", "as_json", is_flag=True, help=f"Print {what} as JSON.")


@click.group(cls=AppGroup, help="Create and list clinics.")
def clinic():
    pass


@clinic.command("add", help="Add a clinic.")
@click.argument("name")
@_json_option("the new clinic")
def clinic_add(name: str, as_json: bool):
    from survey.clinics import ClinicError, add_clinic

    with _fail_on(ClinicError):
        record = add_clinic(name)
    _emit(record, as_json=as_json, lines=[f"clinic {record['id']}: {record['name']}"])


@clinic.command("list", help="List the clinics.")
@_json_option("the clinics")
def clinic_list(as_json: bool):
    from survey.clinics import list_clinics

    records = list_clinics()
    _emit(records, as_json=as_json, lines=[f"{r['id']}\t{r['name']}" for r in records])


clinic.add_command(set_retention)


@click.group(cls=AppGroup, help="Create and list clinicians.")
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
        lines=[f"{r['id']}\t{r['clinic']}\t{r['name']}" for r in records],
    )


@click.command(help="Create one dyad wave: a patient link and a clinician-dyad link.")
@click.option("--clinician", "clinician_id", type=int, required=True, help="Clinician id.")
@click.option("--wave", type=int, default=None, help="Wave number (default: the next one).")
@click.option("--dyad", "dyad_id", type=int, default=None, help="An existing dyad's id.")
@click.option("--reference", default=None, help="The clinic's pseudonymous patient reference.")
@click.option("--expires-days", type=int, default=None, help="Days the links stay valid.")
@_json_option("the links")
@with_appcontext
def invite(clinician_id, wave, dyad_id, reference, expires_days, as_json):
    from flask import current_app

    from survey.invitations import InvitationError, invite_dyad

    days = expires_days or current_app.config["HEALING_SURVEY_INVITATION_DAYS"]
    with _fail_on(InvitationError):
        links = invite_dyad(
            clinician_id, wave=wave, dyad_id=dyad_id, reference=reference, expires_days=days
        )
    _emit(
        links.to_dict(),
        as_json=as_json,
        lines=[
            f"dyad {links.dyad}, wave {links.wave} (links valid until {links.expires_at})",
            f"patient:   {links.patient_url}",
            f"clinician: {links.clinician_url}",
        ],
    )


@click.command("self-invite", help="Create a clinician's self-assessment link.")
@click.option("--clinician", "clinician_id", type=int, required=True, help="Clinician id.")
@click.option("--expires-days", type=int, default=None, help="Days the link stays valid.")
@_json_option("the link")
@with_appcontext
def self_invite(clinician_id, expires_days, as_json):
    from flask import current_app

    from survey.invitations import InvitationError, invite_self_assessment

    days = expires_days or current_app.config["HEALING_SURVEY_INVITATION_DAYS"]
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

    upgrade()
    try:
        summary = create_demo(dyads=dyads, seed=seed)
    except DemoExists as exists:
        click.echo(f"{exists}; nothing was added.")
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
            f"  patient:   http://127.0.0.1:5000{summary.patient_url}",
            f"  clinician: http://127.0.0.1:5000{summary.clinician_url}",
            "See the dashboard at http://127.0.0.1:5000/sign-in as the clinic's manager",
            f"  e-mail:    {manager['email']}",
            f"  password:  {password.password}   (shown only now)",
        ],
    )


def _factors(ctx, param, value: str):
    if value == "auto":
        return value
    if value.isdigit() and int(value) >= 1:
        return int(value)
    raise click.BadParameter(f"{value!r}: expected 'auto' or a whole number of factors >= 1")


@click.command(help="Reliability and factor structure of a CSV of items, or of our responses.")
@click.argument("data", required=False, type=click.Path(dir_okay=False))
@click.option(
    "--scales",
    "scales_path",
    type=click.Path(dir_okay=False),
    help="Scale specification (YAML) for DATA.csv.",
)
@click.option("--from-db", is_flag=True, help="Analyse the submitted responses of --form.")
@click.option(
    "--form",
    "form_id",
    default="patient",
    show_default=True,
    type=click.Choice(["patient", "clinician-dyad", "clinician-self"]),
    help="Which form's responses --from-db reads.",
)
@click.option(
    "--factors",
    default="auto",
    show_default=True,
    callback=_factors,
    help="Number of EFA factors, or 'auto' (parallel analysis).",
)
@click.option(
    "--method",
    default="minres",
    show_default=True,
    type=click.Choice(["minres", "ml", "pa"]),
    help="EFA extraction.",
)
@click.option(
    "--rotation",
    default="oblimin",
    show_default=True,
    type=click.Choice(["oblimin", "promax", "varimax", "none"]),
    help="EFA rotation.",
)
@click.option("--ordinal", is_flag=True, help="Factor polychoric instead of Pearson correlations.")
@click.option("--cfa", "run_cfa", is_flag=True, help="Fit the scales as a CFA model (ML).")
@click.option("--seed", type=int, default=None, help="Seed of the parallel analysis.")
@click.option(
    "--iterations",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="Simulated data sets in the parallel analysis.",
)
@click.option(
    "--bootstrap",
    type=click.IntRange(min=10),
    default=None,
    help="Bootstrap alpha's CI with this many resamples (default: Feldt).",
)
@click.option(
    "--missing-code",
    "missing_codes",
    type=float,
    multiple=True,
    help="A number in DATA.csv that means no answer (repeatable; our exports: -7 and -9).",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, writable=True),
    help="Write the results as JSON (keys documented in the README).",
)
@click.option(
    "--html",
    "html_path",
    type=click.Path(dir_okay=False, writable=True),
    help="Write a self-contained HTML report with plots.",
)
@click.pass_context
def analyze(
    ctx,
    data,
    scales_path,
    from_db,
    form_id,
    factors,
    method,
    rotation,
    ordinal,
    run_cfa,
    seed,
    iterations,
    bootstrap,
    missing_codes,
    json_path,
    html_path,
):
    if from_db == bool(data):
        raise click.UsageError("give either DATA.csv with --scales, or --from-db")
    if data and not scales_path:
        raise click.UsageError("DATA.csv needs --scales SPEC.yaml naming the scales and items")
    from analysis.report import html_report, text_summary
    from analysis.workup import WorkupOptions

    try:
        options = WorkupOptions(
            factors=factors,
            method=method,
            rotation=rotation,
            ordinal=ordinal,
            cfa=run_cfa,
            seed=seed,
            iterations=iterations,
            ci_method="bootstrap" if bootstrap else "feldt",
            n_boot=bootstrap or 1000,
        )
        if from_db:
            result = _analyze_database(ctx, form_id, options)
        else:
            result = _analyze_file(data, scales_path, options, missing_codes)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    report = result.to_dict()
    click.echo(text_summary(report))
    if json_path:
        with open(json_path, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=2, allow_nan=False)
    if html_path:
        with open(html_path, "w", encoding="utf-8") as handle:
            handle.write(html_report(report))


def _analyze_file(data: str, scales_path: str, options, missing_codes=()):
    from analysis.responses_file import read_responses_csv
    from analysis.workup import run_workup
    from items import load_scale_spec

    spec = load_scale_spec(scales_path)
    responses = read_responses_csv(data, spec, missing_codes=missing_codes)
    for warning in responses.warnings:
        click.echo(f"warning: {warning}", err=True)
    return run_workup(responses.frame, spec, options)


def _analyze_database(ctx, form_id: str, options):
    from flask.cli import ScriptInfo

    from analysis.workup import run_workup_from_moments
    from survey.analyze import form_moments

    app = ctx.ensure_object(ScriptInfo).load_app()
    with app.app_context():
        moments, spec = form_moments(form_id)
    if moments.n_rows == 0:
        raise ValueError(f"no submitted responses to the {form_id!r} form yet")
    return run_workup_from_moments(moments, spec, options)


COMMANDS = (
    clinic,
    clinician,
    invite,
    self_invite,
    demo,
    analyze,
    export,
    import_redcap,
    user,
    token,
    audit,
    backup,
    restore,
    retention,
)


def register_commands(app) -> None:
    for command in COMMANDS:
        app.cli.add_command(command)
