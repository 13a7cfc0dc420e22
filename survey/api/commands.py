"""``healing-survey token create|revoke``: API tokens for staff accounts."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup


@click.group(cls=AppGroup, help="Create and revoke JSON API tokens.")
def token():
    pass


@token.command("create", help="Create an API token for an account; it is printed only once.")
@click.option("--email", required=True, help="The account's e-mail address.")
@click.option("--name", required=True, help="What the token is for, e.g. 'REDCap sync'.")
@click.option("--json", "as_json", is_flag=True, help="Print the token as JSON.")
def token_create(email: str, name: str, as_json: bool):
    from survey.api.tokens import TokenError, create_token

    try:
        new = create_token(email, name)
    except TokenError as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        click.echo(json.dumps(new.to_dict(), indent=2))
    else:
        click.echo(f"token {new.id} for {new.email} ({new.name}); it is shown only this once:")
        click.echo(new.token)


@token.command("revoke", help="Revoke an API token by its id.")
@click.argument("token_id", type=int)
def token_revoke(token_id: int):
    from survey.api.tokens import TokenError, revoke_token

    try:
        revoke_token(token_id)
    except TokenError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"token {token_id} revoked")
