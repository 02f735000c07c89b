"""wk doctor: the config and every configured backend, checked."""

from __future__ import annotations

import typer
from rich.markup import escape

from watchkeeper.cli.common import JsonFlag, emit_json, out


def doctor(as_json: JsonFlag = False) -> None:
    """Validate the config and check every configured backend; exit 1 if anything is wrong."""
    from watchkeeper.doctor import run_doctor

    checks = run_doctor()
    if as_json:
        emit_json([c.as_json() for c in checks])
    else:
        marks = {"ok": "[green]ok[/green]  ", "warn": "[yellow]warn[/yellow]", "FAIL": "[red]FAIL[/red]"}
        for c in checks:
            out.print(f"{marks[c.status]} {escape(c.name)}: {escape(c.detail)}", highlight=False)
    raise typer.Exit(0 if all(c.ok for c in checks) else 1)
