"""A person's approval at the terminal: the exact call shown, then the prompt (or --yes)."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

import typer

from watchkeeper.cli.common import err, person

if TYPE_CHECKING:
    from watchkeeper.app import App
    from watchkeeper.incidents.approvals import Prepared
    from watchkeeper.policy.approvals import Approval


def ask(app: App, key: str, params: dict[str, Any], yes: bool) -> tuple[Prepared | None, Approval | None]:
    """Show the dry run and ask a person: the prepared call (None when it cannot go ahead: invoke then
    refuses it with the precise, audited reason) and the approval, if given."""
    from watchkeeper.incidents.approvals import grant, prepare
    from watchkeeper.policy.risk import Role

    prepared = prepare(app, key, params)
    if prepared is None:
        return None, None
    skill = prepared.skill
    err.print(f"[bold]{skill.key}[/bold] is a [yellow]{skill.risk.value}[/yellow] skill. It will run:", highlight=False)
    err.print(
        f"  skill:  {skill.key}\n  params: {json.dumps(prepared.params)}\n  target: {prepared.edge}", highlight=False
    )
    if prepared.effect:
        err.print(f"  effect: {prepared.effect}", highlight=False)
    if not prepared.needs_approval:
        return prepared, None
    if yes:
        return prepared, grant(prepared, person(), Role.CLI)
    if not sys.stdin.isatty():
        err.print("no terminal to ask for approval and no --yes given", highlight=False)
        return prepared, None
    if typer.confirm("Approve and run it?", default=False, err=True):
        return prepared, grant(prepared, person(), Role.CLI)
    err.print("not approved", highlight=False)
    return prepared, None
