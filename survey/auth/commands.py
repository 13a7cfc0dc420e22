"""``healing-survey user``: create staff accounts and change them. Thin Click wrappers over
:mod:`survey.auth.accounts`; imports happen inside the commands so ``--help`` stays fast."""

from __future__ import annotations

import json
import sys

import click
from flask.cli import AppGroup

ROLES = ("admin", "manager", "clinician", "researcher")


def _read_password(from_stdin: bool) -> str | None:
    if not from_stdin:
        return None
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise click.ClickException("--password-stdin: no password on standard input")
    return password


def _guard():
    from survey.auth.accounts import AccountError

    class _Guard:
        def __enter__(self):
            return self

        def __exit__(self, kind, error, traceback):
            if kind is not None and issubclass(kind, AccountError):
                raise click.ClickException(str(error)) from None
            return False

    return _Guard()


def _show(record: dict, as_json: bool, line: str) -> None:
    click.echo(json.dumps(record, indent=2) if as_json else line)


def _describe(record: dict) -> str:
    where = record["clinic"] or "all clinics"
    names = ", may see names" if record["can_see_names"] else ""
    state = "" if record["active"] else ", deactivated"
    return f"{record['id']}\t{record['email']}\t{record['role']} ({where}){names}{state}"


@click.group(cls=AppGroup, help="Create and change staff accounts.")
def user():
    pass


@user.command("add", help="Add a staff account; prints a generated password unless one is given.")
@click.option("--email", required=True, help="The account's e-mail address (its sign-in name).")
@click.option("--role", type=click.Choice(ROLES), required=True, help="What the account may see.")
@click.option("--clinic", "clinic_name", default=None, help="A manager's clinic.")
@click.option("--clinician", "clinician_id", type=int, default=None, help="A clinician's id.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--json", "as_json", is_flag=True, help="Print the new account as JSON.")
def user_add(email, role, clinic_name, clinician_id, password_stdin, as_json):
    from survey.auth.accounts import add_account

    password = _read_password(password_stdin)
    with _guard():
        record, generated = add_account(
            email, role, clinic_name=clinic_name, clinician_id=clinician_id, password=password
        )
    if generated is not None:
        record = record | {"password": generated.password}
    line = _describe(record)
    if generated is not None:
        line += f"\npassword (shown once): {generated.password}"
    _show(record, as_json, line)


@user.command("set-password", help="Set a new password; prints a generated one unless given.")
@click.option("--email", required=True, help="The account's e-mail address.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def user_set_password(email, password_stdin):
    from survey.auth.accounts import set_password

    with _guard():
        generated = set_password(email, _read_password(password_stdin))
    if generated is None:
        click.echo(f"password changed for {email}; its sessions and API tokens have ended")
    else:
        click.echo(f"new password for {generated.email} (shown once): {generated.password}")


@user.command("list", help="List the staff accounts.")
@click.option("--json", "as_json", is_flag=True, help="Print the accounts as JSON.")
def user_list(as_json):
    from survey.auth.accounts import list_accounts

    records = list_accounts()
    if as_json:
        click.echo(json.dumps(records, indent=2))
    else:
        click.echo("\n".join(_describe(r) for r in records) or "no accounts yet")


@user.command("allow-names", help="Let a researcher see clinicians' names (or --revoke it).")
@click.option("--email", required=True, help="The researcher's e-mail address.")
@click.option("--revoke", is_flag=True, help="Take the permission back.")
def user_allow_names(email, revoke):
    from survey.auth.accounts import allow_names

    with _guard():
        record = allow_names(email, allow=not revoke)
    click.echo(_describe(record))


@user.command("deactivate", help="Stop an account from signing in (or --reactivate it).")
@click.option("--email", required=True, help="The account's e-mail address.")
@click.option("--reactivate", is_flag=True, help="Let the account sign in again.")
def user_deactivate(email, reactivate):
    from survey.auth.accounts import set_active

    with _guard():
        record = set_active(email, active=reactivate)
    click.echo(_describe(record))
