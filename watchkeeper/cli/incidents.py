"""wk incidents: list, show and act on incidents, on the local data directory or on a manager
(`--server`); `--json` prints exactly what the API answers. Titles, labels and reasons come from alert
senders: every one is printed through `one_line`, never read as markup or obeyed by the terminal."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from watchkeeper.cli.common import JsonFlag, emit_json, fail, one_line, open_cli_app, out, person
from watchkeeper.cli.remote import ServerOption, TokenOption, remote

if TYPE_CHECKING:
    from watchkeeper.app import App

incidents_app = typer.Typer(no_args_is_help=True, help="Incidents: what the alerts were about, and what was done.")
IncidentArg = Annotated[int, typer.Argument(metavar="ID", min=1, help="The incident's number.")]
STATUSES = "open|investigating|diagnosed|remediating|resolved|closed"
SEVERITIES = "critical|warning|info"
STYLE = {"critical": "bold red", "warning": "yellow", "info": "cyan"}


def when(ts: str | None) -> str:
    """An ISO time as `2026-01-01 12:00:00` (UTC)."""
    return ts[:19].replace("T", " ") if ts else "-"


def _choice(option: str, value: str | None, allowed: str) -> str | None:
    if value is not None and value not in allowed.split("|"):
        fail(f"{option} must be one of {allowed.replace('|', ', ')}, got {value!r}")
    return value


def _act(server: str | None, token: str | None, path: str, body: Any, local: Callable[[App, str], Any]) -> Any:
    """One action, on the manager (as the token's user) or locally (as the person at the terminal)."""
    if api := remote(server, token):
        return api.call("POST", path, body)
    return local(open_cli_app(import_mcp=False), person())


@incidents_app.command("list")
def incidents_list(
    status: Annotated[str | None, typer.Option("--status", metavar=STATUSES, help="Only these.")] = None,
    severity: Annotated[str | None, typer.Option("--severity", metavar=SEVERITIES, help="Only these.")] = None,
    service: Annotated[str | None, typer.Option("--service", help="Only incidents with alerts on it.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Opened since: 30m, 1h, 2d or ISO time.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="Newest N.")] = 100,
    as_json: JsonFlag = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Incidents, newest first."""
    _choice("--status", status, STATUSES)
    _choice("--severity", severity, SEVERITIES)
    if api := remote(server, token):
        rows = api.get("/api/v1/incidents", status=status, severity=severity, service=service, since=since, limit=limit)
    else:
        from watchkeeper.cli.audit import since_option
        from watchkeeper.incidents.queries import list_incidents

        start = since_option(since) if since else None
        engine = open_cli_app(import_mcp=False).engine
        rows = list_incidents(engine, status=status, severity=severity, service=service, since=start, limit=limit)
    if as_json:
        emit_json(rows)
        return
    table = Table("id", "opened (UTC)", "status", "severity", "alerts", "inv.", "title", "targets")
    for i in rows:
        status_text = i["status"] + (f" → #{i['merged_into']}" if i["merged_into"] else "")
        if i["acknowledged_by"]:
            status_text += f", ack {i['acknowledged_by']}"
        targets = ", ".join(i["targets"][:3]) + (f" +{len(i['targets']) - 3}" if len(i["targets"]) > 3 else "")
        table.add_row(
            str(i["id"]),
            when(i["opened_at"]),
            one_line(status_text),
            f"[{STYLE.get(i['severity'], 'white')}]{one_line(i['severity'])}[/]",
            f"{i['firing_count']}/{i['alert_count']}",
            str(i["investigation_count"]),
            one_line(i["title"][:80]),
            one_line(targets),
        )
    out.print(table)


@incidents_app.command("show")
def incidents_show(
    incident_id: IncidentArg, as_json: JsonFlag = False, server: ServerOption = None, token: TokenOption = None
) -> None:
    """An incident: its alerts and why each joined, its timeline, reports and notifications."""
    if api := remote(server, token):
        incident = api.call("GET", f"/api/v1/incidents/{incident_id}")
    else:
        from watchkeeper.incidents.queries import show_incident

        incident = show_incident(open_cli_app(import_mcp=False).engine, incident_id)
    if as_json:
        emit_json(incident)
        return
    print_incident(incident)


def print_incident(i: dict[str, Any]) -> None:
    severity = f"[{STYLE.get(i['severity'], 'white')}]{one_line(i['severity'])}[/]"
    out.print(f"[bold]#{i['id']} {one_line(i['title'])}[/bold]  {severity}, {one_line(i['status'])}", highlight=False)
    facts = [f"opened {when(i['opened_at'])} UTC"]
    if i["resolved_at"]:
        facts.append(f"resolved {when(i['resolved_at'])}" + (f" by {i['resolved_by']}" if i["resolved_by"] else ""))
    if i["acknowledged_by"]:
        facts.append(f"acknowledged by {i['acknowledged_by']} at {when(i['acknowledged_at'])}")
    if i["merged_into"]:
        facts.append(f"merged into #{i['merged_into']}")
    if i["previous_id"]:
        facts.append(f"happened before as #{i['previous_id']}")
    if i["flaps"]:
        facts.append(f"flapped {i['flaps']}x")
    out.print(one_line("; ".join(facts)), highlight=False)

    alerts = Table("fingerprint", "alert", "status", "target", "joined", "why", title="alerts", title_justify="left")
    for a in i["alerts"]:
        status = a["status"] + (f" (silenced by {a['silenced_by']})" if a["silenced_by"] else "")
        alerts.add_row(
            one_line(a["fingerprint"][:16]),
            one_line(a["name"]),
            one_line(status),
            one_line(a["target"]),
            one_line(a["join_rule"] or "-"),
            one_line(a["join_reason"] or "-"),
        )
    out.print(alerts)
    if i["timeline"]:
        out.print("[bold]timeline[/bold]")
        for e in i["timeline"]:
            line = f"  {when(e['at'])}  {one_line(e['kind'])}  {one_line(e['actor'])}: {one_line(e['text'])}"
            out.print(line, highlight=False)
    for inv in i["investigations"]:
        error = f": {inv['error']}" if inv["error"] else ""
        out.print(one_line(f"investigation #{inv['id']} ({inv['kind']}) {inv['status']}{error}"), highlight=False)
    for r in i["reports"]:
        report = r.get("report") or {}
        top = (report.get("hypotheses") or [{}])[0].get("title")
        about = f"on {r.get('target')} ({len(r.get('alerts') or [])} alert(s)): {report.get('summary', '-')}"
        out.print(f"[bold]report[/bold] {one_line(about)}", highlight=False)
        if top:
            out.print(f"  most likely: {one_line(str(top))}", highlight=False)
    if i["notifications"]:
        sent = Table(
            "kind", "to", "status", "tries", "sent (UTC)", "error", title="notifications", title_justify="left"
        )
        for n in i["notifications"]:
            sent.add_row(
                n["kind"],
                one_line(n["shown"]),
                n["status"],
                str(n["attempts"]),
                when(n["sent_at"]),
                one_line((n["error"] or "")[:80]),
            )
        out.print(sent)


@incidents_app.command("ack")
def incidents_ack(
    incident_id: IncidentArg, as_json: JsonFlag = False, server: ServerOption = None, token: TokenOption = None
) -> None:
    """Acknowledge: someone is on it (a flag beside the status)."""
    from watchkeeper.incidents.lifecycle import acknowledge
    from watchkeeper.incidents.queries import show_incident

    def local(app: App, actor: str) -> dict[str, Any]:
        acknowledge(app, incident_id, actor)
        return show_incident(app.engine, incident_id)

    incident = _act(server, token, f"/api/v1/incidents/{incident_id}/ack", None, local)
    if as_json:
        emit_json(incident)
        return
    out.print(one_line(f"incident #{incident_id} acknowledged by {incident['acknowledged_by']}"), highlight=False)


@incidents_app.command("resolve")
def incidents_resolve(
    incident_id: IncidentArg,
    note: Annotated[str | None, typer.Option("--note", help="What fixed it (on the timeline and the message).")] = None,
    as_json: JsonFlag = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Resolve an incident now."""
    from watchkeeper.incidents.lifecycle import resolve
    from watchkeeper.incidents.queries import show_incident

    def local(app: App, actor: str) -> dict[str, Any]:
        resolve(app, incident_id, actor, note)
        return show_incident(app.engine, incident_id)

    incident = _act(server, token, f"/api/v1/incidents/{incident_id}/resolve", {"note": note}, local)
    if as_json:
        emit_json(incident)
        return
    out.print(f"incident #{incident_id} is {one_line(incident['status'])}", highlight=False)


@incidents_app.command("reinvestigate")
def incidents_reinvestigate(
    incident_id: IncidentArg, as_json: JsonFlag = False, server: ServerOption = None, token: TokenOption = None
) -> None:
    """Queue another investigation of an incident (the manager runs it)."""
    from watchkeeper.incidents.lifecycle import reinvestigate

    def local(app: App, actor: str) -> dict[str, Any]:
        queued = reinvestigate(app, incident_id, actor)
        return {"incident_id": incident_id, "investigation_id": queued, "status": "queued"}

    answer = _act(server, token, f"/api/v1/incidents/{incident_id}/reinvestigate", None, local)
    if as_json:
        emit_json(answer)
        return
    out.print(f"investigation #{answer['investigation_id']} of incident #{incident_id} is queued", highlight=False)


@incidents_app.command("merge")
def incidents_merge(
    incident_id: IncidentArg,
    into: Annotated[int, typer.Option("--into", min=1, help="The incident it becomes part of.")],
    as_json: JsonFlag = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Merge an incident into another: its alerts move there, it is closed."""
    from watchkeeper.incidents.lifecycle import merge
    from watchkeeper.incidents.queries import show_incident

    def local(app: App, actor: str) -> dict[str, Any]:
        merge(app, incident_id, into, actor)
        return show_incident(app.engine, into)

    incident = _act(server, token, f"/api/v1/incidents/{incident_id}/merge", {"into": into}, local)
    if as_json:
        emit_json(incident)
        return
    out.print(f"incident #{incident_id} merged into #{into} ({incident['alert_count']} alerts)", highlight=False)


@incidents_app.command("split")
def incidents_split(
    incident_id: IncidentArg,
    # Described in the docstring: Typer would print a variadic argument's type as `<list[str]>`.
    fingerprints: Annotated[list[str], typer.Argument(metavar="FINGERPRINT...", hidden=True)],
    as_json: JsonFlag = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Move some alerts of an incident to a new one.

    Each FINGERPRINT names an alert of the incident to split off (wk incidents show ID lists them).
    """
    from watchkeeper.incidents.lifecycle import split
    from watchkeeper.incidents.queries import show_incident

    def local(app: App, actor: str) -> dict[str, Any]:
        return show_incident(app.engine, split(app, incident_id, fingerprints, actor))

    incident = _act(server, token, f"/api/v1/incidents/{incident_id}/split", {"fingerprints": fingerprints}, local)
    if as_json:
        emit_json(incident)
        return
    moved = len(incident["alerts"])
    out.print(f"{moved} alert(s) split off incident #{incident_id} into #{incident['id']}", highlight=False)
