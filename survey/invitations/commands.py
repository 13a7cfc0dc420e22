"""``healing-survey invite`` (one dyad wave, or an appointment list with ``--batch``) and
``healing-survey invitation list|revoke|extend|reissue``: thin wrappers over the service."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import AppGroup, with_appcontext


def _emit(record, *, as_json: bool, lines: list[str]) -> None:
    click.echo(json.dumps(record, indent=2) if as_json else "\n".join(lines))


def _fail(error: Exception):
    return click.ClickException(str(error))


def _days(value: int | None) -> int:
    from flask import current_app

    return current_app.config["HEALING_SURVEY_INVITATION_DAYS"] if value is None else value


def _clinic(name: str | None):
    from sqlalchemy import select

    from survey.extensions import db
    from survey.models import Clinic

    if name is not None:
        clinic = db.session.scalar(select(Clinic).where(Clinic.name == name))
        if clinic is None:
            raise click.ClickException(
                f"no clinic named {name!r} (see `healing-survey clinic list`)"
            )
        return clinic
    clinics = db.session.scalars(select(Clinic).limit(2)).all()
    if len(clinics) != 1:
        raise click.ClickException(
            "no clinic yet: add one with `healing-survey clinic add NAME`"
            if not clinics
            else "there are several clinics: name the list's clinic with --clinic NAME"
        )
    return clinics[0]


@click.command(help="Create one dyad wave (patient + clinician links), or a batch from a CSV.")
@click.option("--clinician", "clinician_id", type=int, default=None, help="Clinician id.")
@click.option("--wave", type=int, default=None, help="Wave number (default: the next one).")
@click.option("--dyad", "dyad_id", type=int, default=None, help="An existing dyad's id.")
@click.option("--reference", default=None, help="The clinic's pseudonymous patient reference.")
@click.option("--email", default=None, help="The patient's e-mail address: the link is e-mailed.")
@click.option(
    "--language",
    default=None,
    help="The patient's language, en or es (default: none; the form follows the browser).",
)
@click.option(
    "--expires-days",
    type=int,
    default=None,
    help="Days the links stay valid, 1 to 3650 (default 30).",
)
@click.option(
    "--batch",
    "batch_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="An appointment list (CSV; columns in the README): all rows or none are stored.",
)
@click.option("--clinic", "clinic_name", default=None, help="The clinic of --batch's list.")
@click.option("--dry-run", is_flag=True, help="With --batch: check the list, store nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@with_appcontext
def invite(
    clinician_id,
    wave,
    dyad_id,
    reference,
    email,
    language,
    expires_days,
    batch_file,
    clinic_name,
    dry_run,
    as_json,
):
    if batch_file is not None:
        if clinician_id is not None or wave is not None or reference or email or dyad_id:
            raise click.UsageError("--batch takes the clinicians and references from the file")
        _invite_batch(batch_file, clinic_name, _days(expires_days), dry_run, as_json)
        return
    if dry_run:
        raise click.UsageError("--dry-run needs --batch FILE")
    if clinician_id is None:
        raise click.UsageError("give --clinician ID (one dyad wave) or --batch FILE")
    if reference is None and dyad_id is None:
        click.echo(
            "warning: no --reference: the clinician's form can only say when the link was made,"
            " not which patient it is about; give --reference with the clinic's own patient"
            " reference (never a name)",
            err=True,
        )
    from survey.invitations.service import InvitationError, invite_dyad

    try:
        links = invite_dyad(
            clinician_id,
            wave=wave,
            dyad_id=dyad_id,
            reference=reference,
            expires_days=_days(expires_days),
            email=email,
            language=language,
        )
    except InvitationError as error:
        raise _fail(error) from None
    lines = [
        f"dyad {links.dyad}, wave {links.wave} (links valid until {links.expires_at})",
        f"patient:   {links.patient_url}",
        f"clinician: {links.clinician_url}",
    ]
    if email:
        lines.append("the patient's link is queued for e-mail (healing-survey send delivers it)")
    if links.note:
        lines.append(f"note: {links.note}")
    _emit(links.to_dict(), as_json=as_json, lines=lines)


def _invite_batch(path: Path, clinic_name, days: int, dry_run: bool, as_json: bool) -> None:
    from survey.invitations.batch import BatchError, preview_appointments, store_appointments
    from survey.invitations.service import InvitationError

    clinic = _clinic(clinic_name)
    content = path.read_bytes()
    try:
        preview = preview_appointments(content, clinic)
    except BatchError as error:
        raise click.ClickException(f"{path.name}: {error}") from None
    if dry_run or preview.problems:
        _emit(
            preview.to_dict(),
            as_json=as_json,
            lines=[f"line {p.line}: {p.reason}" for p in preview.problems]
            + [
                f"{len(preview.rows)} row(s) ready, {len(preview.problems)} bad"
                f"{' (dry run: nothing stored)' if dry_run else ''}"
            ],
        )
        if preview.problems:
            raise click.ClickException(
                f"{len(preview.problems)} bad row(s) in {path.name}; nothing was stored"
            )
        return
    try:
        result = store_appointments(content, clinic, checksum=preview.checksum, expires_days=days)
    except (BatchError, InvitationError) as error:
        raise click.ClickException(f"{path.name}: {error}") from None
    _emit(
        result.to_dict(),
        as_json=as_json,
        lines=[
            f"line {r['line']}: {r['reference']} wave {r['wave']}  "
            f"patient {r['patient_url']}  clinician {r['clinician_url']}"
            for r in result.created
        ]
        + [f"{len(result.created)} dyad wave(s) created for {result.clinic}"],
    )


@click.group(cls=AppGroup, help="List, revoke, extend and reissue invitations.")
def invitation():
    pass


@invitation.command("list", help="List invitations with their state.")
@click.option("--clinic", "clinic_name", default=None, help="Only this clinic's invitations.")
@click.option("--state", default=None, help="Only invitations in this state (e.g. expired).")
@click.option("--limit", type=click.IntRange(1, 100_000), default=200, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the invitations as JSON.")
@with_appcontext
def invitation_list(clinic_name, state, limit, as_json):
    from survey.invitations.listing import STATES, InvitationFilter, list_invitations

    if state is not None and state not in STATES:
        raise click.ClickException(f"--state {state!r}: expected one of {', '.join(STATES)}")
    clinic_id = _clinic(clinic_name).id if clinic_name else None
    page = list_invitations(
        InvitationFilter(clinic_id=clinic_id, state=state), page=1, per_page=limit
    )
    records = [row.to_dict() for row in page.rows]
    _emit(
        records,
        as_json=as_json,
        lines=[
            f"{r['id']}\t{r['form']}\t{r['state']}\t{r['reference'] or '-'}\twave "
            f"{r['wave'] or '-'}\t{r['clinician']}\texpires {r['expires_at']}"
            for r in records
        ]
        + ([f"(first {limit} of {page.total})"] if page.total > limit else []),
    )


@invitation.command("revoke", help="Close an invitation's link for good (erases its e-mail).")
@click.argument("invitation_id", type=int)
@with_appcontext
def invitation_revoke(invitation_id):
    from survey.invitations.service import InvitationError, revoke

    try:
        revoke(invitation_id)
    except InvitationError as error:
        raise _fail(error) from None
    click.echo(f"invitation {invitation_id} revoked")


@invitation.command("extend", help="Keep an invitation's link open N more days from now.")
@click.argument("invitation_id", type=int)
@click.option("--days", type=int, required=True, help="Days from now, 1 to 3650.")
@with_appcontext
def invitation_extend(invitation_id, days):
    from survey.invitations.service import InvitationError, extend

    try:
        extended = extend(invitation_id, days)
    except InvitationError as error:
        raise _fail(error) from None
    click.echo(
        f"invitation {invitation_id} valid until "
        f"{extended.expires_at.isoformat(timespec='seconds')}"
    )


@invitation.command("reissue", help="A new link for an invitation; the old link stops working.")
@click.argument("invitation_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the new link as JSON.")
@with_appcontext
def invitation_reissue(invitation_id, as_json):
    from survey.invitations.service import InvitationError, reissue

    try:
        reissued = reissue(invitation_id)
    except InvitationError as error:
        raise _fail(error) from None
    lines = [reissued.url]
    if reissued.emailed:
        lines.append("the new link is queued for e-mail to the address on file")
    _emit(reissued.to_dict(), as_json=as_json, lines=lines)
