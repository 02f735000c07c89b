"""What every command shares: the consoles, one-line errors, JSON output, the app core it opens, the
caller it acts as, and how an invocation's outcome becomes output and an exit code.

Every command imports what it uses inside its body: `wk version` and `wk --help` must not pay for
the store, the skills, MCP or the agent (bench/startup.py measures it)."""

from __future__ import annotations

import getpass
import json
import os
import sys
from contextvars import ContextVar
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from watchkeeper.errors import ConfigError, WatchkeeperError
from watchkeeper.oneline import plain_line

if TYPE_CHECKING:
    from watchkeeper.app import App
    from watchkeeper.notify.deliver import Delivery
    from watchkeeper.policy.risk import Caller
    from watchkeeper.skills.invoke import Invocation

# Piped output gets room for whole rows instead of rich's 80-column default.
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, soft_wrap=True)

EXIT_FOR_STATUS = {"succeeded": 0, "failed": 1, "timed_out": 1, "refused": 2, "invalid": 2}  # by invoke's Status
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON only on stdout.")]
LangOption = Annotated[
    str | None,
    typer.Option("--lang", metavar="en|zh-CN", help="The language of this report (default: [report] language)."),
]


def use_language(app: App, lang: str | None) -> None:
    """A command's --lang: checked, then what this command's reports are written in."""
    from watchkeeper.config import LANGUAGES

    if lang is None:
        return
    if lang not in LANGUAGES:
        fail(f"--lang {lang!r} is not supported: use one of {', '.join(LANGUAGES)}")
    app.settings.report.language = lang  # type: ignore[assignment]  # checked against LANGUAGES above


# The app cores a command opened: closed when it ends, however it ends.
_opened: ContextVar[list[App] | None] = ContextVar("wk_opened_apps", default=None)


class CommandGroup(TyperGroup):
    """The root group: whatever a command lets escape ends as one line on stderr, never a traceback
    (WK_DEBUG=1 shows it), and the app cores it opened are closed."""

    # Exits, usage errors (TyperException), Ctrl-C/EOF and a closed pipe (`wk audit | head`) are Typer's to handle.
    PASS = (typer.Exit, typer.Abort, typer.TyperException, EOFError, BrokenPipeError)

    def invoke(self, ctx: Any) -> Any:  # a typer Context: its click is vendored inside typer
        token = _opened.set([])
        try:
            return super().invoke(ctx)
        except self.PASS:
            raise
        except WatchkeeperError as exc:
            fail(str(exc))
        except Exception as exc:
            if os.environ.get("WK_DEBUG"):
                raise
            detail = next(iter(str(exc).splitlines()), "")[:300]
            fail(f"unexpected {type(exc).__name__}: {detail} (run again with WK_DEBUG=1 for the traceback)", 1)
        finally:
            for app in _opened.get() or []:
                app.close()
            _opened.reset(token)


def one_line(text: str) -> str:
    """Line breaks become spaces; other control characters (C0, C1 - a terminal obeys those too - and
    Unicode's line and paragraph separators, from a file name or a payload) are shown escaped rather
    than sent to the terminal. Markup-safe to print."""
    return escape(plain_line(text))


def print_error(message: str) -> None:
    err.print(f"[red]error:[/red] {one_line(message)}", markup=True, highlight=False)


def fail(message: str, code: int = 2) -> NoReturn:
    print_error(message)
    raise typer.Exit(code)


def emit_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n")


def open_cli_app(need_store: bool = True, import_mcp: bool = True) -> App:
    """The app core for this command (closed when the command ends); commands that only run skills go
    on without the store (reads still work). `import_mcp=False`: a command that runs no skill need not
    wait for external MCP servers' tools."""
    from watchkeeper.app import open_app

    try:
        app = open_app(import_mcp=import_mcp)
    except ConfigError as exc:
        fail(str(exc), 2)
    except OSError as exc:  # e.g. the data directory cannot be created
        fail(f"cannot open {exc.filename or 'the data directory'}: {exc.strerror or exc}", 1)
    opened = _opened.get()
    if opened is not None:
        opened.append(app)
    if app.store_error:
        if need_store:
            fail(app.store_error, 1)
        err.print(
            f"[yellow]warning:[/yellow] {escape(app.store_error)}; audit rows wait until it is back, "
            "and skills that change anything are refused",
            highlight=False,
        )
    return app


def person() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def cli_caller(session_id: str | None = None) -> Caller:
    from watchkeeper.policy.risk import Caller, Role

    return Caller(Role.CLI, user=person(), session_id=session_id)


def live_line(message: str) -> None:
    """A progress line on stderr; model and tool text in it is escaped, never read as markup."""
    err.print(f"[dim]… {escape(message)}[/dim]", highlight=False)


# How to give, at this face, the approval a refusal says is needed.
APPROVAL_HOW = {"approval_required": "approve it at the prompt of wk skills run, or pass --yes"}


def report_invocation(call: Invocation, as_json: bool) -> NoReturn:
    if as_json:
        emit_json(call.as_dict())
    elif call.ok:
        out.print_json(data=call.result)
        if call.truncated:
            err.print("[yellow]note:[/yellow] the result was cut at the output cap", highlight=False)
    if not call.ok:
        reason = call.error or call.status.value  # may quote the caller's params
        how = APPROVAL_HOW.get(call.rule or "")
        rule = f" ({call.rule})" if call.rule else ""
        err.print(
            f"[red]{call.status.value}{rule}:[/red] {one_line(reason)}{'; ' + how if how else ''}", highlight=False
        )
    raise typer.Exit(EXIT_FOR_STATUS[call.status])


def exit_if_every_delivery_failed(deliveries: list[Delivery]) -> None:
    if deliveries and not any(d.ok for d in deliveries):
        raise typer.Exit(1)
