"""wk silences: maintenance windows. Alerts matching every matcher of an active silence are stored and
shown, but open no incident and notify no one. Local, or on a manager with `--server`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from watchkeeper.cli.common import JsonFlag, emit_json, fail, one_line, open_cli_app, out, person
from watchkeeper.cli.incidents import when
from watchkeeper.cli.remote import ServerOption, TokenOption, remote

silences_app = typer.Typer(no_args_is_help=True, help="Silences: keep matching alerts from opening incidents.")


def _time(option: str, text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        ts = datetime.fromisoformat(text)
    except ValueError:
        fail(f"{option} takes an ISO time like 2026-05-01T22:00 (UTC unless it names a zone), got {text!r}")
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


@silences_app.command("add")
def silences_add(
    # Described in the docstring: Typer would print a variadic argument's type as `<list[str]>`.
    matchers: Annotated[list[str], typer.Argument(metavar="MATCHER...", hidden=True)],
    comment: Annotated[str, typer.Option("--comment", help="Why: shown beside every alert it silences.")],
    duration: Annotated[str | None, typer.Option("--duration", help="How long: 30m, 2h, 1d.")] = None,
    starts: Annotated[str | None, typer.Option("--starts", help="When it starts (ISO time; default now).")] = None,
    ends: Annotated[str | None, typer.Option("--ends", help="When it ends (ISO time), instead of --duration.")] = None,
    as_json: JsonFlag = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Silence the alerts that match every matcher, for --duration or until --ends.

    Each MATCHER is Alertmanager's: name="value", name!="value", name=~"regex", name!~"regex".
    """
    from watchkeeper.incidents.silences import add_silence, parse_duration

    if (duration is None) == (ends is None):
        fail("give either --duration or --ends")
    if api := remote(server, token):
        body = {"matchers": matchers, "starts_at": starts, "ends_at": ends, "duration": duration, "comment": comment}
        silence = api.call("POST", "/api/v1/silences", {k: v for k, v in body.items() if v is not None})
    else:
        start = _time("--starts", starts) or datetime.now(UTC)
        try:
            until = start + parse_duration(duration) if duration else _time("--ends", ends)
            assert until is not None  # --ends was given
            silence = add_silence(
                open_cli_app(import_mcp=False),
                matchers,
                starts_at=start,
                ends_at=until,
                actor=person(),
                comment=comment,
            )
        except (ValueError, OverflowError) as exc:
            fail(str(exc))
    if as_json:
        emit_json(silence)
        return
    out.print(
        one_line(f"silence {silence['id']} until {when(silence['ends_at'])} UTC: {' '.join(silence['matchers'])}"),
        highlight=False,
    )


@silences_app.command("list")
def silences_list(
    show_all: Annotated[bool, typer.Option("--all", help="Expired ones too.")] = False,
    as_json: JsonFlag = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Silences not yet over, newest first."""
    rows: list[dict[str, Any]]
    if api := remote(server, token):
        rows = api.get("/api/v1/silences", include_expired=show_all)
    else:
        from watchkeeper.incidents.silences import list_silences

        rows = list_silences(open_cli_app(import_mcp=False).engine, include_expired=show_all)
    if as_json:
        emit_json(rows)
        return
    table = Table("id", "matchers", "starts (UTC)", "ends (UTC)", "state", "by", "comment")
    now = datetime.now(UTC).isoformat()
    for s in rows:
        state = "active" if s["active"] else "pending" if s["starts_at"] > now else "expired"
        table.add_row(
            s["id"],
            one_line(" ".join(s["matchers"])),
            when(s["starts_at"]),
            when(s["ends_at"]),
            state,
            one_line(s["created_by"] + (f", ended by {s['expired_by']}" if s.get("expired_by") else "")),
            one_line(s["comment"][:60]),
        )
    out.print(table)


@silences_app.command("expire")
def silences_expire(
    silence_id: Annotated[str, typer.Argument(metavar="ID", help="The silence's id (wk silences list).")],
    as_json: JsonFlag = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """End a silence now."""
    import urllib.parse

    if api := remote(server, token):
        silence = api.call("DELETE", f"/api/v1/silences/{urllib.parse.quote(silence_id, safe='')}")
    else:
        from watchkeeper.incidents.silences import expire_silence

        silence = expire_silence(open_cli_app(import_mcp=False), silence_id, person())
    if as_json:
        emit_json(silence)
        return
    out.print(one_line(f"silence {silence['id']} ended at {when(silence['ends_at'])} UTC"), highlight=False)
