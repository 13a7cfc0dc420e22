"""``healing-survey clinic set-withdrawal``: a thin Click wrapper over survey.consent."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext


@click.command(
    "set-withdrawal",
    help="Set for how many days after sending a patient can take back their answers "
    "(0: not at all). Applies to answers sent from now on.",
)
@click.argument("name")
@click.option("--days", required=True, help="Days after submission (0 to 365; default is 30).")
@click.option("--json", "as_json", is_flag=True, help="Print the clinic as JSON.")
@with_appcontext
def set_withdrawal(name: str, days: str, as_json: bool):
    from sqlalchemy import select

    from survey.consent.withdrawal import WithdrawalError, set_withdrawal_days
    from survey.extensions import db
    from survey.models import Clinic

    clinic = db.session.scalar(select(Clinic).where(Clinic.name == name))
    if clinic is None:
        raise click.ClickException(f"no clinic named {name!r}; see `healing-survey clinic list`")
    try:
        days = set_withdrawal_days(clinic.id, days, actor="cli")
    except WithdrawalError as error:
        raise click.ClickException(f"--days: {error}") from None
    if as_json:
        click.echo(json.dumps({"id": clinic.id, "name": name, "withdrawal_days": days}))
        return
    click.echo(f"{name}: patients can take back their answers for {days} days after sending")
