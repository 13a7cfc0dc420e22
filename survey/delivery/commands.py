"""``healing-survey send``: deliver the outbox once, or keep delivering (``--watch``)."""

from __future__ import annotations

import contextlib
import json
import signal

import click
from flask.cli import with_appcontext


@click.command(help="Send due invitations and reminders by e-mail (SMTP_URL); --watch keeps on.")
@click.option("--watch", is_flag=True, help="Keep running, sending every --interval seconds.")
@click.option("--interval", type=click.FloatRange(min=0.1), default=30.0, show_default=True)
@click.option("--limit", type=click.IntRange(min=1), help="Send at most this many per pass.")
@click.option(
    "--workers",
    type=click.IntRange(min=1, max=16),
    default=1,
    show_default=True,
    help="SMTP connections to send over at once (PostgreSQL; on SQLite always 1).",
)
@click.option("--json", "as_json", is_flag=True, help="Print each pass's counts as JSON.")
@with_appcontext
def send(watch: bool, interval: float, limit: int | None, workers: int, as_json: bool):
    from survey.delivery.sender import EmailOffError, send_pending
    from survey.delivery.sender import watch as watch_outbox

    def show(report) -> None:
        record = report.to_dict()
        if as_json:
            click.echo(json.dumps(record))
            return
        click.echo(
            f"sent {record['sent']}, retry later {record['retried']}, "
            f"bounced {record['bounced']}, cancelled {record['cancelled']}, "
            f"reminders queued {record['reminders_queued']}, "
            f"addresses erased {record['contacts_erased']}"
        )
        for error in record["errors"][:5]:
            click.echo(f"  {error}", err=True)

    try:
        if not watch:
            show(send_pending(limit=limit, workers=workers))
            return
        stopping = []
        # SIGTERM (systemd stop) finishes the message in hand, then ends.
        signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
        with contextlib.suppress(KeyboardInterrupt):
            watch_outbox(
                interval=interval,
                workers=workers,
                stop=lambda: bool(stopping),
                on_pass=show,
            )
    except EmailOffError as error:
        raise click.ClickException(str(error)) from None
