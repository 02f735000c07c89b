"""wk audit: read and verify the tool-call ledger."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from watchkeeper.cli.common import JsonFlag, emit_json, err, fail, open_cli_app, out

audit_app = typer.Typer(invoke_without_command=True, help="Read and verify the tool-call ledger.")


def since_option(text: str) -> datetime:
    from watchkeeper.since import parse_since

    try:
        return parse_since(text)
    except ValueError:
        fail(f"--since takes a duration like 30m, 1h, 2d or an ISO timestamp, got {text!r}")


@audit_app.callback()
def audit(
    ctx: typer.Context,
    tool: Annotated[str | None, typer.Option("--tool", help="Only calls of this skill.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Only calls since: 30m, 1h, 2d or ISO time.")] = None,
    session: Annotated[str | None, typer.Option("--session", help="Only calls of this session id.")] = None,
    status: Annotated[str | None, typer.Option("--status", help="Only calls with this status.")] = None,
    user: Annotated[str | None, typer.Option("--user", help="Only calls by this user.")] = None,
    edge: Annotated[str | None, typer.Option("--edge", help="Only calls on this edge (local: this host).")] = None,
    limit: Annotated[int, typer.Option("--limit", help="Newest N rows.")] = 50,
    as_json: JsonFlag = False,
) -> None:
    """Ledger rows, oldest first (the newest --limit)."""
    from watchkeeper.audit.model_log import ModelLog
    from watchkeeper.incidents.timeline import session_timeline

    if ctx.invoked_subcommand is not None:
        return
    app = open_cli_app()
    start = since_option(since) if since else None
    if as_json and session:
        emit_json(session_timeline(app, session, limit, tool, start))  # a whole investigation, in time order
        return
    rows = app.ledger.rows(tool=tool, since=start, session_id=session, status=status, limit=limit, user=user, edge=edge)
    if as_json:
        emit_json(rows)
        return
    requests = ModelLog(app.engine).rows(session_id=session, limit=limit) if session else []
    table = Table("id", "started", "tool", "status", "caller", "approved by", "ms", "error")
    for r in rows:
        caller = f"{r['caller_role']}:{r['caller_user_id'] or '-'}"
        error = escape((r["error"] or "")[:60])
        table.add_row(
            str(r["id"]),
            r["started_at"][:19],
            r["tool_name"],
            r["status"],
            caller,
            r["approved_by"] or "",
            f"{r['duration_ms']:.0f}",
            error,
        )
    out.print(table)
    if requests:
        models = Table("started", "model", "role", "status", "tokens in", "tokens out", "tool calls", "ms", "error")
        for r in requests:
            models.add_row(
                r["started_at"][:19],
                r["model"],
                r["role"],
                r["status"],
                str(r["input_tokens"]),
                str(r["output_tokens"]),
                str(r["tool_calls"]),
                f"{r['latency_ms']:.0f}",
                escape((r["error"] or "")[:60]),
            )
        out.print(models)


@audit_app.command("verify")
def audit_verify(as_json: JsonFlag = False) -> None:
    """Recompute the hash chain: exit 0 when intact, 1 naming the first edited or deleted row."""
    from watchkeeper.humanize import plural

    report = open_cli_app().ledger.verify()
    if as_json:
        emit_json(report.as_dict())
    else:
        for row_id, note in report.notes:
            err.print(f"[yellow]row {row_id}:[/yellow] {escape(note)}", highlight=False)
        if report.ok:
            out.print(f"ledger intact: {plural(report.rows_checked, 'row')} verified", highlight=False)
        for row_id, problem in report.problems:
            err.print(f"[red]row {row_id}:[/red] {problem}", highlight=False)
    raise typer.Exit(0 if report.ok else 1)
