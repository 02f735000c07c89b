"""wk mcp: serve the skills over MCP; list imported MCP servers."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from watchkeeper.cli.common import JsonFlag, emit_json, err, open_cli_app, out

mcp_app = typer.Typer(invoke_without_command=True, help="Serve the skills over MCP; list imported MCP servers.")


@mcp_app.callback()
def mcp_serve(
    ctx: typer.Context,
    http: Annotated[bool, typer.Option("--http", help="Serve streamable HTTP instead of stdio.")] = False,
    host: Annotated[str | None, typer.Option("--host", help="HTTP bind address (default mcp.host).")] = None,
    port: Annotated[int | None, typer.Option("--port", help="HTTP port (default mcp.port).")] = None,
) -> None:
    """Serve every exposed skill as an MCP tool: stdio by default, --http for streamable HTTP at /mcp."""
    if ctx.invoked_subcommand is not None:
        return
    import anyio

    from watchkeeper.mcp.http import serve_http
    from watchkeeper.mcp.server import serve_stdio

    app = open_cli_app(need_store=False)
    if http:
        bind, at = host or app.settings.mcp.host, port or app.settings.mcp.port
        serve_http(app, bind, at, lambda url: err.print(f"watchkeeper MCP on {url}", highlight=False))
        return
    anyio.run(serve_stdio, app)


@mcp_app.command("servers")
def mcp_servers(
    refresh: Annotated[
        bool, typer.Option("--refresh", help="Connect to every server and fetch its tools now.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Configured external MCP servers: state, last fetch, and the skills imported from each."""
    from watchkeeper.mcp.imports import server_states

    states = server_states(open_cli_app(need_store=False).settings, refresh=refresh)
    if as_json:
        emit_json(states)
        return
    if not states:
        out.print("no MCP servers configured (add [[mcp.servers]] to the config)", highlight=False, markup=False)
    for st in states:
        mark = "[green]ok[/green]" if st["state"] == "ok" else f"[red]{st['state']}[/red]"
        out.print(
            f"[bold]{escape(st['name'])}[/bold] {mark} {st['transport']} fetched {st['fetched_at'] or 'never'}",
            highlight=False,
        )
        if st["error"]:
            out.print(f"  error: {st['error']}", highlight=False, markup=False)
        for tool in st["tools"]:
            out.print(f"  {tool['key']:40} {tool['class']:9} {tool['description'][:60]}", highlight=False, markup=False)
