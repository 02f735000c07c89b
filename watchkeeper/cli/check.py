"""wk check: a one-shot health report of this host."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from watchkeeper.cli.common import JsonFlag, LangOption, emit_json, err, fail, open_cli_app, out, person, use_language
from watchkeeper.i18n import speaking


def check(
    as_json: JsonFlag = False,
    fail_on: Annotated[
        str | None,
        typer.Option(
            "--fail-on", help="Exit 1 on a warning, 2 on a critical finding (warn), or 2 on critical only (crit)."
        ),
    ] = None,
    lang: LangOption = None,
) -> None:
    """One-shot health report of this host: CPU, load, memory, disks, top processes, ports, log errors."""
    from watchkeeper.cli.render import print_host_report
    from watchkeeper.evidence.host_check import run_check

    if fail_on not in (None, "warn", "crit"):
        fail("--fail-on takes warn or crit")
    app = open_cli_app(need_store=False)
    use_language(app, lang)
    with speaking(app.settings.report.language):
        if sys.stderr.isatty() and not as_json:
            with err.status("checking this host…"):
                report = run_check(app.invoker, app.settings.read_roots, person())
        else:
            report = run_check(app.invoker, app.settings.read_roots, person())
        if as_json:
            emit_json({**report.as_dict(), "language": app.settings.report.language})
        else:
            print_host_report(out, report)
    severity = report.severity
    if fail_on == "warn" and severity != "ok":
        raise typer.Exit(1 if severity == "warn" else 2)
    if fail_on == "crit" and severity == "crit":
        raise typer.Exit(2)
