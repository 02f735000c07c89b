"""`watchkeeper` / `wk`: the command line. This module only assembles it: one module per command group.

Exit codes: 0 success · 1 the skill ran and failed (or a check found problems) · 2 usage
error, invalid params, or refused by the gate or a policy, with a one-line reason on stderr.
With --json, stdout carries only JSON; progress and messages go to stderr.
"""

from __future__ import annotations

import sys

import typer

from watchkeeper.cli.audit import audit_app
from watchkeeper.cli.chat import chat
from watchkeeper.cli.check import check
from watchkeeper.cli.common import CommandGroup, err
from watchkeeper.cli.config import config_app
from watchkeeper.cli.doctor import doctor
from watchkeeper.cli.incidents import incidents_app
from watchkeeper.cli.investigate import investigate
from watchkeeper.cli.kb import kb_app
from watchkeeper.cli.mcp import mcp_app
from watchkeeper.cli.notify import notify_app
from watchkeeper.cli.scenario import scenario_app
from watchkeeper.cli.serve import serve
from watchkeeper.cli.silences import silences_app
from watchkeeper.cli.skills import skills_app
from watchkeeper.cli.users import tokens_app, users_app
from watchkeeper.cli.version import version
from watchkeeper.errors import WatchkeeperError

app = typer.Typer(
    cls=CommandGroup,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    add_completion=False,
    help="watchkeeper: an AIOps agent for the night shift.",
)
for command in (version, check, investigate, chat, doctor, serve):
    app.command()(command)
for group, name in (
    (skills_app, "skills"),
    (audit_app, "audit"),
    (config_app, "config"),
    (mcp_app, "mcp"),
    (scenario_app, "scenario"),
    (kb_app, "kb"),
    (notify_app, "notify"),
    (users_app, "users"),
    (tokens_app, "tokens"),
    (incidents_app, "incidents"),
    (silences_app, "silences"),
):
    app.add_typer(group, name=name)


def main() -> None:
    try:
        app()
    except WatchkeeperError as exc:
        err.print(f"error: {exc}", highlight=False)
        sys.exit(2)
