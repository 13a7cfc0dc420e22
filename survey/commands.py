"""The project's own CLI commands: thin Click wrappers that parse options, call a function of
the app and print its result. Imports happen inside the commands so that ``--help`` is fast."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup, with_appcontext

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


@click.group(cls=AppGroup, help="Create, list, rename and retire clinics.")
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
    _emit(
        records,
        as_json=as_json,
        lines=[f"{r['id']}\t{r['name']}{_retired(r)}" for r in records],
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
@click.option("--wave", type=click.IntRange(min=1), default=None, help="--from-db: only wave N.")
@click.option("--clinic", "clinic_name", default=None, help="--from-db: only this clinic.")
@click.option(
    "--date-from",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="--from-db: submitted on or after this day (YYYY-MM-DD).",
)
@click.option(
    "--date-to",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="--from-db: submitted on or before this day (YYYY-MM-DD).",
)
@click.option("--language", default=None, help="--from-db: only responses in this language.")
@click.option(
    "--first-wave",
    is_flag=True,
    help="--from-db: one response per dyad (its first wave), so respondents are independent.",
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
@click.option(
    "--cfa",
    "run_cfa",
    is_flag=True,
    help="Fit the scales as a CFA model (ML; WLSMV with --ordinal).",
)
@click.option("--irt", "run_irt", is_flag=True, help="Fit a graded response model per scale.")
@click.option(
    "--scores",
    "scores_path",
    type=click.Path(dir_okay=False, writable=True),
    help="Write EAP scores per respondent and scale to this CSV (implies --irt).",
)
@click.option(
    "--group",
    "group",
    default=None,
    help="Column of DATA.csv (with --from-db: language, clinic or wave) whose groups are "
    "compared: configural, metric and scalar invariance (ML; WLSMV with --ordinal).",
)
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
    wave,
    clinic_name,
    date_from,
    date_to,
    language,
    first_wave,
    factors,
    method,
    rotation,
    ordinal,
    run_cfa,
    run_irt,
    scores_path,
    group,
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
    selection = {
        "--wave": wave,
        "--clinic": clinic_name,
        "--date-from": date_from,
        "--date-to": date_to,
        "--language": language,
        "--first-wave": first_wave or None,
    }
    given = [name for name, value in selection.items() if value is not None]
    if given and not from_db:
        raise click.UsageError(f"{', '.join(given)} select responses of --from-db, not of a CSV")
    if from_db and (run_irt or scores_path):
        raise click.UsageError("--irt and --scores need DATA.csv: the model reads the rows")
    _check_output_paths(json=json_path, html=html_path, scores=scores_path)
    from analysis.report import html_report, text_summary
    from analysis.workup import WorkupOptions

    result = None
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
            irt=run_irt or bool(scores_path),
            group=group,
        )
        if from_db:
            from survey.analyze import DatabaseSelection

            chosen = DatabaseSelection(
                form=form_id,
                wave=wave,
                clinic=clinic_name,
                date_from=date_from.date() if date_from else None,
                date_to=date_to.date() if date_to else None,
                language=language,
                first_wave=first_wave,
            )
            report = _analyze_database(ctx, chosen, options)
        else:
            result = _analyze_file(data, scales_path, options, missing_codes)
            report = result.to_dict()
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    click.echo(text_summary(report))
    if json_path:
        with open(json_path, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=2, allow_nan=False)
    if html_path:
        with open(html_path, "w", encoding="utf-8") as handle:
            handle.write(html_report(report))
    if scores_path and result is not None:
        result.irt_scores().to_csv(scores_path, index=False, float_format="%.6f")
        click.echo(f"EAP scores written to {scores_path}")


def _analyze_file(data: str, scales_path: str, options, missing_codes=()):
    from analysis.responses_file import read_responses_csv
    from analysis.workup import run_workup
    from items import load_scale_spec

    spec = load_scale_spec(scales_path)
    responses = read_responses_csv(data, spec, missing_codes=missing_codes)
    for warning in responses.warnings:
        click.echo(f"warning: {warning}", err=True)
    frame = responses.frame
    if options.group is not None:
        from analysis.responses_file import read_group_column

        frame = frame.assign(**{options.group: read_group_column(data, options.group).to_numpy()})
    return run_workup(frame, spec, options)


def _check_output_paths(**paths) -> None:
    """Refuse an output file that cannot be written before the work, not after it."""
    import os

    for option, path in paths.items():
        if not path:
            continue
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise click.ClickException(f"--{option} {path}: the folder {folder} does not exist")
        if os.path.isdir(path):
            raise click.ClickException(f"--{option} {path}: is a folder, not a file")
        if not os.access(folder, os.W_OK) or (
            os.path.exists(path) and not os.access(path, os.W_OK)
        ):
            raise click.ClickException(f"--{option} {path}: not writable")


def _analyze_database(ctx, selection, options) -> dict:
    from flask.cli import ScriptInfo

    from analysis.workup import run_workup_from_moments
    from survey.analyze import read_form_data

    app = ctx.ensure_object(ScriptInfo).load_app()
    if options.group is not None or (options.ordinal and options.cfa):
        # invariance and the WLSMV CFA need the rows, not pairwise moments
        from analysis.workup import run_workup
        from survey.analyze import form_responses_by_group

        with app.app_context():
            frame, spec = form_responses_by_group(selection, options.group)
        if frame.empty:
            raise ValueError(f"no submitted responses match the selection ({selection.describe()})")
        report = run_workup(frame, spec, options).to_dict()
        report["notes"] = [f"selection: {selection.describe()}", *report["notes"]]
        return report
    with app.app_context():
        data = read_form_data(selection, ordinal=options.ordinal)
    if data.moments.n_rows == 0:
        if not selection.narrowed:
            raise ValueError(f"no submitted responses to the {selection.form!r} form yet")
        raise ValueError(f"no submitted responses match the selection ({selection.describe()})")
    result = run_workup_from_moments(data.moments, data.spec, options, tables=data.tables)
    report = result.to_dict()
    report["notes"] = [f"selection: {selection.describe()}", *data.structure.notes()] + report[
        "notes"
    ]
    report["sample"] = data.structure.to_dict()
    return report


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
