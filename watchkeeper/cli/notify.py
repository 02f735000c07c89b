"""wk notify: send reports to chat, webhooks and e-mail; resend what failed.

Settings only: nothing here opens the store or the skills."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from watchkeeper.cli.common import err, exit_if_every_delivery_failed, fail

notify_app = typer.Typer(no_args_is_help=True, help="Send reports to chat, webhooks and e-mail; resend what failed.")
# Described in the docstring: Typer would print a variadic argument's type as `<list[str]>`.
TargetsArg = Annotated[list[str] | None, typer.Argument(metavar="TARGET", hidden=True)]


@notify_app.command("test")
def notify_test(
    target: Annotated[str, typer.Argument(metavar="TARGET", help="A target URL, or env:NAME / file:PATH holding one.")],
) -> None:
    """Send a short test message to TARGET; exit 1 if it does not arrive (nothing is kept)."""
    from watchkeeper.cli.render import print_deliveries
    from watchkeeper.config import load_settings
    from watchkeeper.incidents.deliver import test

    deliveries = test(load_settings(), target)
    print_deliveries(err, deliveries)
    exit_if_every_delivery_failed(deliveries)


@notify_app.command("send")
def notify_send(
    targets: TargetsArg = None,
    report_file: Annotated[
        Path | None,
        typer.Option("--report", metavar="FILE", help="What wk investigate --json printed: one report or a list."),
    ] = None,
    inv_id: Annotated[str | None, typer.Option("--id", metavar="ID", help="A recorded investigation, inv-….")] = None,
) -> None:
    """Deliver reports to TARGETs (default notify.urls); exit 1 when every delivery failed.

    Each TARGET is a URL, or env:NAME / file:PATH holding one.
    """
    from watchkeeper.cli.render import print_deliveries
    from watchkeeper.config import load_settings
    from watchkeeper.evidence.saved_reports import report_from_recording, reports_from_file
    from watchkeeper.incidents.deliver import deliver

    if (report_file is None) == (inv_id is None):
        fail("give --report FILE or --id inv-…")
    settings = load_settings()
    if inv_id is not None:
        reports = [report_from_recording(settings.data_dir, inv_id)]
    elif report_file is not None:
        reports = reports_from_file(report_file)
    chosen = targets or settings.notify.urls
    if not chosen:
        fail("no targets: give TARGET or set notify.urls")
    deliveries = deliver(settings, reports, chosen)
    print_deliveries(err, deliveries)
    exit_if_every_delivery_failed(deliveries)


@notify_app.command("retry")
def notify_retry(targets: TargetsArg = None) -> None:
    """Resend what the outbox kept to its configured targets; a delivered entry leaves the outbox.

    Each TARGET (a URL, or env:NAME / file:PATH holding one) is matched against kept entries beside notify.urls.
    """
    from watchkeeper.cli.render import print_deliveries
    from watchkeeper.config import load_settings
    from watchkeeper.incidents.deliver import retry

    deliveries = retry(load_settings(), targets or [])
    if deliveries is None:
        err.print("the outbox is empty", highlight=False)
        return
    print_deliveries(err, deliveries)
    exit_if_every_delivery_failed(deliveries)
