"""wk chat: a conversation with the model over the skills; a person runs what it proposes."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from watchkeeper.cli.approve import ask
from watchkeeper.cli.common import err, live_line, open_cli_app, out, person

if TYPE_CHECKING:
    from watchkeeper.agent.chat import Chat
    from watchkeeper.app import App


def chat() -> None:
    """Talk to the configured model with the skills as tools; /run N runs proposal N after you confirm it."""
    from watchkeeper.agent.chat import Chat
    from watchkeeper.incidents.investigate import agent_deps, require_model

    app = open_cli_app(need_store=False)
    require_model(app.settings, "chat")
    session = Chat(agent_deps(app), show=live_line)
    err.print(
        f"watchkeeper chat with {session.model_name}, session {session.session_id}. "
        "Commands: /proposals, /run N, /quit.",
        highlight=False,
    )
    shown = 0
    try:
        while True:
            err.print("[bold]you>[/bold] ", end="")
            line = sys.stdin.readline()
            if not line or line.strip() in ("/quit", "/exit"):
                break
            text = line.strip()
            if not text:
                continue
            if text == "/proposals" or text.startswith("/run"):
                chat_command(app, session, text)
                continue
            out.print(session.ask(text), markup=False, highlight=False)
            for n, action in enumerate(session.proposals[shown:], start=shown + 1):
                warn = f"  [red]echoes untrusted text: {escape(action.untrusted)}[/red]" if action.untrusted else ""
                title = escape(action.title)
                err.print(f"proposal {n}: {title} ({action.risk_class}); /run {n} to run it{warn}", highlight=False)
            shown = len(session.proposals)
    except (KeyboardInterrupt, typer.Abort):  # Ctrl-C at the prompt (or at a question) ends the chat like /quit
        err.print("", highlight=False)
    session.close()
    err.print(f"session {session.session_id}: wk audit --session {session.session_id}", highlight=False)


def chat_command(app: App, session: Chat, text: str) -> None:
    from watchkeeper.incidents.approvals import run
    from watchkeeper.policy.risk import Caller, RiskClass, Role
    from watchkeeper.skills.params import with_edge

    proposals = session.proposals
    if text == "/proposals":
        for n, a in enumerate(proposals, start=1):
            err.print(f"{n}. {a.title} ({a.risk_class}) {a.reason}", highlight=False, markup=False)
        if not proposals:
            err.print("no proposals yet", highlight=False)
        return
    arg = text.removeprefix("/run").strip()
    if not arg.isdigit() or not 1 <= int(arg) <= len(proposals):
        err.print(f"/run takes a proposal number from 1 to {len(proposals)}", highlight=False)
        return
    action = proposals[int(arg) - 1]
    assert action.skill is not None  # proposals always name the skill they would run
    skill = app.registry.get(action.skill)
    if action.untrusted:
        err.print(
            f"[red]warning:[/red] this proposal echoes untrusted text: {escape(action.untrusted)}", highlight=False
        )
        err.print(f"type the skill name ({skill.key}) to go on: ", end="", highlight=False)
        if sys.stdin.readline().strip() != skill.key:
            err.print("not confirmed", highlight=False)
            return
    params = with_edge(action.params, action.edge)
    prepared, approval = ask(app, skill.key, params, yes=False)
    if skill.risk is RiskClass.MUTATING and approval is None:
        return
    # Run as the person who confirmed it; the audit row says the model proposed it.
    caller = Caller(Role.CLI, person(), session.session_id, proposed_by=f"model:{session.model_name}")
    call = run(app, skill.key, params, prepared, caller, approval)
    message = f"{call.status.value} (audit #{call.audit_id})"
    err.print(f"{action.skill}: {message}{': ' + call.error if call.error else ''}", highlight=False, markup=False)
    if call.ok:
        out.print_json(data=call.result)
