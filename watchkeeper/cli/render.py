"""Terminal rendering with rich: reports, host checks, deliveries (JSON output never goes through here)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from watchkeeper.cli.common import one_line
from watchkeeper.evidence.host_check import HostReport, listeners
from watchkeeper.evidence.report import Report
from watchkeeper.humanize import pairs, plural
from watchkeeper.i18n import _, ngettext, speaking

if TYPE_CHECKING:
    from watchkeeper.notify.deliver import Delivery

STYLE = {"ok": "green", "info": "cyan", "warn": "yellow", "crit": "bold red"}
MAX_LISTENERS = 25  # a busy host listens on hundreds of ports; the JSON has every one


def _bytes(n: float | None) -> str:
    if n is None:
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def print_host_report(console: Console, report: HostReport) -> None:
    host = report.host
    if host:
        load = host["load"]
        mem, swap = host["memory"], host["swap"]
        cpu = ngettext(
            "up {hours}h  CPU {percent} of {n} core  load {load1} {load5} {load15}",
            "up {hours}h  CPU {percent} of {n} cores  load {load1} {load5} {load15}",
            host["cpu_count"],
        ).format(
            hours=host["uptime_s"] // 3600,
            percent=f"{host['cpu_percent']:.0f}%",
            n=host["cpu_count"],
            load1=load["1m"],
            load5=load["5m"],
            load15=load["15m"],
        )
        console.print(f"[bold]{one_line(host['hostname'])}[/bold]  {cpu}", highlight=False)
        memory = _("memory {percent} used ({available} available of {total})  swap {swap} of {size}")
        console.print(
            memory.format(
                percent=f"{mem['percent']:.0f}%",
                available=_bytes(mem["available_bytes"]),
                total=_bytes(mem["total_bytes"]),
                swap=f"{swap['percent']:.0f}%",
                size=_bytes(swap["total_bytes"]),
            ),
            highlight=False,
        )
        disks = Table(_("mount"), _("used"), _("size"), _("inodes"), title=_("disks"), title_justify="left")
        for d in host["disks"]:
            disks.add_row(
                one_line(d["mount"]),  # a mount point is named by whoever mounted it
                f"{d['percent']:.0f}%",
                _bytes(d["total_bytes"]),
                "-" if d["inodes_percent"] is None else f"{d['inodes_percent']:.0f}%",
            )
        console.print(disks)
    for title, rows in ((_("top by CPU"), report.top_cpu), (_("top by memory"), report.top_memory)):
        headers = ("pid", _("user"), "cpu%", "mem%", "rss", _("command"))
        table = Table(*headers, title=title, title_justify="left")
        for p in rows:
            table.add_row(
                str(p["pid"]),
                one_line(p["user"] or "-"),
                f"{p['cpu_percent'] or 0:.0f}",
                f"{p['memory_percent'] or 0:.1f}",
                _bytes(p["rss_bytes"]),
                one_line((p["cmdline"] or p["name"])[:70]),
            )
        console.print(table)
    if report.ports:
        table = Table(_("addresses"), _("proto"), _("process"), title=_("listening"), title_justify="left")
        entries = listeners(report.ports)
        for entry in entries[:MAX_LISTENERS]:
            pid = f" (pid {entry.pids[0]})" if len(entry.pids) == 1 else ""
            table.add_row(", ".join(entry.addresses), entry.protocol, one_line(f"{entry.process or '-'}{pid}"))
        console.print(table)
        if len(entries) > MAX_LISTENERS:
            n = len(entries) - MAX_LISTENERS
            more = ngettext(
                "… and {n} more listener (wk check --json lists them all)",
                "… and {n} more listeners (wk check --json lists them all)",
                n,
            ).format(n=n)
            console.print(f"[dim]{more}[/dim]", highlight=False)
    for log in report.logs:
        if log["error_lines"]:
            errors = ngettext("{n} error line", "{n} error lines", log["error_lines"]).format(n=log["error_lines"])
            newest = ngettext("in the newest {n} line", "in the newest {n} lines", log["scanned_lines"])
            burst = f"{errors} {newest.format(n=log['scanned_lines'])}"
            console.print(f"[bold]{one_line(log['path'])}[/bold]: {burst}", highlight=False)
            for line in log["newest_errors"]:
                console.print(f"  {line[:200]}", highlight=False, markup=False)
    unchecked = _("could not check")
    for problem in report.errors:
        console.print(f"[yellow]{unchecked}[/yellow] {one_line(problem)}", highlight=False)
    for f in report.findings:
        level = _(f.severity.upper())
        console.print(f"[{STYLE[f.severity]}]{level:4}[/] {one_line(f.message)}", highlight=False)
    console.print(f"[{STYLE[report.severity]}]{one_line(report.verdict)}[/]  ({report.duration_s}s)", highlight=False)


def print_report(console: Console, report: Report) -> None:
    """The report in the terminal, in the report's own language."""
    with speaking(report.language):
        _print_report(console, report)


def _print_report(console: Console, report: Report) -> None:
    s = report.symptom
    # Model text, alert fields, log excerpts, file and process names may hold brackets or terminal control
    # codes: shown through one_line, never read as markup or obeyed by the terminal.
    asked = s.alertname or s.question or _("investigation")
    console.print(f"[bold]{one_line(asked)}[/bold]  ({report.id})", highlight=False)
    console.print(one_line(report.summary), highlight=False)
    if report.hypotheses:
        table = Table("#", _("conf"), _("root cause"), _("culprit"), title=_("hypotheses"), title_justify="left")
        for i, h in enumerate(report.hypotheses, start=1):
            culprit = f"{_(h.culprit.kind)} {h.culprit.name}" if h.culprit else "-"
            table.add_row(str(i), f"{h.confidence:.2f}", one_line(h.title), one_line(culprit))
        console.print(table)
        for line in report.hypotheses[0].evidence:
            console.print(_("  evidence: {line}").format(line=one_line(line)), highlight=False)
        why = _("  why: {explanation}").format(explanation=one_line(report.hypotheses[0].explanation))
        console.print(why, highlight=False)
    if report.actions:
        headers = (_("action"), _("skill"), _("params"), _("class"), _("by"))
        table = Table(*headers, title=_("recommended actions"), title_justify="left")
        echoes = _("(echoes untrusted text)")
        for a in report.actions[:6]:
            by = f"{a.proposed_by} [red]{echoes}[/red]" if a.untrusted else a.proposed_by
            table.add_row(one_line(a.title), a.skill or "-", one_line(pairs(a.params) or "-"), _(a.risk_class), by)
        console.print(table)
        if len(report.actions) > 6:
            more = ngettext("… and {n} more action", "… and {n} more actions", len(report.actions) - 6)
            console.print(f"[dim]{more.format(n=len(report.actions) - 6)}[/dim]", highlight=False)
    see, ruled, checked, suspicious, noted = _("see:"), _("ruled out"), _("checked:"), _("suspicious"), _("note:")
    for ref in report.references:
        console.print(f"[dim]{see}[/dim] {one_line(ref.title)} ({one_line(ref.id)})", highlight=False)
    for f in report.findings[:10]:
        level = _(f.severity.upper())
        console.print(f"[{STYLE.get(f.severity, 'white')}]{level:4}[/] {one_line(f.message)}", highlight=False)
    for r in report.ruled_out[:5]:
        facts = f" ({'; '.join(r.facts)})" if r.facts else ""
        name = r.entity.name if r.entity else "-"
        console.print(f"[dim]{ruled}[/dim] {one_line(f'{name}: {r.reason}{facts}')}", highlight=False)
    for line in report.checked[:8]:
        console.print(f"[dim]{checked} {one_line(line)}[/dim]", highlight=False)
    for sus in report.suspicious[:8]:
        console.print(
            f"[red]{suspicious}[/red] {one_line(f'{sus.source}: {sus.why}: {sus.line[:160]}')}", highlight=False
        )
    for note in report.notes:
        console.print(f"[dim]{noted} {one_line(note)}[/dim]", highlight=False)
    if report.usage:
        u = report.usage
        console.print(
            f"[dim]model {one_line(u.model)}: {plural(u.requests, 'request')}, {plural(u.input_tokens, 'token')} in, "
            f"{u.output_tokens} out, {plural(u.tool_calls, 'tool call')}{' (partial)' if report.partial else ''}[/dim]",
            highlight=False,
        )
    calls = ngettext("{n} skill call, {seconds:.1f}s", "{n} skill calls, {seconds:.1f}s", len(report.calls))
    playbook = _(", playbook {name}").format(name=report.playbook) if report.playbook else ""
    replay = _("; replay with: wk investigate --replay {id}").format(id=report.id)
    console.print(
        f"[dim]{calls.format(n=len(report.calls), seconds=report.duration_s)}{one_line(playbook)}{replay}[/dim]",
        highlight=False,
    )


def print_deliveries(console: Console, deliveries: list[Delivery]) -> None:
    """One line per delivery; targets as shown (no tokens), remote text never read as markup."""
    for d in deliveries:
        tries = plural(d.attempts, "attempt")
        if d.ok:
            console.print(f"delivered to {one_line(d.target)} ({one_line(d.report_id)}, {tries})", highlight=False)
            continue
        kept = f"; the report is kept at {one_line(d.kept_at)}" if d.kept_at else ""
        console.print(
            f"[red]delivery to {one_line(d.target)} failed[/red] ({one_line(d.report_id)}, {tries}): "
            f"{one_line(d.error or 'unknown error')}{kept}",
            highlight=False,
        )
