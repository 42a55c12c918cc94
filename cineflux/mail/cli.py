"""``cineflux mail``: deliver the outbox from the command line (cron, or by hand)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from cineflux.cli_support import console, fail, load_platform
from cineflux.mail import service as mail
from cineflux.mail.sender import deliver_pending, transport_from

app = typer.Typer(help="Outgoing mail.", no_args_is_help=True)


@app.command("send")
def send(
    as_json: Annotated[bool, typer.Option("--json", help="print the counts as JSON")] = False,
) -> None:
    """Deliver the messages due now over SMTP (CINEFLUX_SMTP_*); failures are retried later."""
    platform = load_platform()
    settings = platform.settings
    transport = transport_from(settings)
    if transport is None:
        fail("no SMTP server configured: set CINEFLUX_SMTP_HOST (and _PORT, _USER, ...)")
    sent = failed = 0
    while True:
        report = deliver_pending(
            platform.sessions, clock=platform.clock, transport=transport, sender=settings.smtp_from
        )
        sent += report.sent
        failed += report.failed
        if report.sent == 0:  # nothing more is due, or the server refuses everything
            break
    with platform.sessions() as session:
        pending = mail.pending_count(session)
    if as_json:
        print(json.dumps({"sent": sent, "failed": failed, "pending": pending}))
    else:
        console.print(f"Sent {sent}, failed {failed} (retried later), {pending} pending")
    if failed and not sent:
        raise typer.Exit(1)
