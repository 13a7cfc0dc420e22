"""The project's own CLI commands, thin Click wrappers registered on ``app.cli``."""

from __future__ import annotations

import json

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from survey.extensions import db


def register_commands(app: Flask) -> None:
    for command in (clinic, clinician, invite, self_invite, demo):
        app.cli.add_command(command)


def _emit(records: dict | list, *, as_json: bool, lines: list[str]) -> None:
    if as_json:
        click.echo(json.dumps(records, indent=2))
    else:
        click.echo("\n".join(lines))


@click.group(cls=AppGroup, help="Create and list clinics.")
def clinic():
    pass


@clinic.command("add")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the new clinic as JSON.")
def clinic_add(name: str, as_json: bool):
    from survey.models import Clinic, record_audit

    name = name.strip()
    if not name:
        raise click.BadParameter("the clinic name is empty", param_hint="NAME")
    row = Clinic(name=name)
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:
        raise click.ClickException(f"a clinic named {name!r} already exists") from None
    record_audit("cli", "clinic.create", f"clinic:{row.id}")
    db.session.commit()
    _emit({"id": row.id, "name": row.name}, as_json=as_json, lines=[f"clinic {row.id}: {name}"])


@clinic.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the clinics as JSON.")
def clinic_list(as_json: bool):
    from survey.models import Clinic

    rows = db.session.scalars(select(Clinic).order_by(Clinic.id)).all()
    records = [{"id": row.id, "name": row.name} for row in rows]
    _emit(records, as_json=as_json, lines=[f"{r['id']}\t{r['name']}" for r in records])


@click.group(cls=AppGroup, help="Create and list clinicians.")
def clinician():
    pass


@clinician.command("add")
@click.option("--clinic", "clinic_name", required=True, help="Name of an existing clinic.")
@click.option("--name", required=True, help="The clinician's name as the clinic shows it.")
@click.option("--email", default=None, help="Optional e-mail address.")
@click.option("--json", "as_json", is_flag=True, help="Print the new clinician as JSON.")
def clinician_add(clinic_name: str, name: str, email: str | None, as_json: bool):
    from survey.models import Clinic, Clinician, record_audit

    clinic_row = db.session.scalar(select(Clinic).where(Clinic.name == clinic_name))
    if clinic_row is None:
        raise click.ClickException(f"no clinic named {clinic_name!r}; add it with 'clinic add'")
    name = name.strip()
    if not name:
        raise click.BadParameter("the clinician name is empty", param_hint="--name")
    row = Clinician(clinic=clinic_row, name=name, email=email)
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:
        raise click.ClickException(f"{clinic_name!r} already has a clinician {name!r}") from None
    record_audit("cli", "clinician.create", f"clinician:{row.id}")
    db.session.commit()
    record = {"id": row.id, "clinic": clinic_row.name, "name": row.name, "email": row.email}
    _emit(record, as_json=as_json, lines=[f"clinician {row.id}: {name} ({clinic_row.name})"])


@clinician.command("list")
@click.option("--clinic", "clinic_name", default=None, help="Only this clinic's clinicians.")
@click.option("--json", "as_json", is_flag=True, help="Print the clinicians as JSON.")
def clinician_list(clinic_name: str | None, as_json: bool):
    from survey.models import Clinic, Clinician

    query = select(Clinician, Clinic.name).join(Clinic).order_by(Clinician.id)
    if clinic_name is not None:
        query = query.where(Clinic.name == clinic_name)
    records = [
        {"id": row.id, "clinic": clinic_name_, "name": row.name, "email": row.email}
        for row, clinic_name_ in db.session.execute(query)
    ]
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
@click.option("--json", "as_json", is_flag=True, help="Print the links as JSON.")
@with_appcontext
def invite(clinician_id, wave, dyad_id, reference, expires_days, as_json):
    from flask import current_app

    from survey.invitations import InvitationError, invite_dyad

    days = expires_days or current_app.config["HEALING_SURVEY_INVITATION_DAYS"]
    try:
        links = invite_dyad(
            clinician_id, wave=wave, dyad_id=dyad_id, reference=reference, expires_days=days
        )
    except InvitationError as error:
        raise click.ClickException(str(error)) from None
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
@click.option("--json", "as_json", is_flag=True, help="Print the link as JSON.")
@with_appcontext
def self_invite(clinician_id, expires_days, as_json):
    from flask import current_app

    from survey.invitations import InvitationError, invite_self_assessment

    days = expires_days or current_app.config["HEALING_SURVEY_INVITATION_DAYS"]
    try:
        link = invite_self_assessment(clinician_id, expires_days=days)
    except InvitationError as error:
        raise click.ClickException(str(error)) from None
    _emit(link.to_dict(), as_json=as_json, lines=[f"self-assessment: {link.url}"])


@click.command(help="Seed a demo clinic with synthetic dyads (upgrades the database first).")
@click.option("--dyads", type=int, default=300, show_default=True, help="Number of dyads.")
@click.option("--seed", type=int, default=2008, show_default=True, help="Random seed.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@with_appcontext
def demo(dyads: int, seed: int, as_json: bool):
    from flask_migrate import upgrade

    from survey.demo import DemoError, DemoExists, create_demo

    upgrade()
    try:
        summary = create_demo(dyads=dyads, seed=seed)
    except DemoExists as exists:
        click.echo(f"{exists}; nothing was added.")
        return
    except DemoError as error:
        raise click.ClickException(str(error)) from None
    _emit(
        summary.to_dict(),
        as_json=as_json,
        lines=[
            f"{summary.clinic}: {summary.clinicians} clinicians, {summary.dyads} dyads, "
            f"{summary.waves} waves, {summary.responses} responses, {summary.answers} answers",
            "Try the survey (after 'healing-survey run'):",
            f"  patient:   http://127.0.0.1:5000{summary.patient_url}",
            f"  clinician: http://127.0.0.1:5000{summary.clinician_url}",
        ],
    )
