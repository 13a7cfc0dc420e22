"""``healing-survey audit verify``: check the audit log's hash chain."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup


@click.group(cls=AppGroup, help="The audit log: check its hash chain.")
def audit():
    pass


@audit.command("verify", help="Check every link of the audit chain; exit 1 at the first break.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def verify(as_json: bool):
    from survey.audit.chain import verify_chain

    report = verify_chain()
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    elif report.intact:
        click.echo(f"audit chain intact: {report.entries} entries, head {report.head_hash[:16]}")
    else:
        broken = report.broken
        where = (
            f"entry id {broken.id} (#{broken.seq}, {broken.at}, {broken.action})"
            if broken.id is not None
            else "chain head"
        )
        click.echo(
            f"audit chain BROKEN at {where}: {broken.reason}; "
            f"{report.entries} entries before it are intact",
            err=True,
        )
    if not report.intact:
        raise SystemExit(1)
