"""``healing-survey analyze``: the validation workup of a CSV of items or of our own responses.

Apart from the other commands because it must run without the web app: analysing a file needs
neither Flask nor SQLAlchemy, and ``survey.console`` runs this command alone for a file (Flask's
import alone was a tenth of a 100,000-row workup). Only ``--from-db`` builds the app.
"""

from __future__ import annotations

import json

import click


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
    result = None
    try:
        if not from_db:
            from items import load_scale_spec

            spec = load_scale_spec(scales_path)
        from analysis.report import html_report, text_summary
        from analysis.workup import WorkupOptions

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
            result = _analyze_file(data, spec, options, missing_codes)
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


def _analyze_file(data: str, spec, options, missing_codes=()):
    """The workup of a responses file; without options that need the rows as a table, it runs
    without pandas (analysis._frames)."""
    from analysis.responses_file import read_responses_csv
    from analysis.workup import run_workup

    responses = read_responses_csv(data, spec, missing_codes=missing_codes)
    for warning in responses.warnings:
        click.echo(f"warning: {warning}", err=True)
    if options.group is None:
        return run_workup(responses.answers, spec, options, items=responses.items)
    from analysis.responses_file import read_group_column

    groups = read_group_column(data, options.group).to_numpy()
    frame = responses.frame.assign(**{options.group: groups})
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
