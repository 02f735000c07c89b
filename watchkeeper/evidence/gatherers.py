"""What an investigation looks at, and the findings it draws from each skill's output.

Analyzers turn one skill result into findings; gatherers are the follow-ups an SRE does
next (the top process in detail, growth over a short window, a service's own logs, the
upstream a proxy complains about). Playbooks name gatherers; nothing here knows a scenario.
"""

from __future__ import annotations

import os
import re
import statistics
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from watchkeeper.evidence import host_check
from watchkeeper.evidence.anomaly import forecast, human_duration, level_shift
from watchkeeper.evidence.catalogue import classify
from watchkeeper.evidence.investigation import Investigation
from watchkeeper.evidence.log_templates import mine, severity_of
from watchkeeper.evidence.report import Culprit, Finding
from watchkeeper.evidence.timeparse import clock_skew, parse_timestamp
from watchkeeper.humanize import plural
from watchkeeper.series import trend

PROCESS_HOT_PCT = 80.0
LEAK_MIN_BYTES_PER_S = 512 * 1024
LEAK_MIN_R2 = 0.8
SLOW_MS = 2000.0
TLS_WARN_DAYS = 21
TAIL_LINES = 2000
LOG_FILES_PER_SERVICE = 4
ONSET = timedelta(minutes=30)  # how far before the alert the failures may have begun

KEYWORDS = {
    "exhausted": re.compile(
        r"(?i)(pool|workers?|threads?|connections?|slots?)\b.{0,40}\b(exhausted|busy|full|"
        r"depleted|limit reached)|no (free|idle|available) (workers?|threads?|connections?)"
    ),
    "timeout": re.compile(r"(?i)\btimed? ?out\b|\btimeout\b|deadline exceeded"),  # not "request_timeout_ms"
    "refused": re.compile(r"(?i)connection refused|connect\(\) failed|ECONNREFUSED"),
    "upstream": re.compile(r"(?i)upstream|bad gateway|\b502\b|\b504\b"),
    "exception": re.compile(r"(?i)exception|traceback|error:|fatal"),
    "config": re.compile(r"(?i)config|configuration|setting|reload"),
    "memory": re.compile(r"(?i)out of memory|oom|cannot allocate|memoryerror"),
}
ADDRESS = re.compile(r"(?:https?://)?(\d{1,3}(?:\.\d{1,3}){3}|localhost|[a-z][\w.-]*\.[a-z]{2,}):(\d{2,5})")
URL = re.compile(r"https?://[^\s\"',)]+")


def finding(
    kind: str, severity: str, message: str, audit_ids: list[int], entity: Culprit | None = None, **data: Any
) -> Finding:
    return Finding(kind=kind, severity=severity, message=message, entity=entity, audit_ids=audit_ids, data=data)


# -- analyzers of single skill results -------------------------------------------------------------


def analyze_host(inv: Investigation, host: dict[str, Any]) -> None:
    inv.results["host"] = host
    ids = inv.audit_ids("host_status")
    for f in host_check.host_findings(host):
        entity = Culprit(kind="path", name=f.evidence["mount"], path=f.evidence["mount"]) if f.kind == "disk" else None
        inv.add(finding(f.kind, f.severity, f.message, ids, entity, **f.evidence))


def analyze_top(inv: Investigation, top: dict[str, Any]) -> None:
    ids = inv.audit_ids("top_processes")
    procs = host_check.foreign(top)
    if top.get("by") == "cpu":
        inv.results["top_cpu"] = procs
        for p in procs:
            if host_check.wants(p) >= PROCESS_HOT_PCT:
                entity = Culprit(kind="process", name=p["name"], pid=p["pid"])
                inv.add(
                    finding(
                        "process_cpu",
                        "warn",
                        f"process {p['name']} (pid {p['pid']}) uses {host_check.core_use(p)}",
                        ids,
                        entity,
                        **p,
                    )
                )
    else:
        inv.results["top_memory"] = procs
        if procs:
            p = procs[0]
            entity = Culprit(kind="process", name=p["name"], pid=p["pid"])
            inv.add(
                finding(
                    "process_memory_top",
                    "info",
                    f"process {p['name']} (pid {p['pid']}) holds the most memory: {p['rss_bytes'] / 2**20:.0f} MiB RSS",
                    ids,
                    entity,
                    **p,
                )
            )


def analyze_listening(inv: Investigation, ports: dict[str, Any]) -> None:
    inv.results["listening"] = ports.get("ports", [])
    port = inv.targets.port
    if port is None:
        return
    listeners = [p for p in ports.get("ports", []) if p["port"] == port and p["protocol"] == "tcp"]
    ids = inv.audit_ids("listening_ports")
    if not listeners:
        name = inv.targets.service or f"port {port}"
        entity = (
            Culprit(kind="service", name=name, port=port)
            if inv.targets.service
            else Culprit(kind="port", name=str(port), port=port)
        )
        inv.add(finding("port_not_listening", "crit", f"nothing listens on port {port}", ids, entity, port=port))
    else:
        inv.results["target_listener"] = listeners[0]


ANALYZERS: dict[str, Callable[[Investigation, dict[str, Any]], None]] = {
    "host_status": analyze_host,
    "top_processes": analyze_top,
    "listening_ports": analyze_listening,
}


def run_step(inv: Investigation, skill: str, params: dict[str, Any]) -> None:
    result = inv.call(skill, **params)
    if result is not None and skill in ANALYZERS:
        ANALYZERS[skill](inv, result)


# -- gatherers: the follow-ups -----------------------------------------------------------------------

Gatherer = Callable[[Investigation], None]
GATHERERS: dict[str, Gatherer] = {}


def gatherer(fn: Gatherer) -> Gatherer:
    GATHERERS[fn.__name__] = fn
    return fn


@gatherer
def top_process_detail(inv: Investigation) -> None:
    hot = [f for f in inv.findings if f.kind == "process_cpu"]
    if not hot or hot[0].entity is None or hot[0].entity.pid is None:
        return
    detail = inv.call("process_detail", pid=hot[0].entity.pid)
    if detail:
        hot[0].data["detail"] = {
            k: detail.get(k)
            for k in ("cmdline", "user", "threads", "started_at", "exe", "open_files", "parent", "cpu_percent")
        }
        hot[0].audit_ids += inv.audit_ids("process_detail")[-1:]
        started = detail.get("started_at")
        if started:
            hot[0].message += f", running since {started}"


@gatherer
def memory_growth(inv: Investigation) -> None:
    """Sample RSS of the biggest processes over a short window: a steady climb is a leak."""
    samples: dict[int, list[tuple[float, float, str]]] = {}
    rounds = 4
    for i in range(rounds):
        # Wide enough that a leaker that starts small is sampled every round, beside big steady holders.
        top = inv.call("top_processes", by="memory", n=15, sample_seconds=0.1)
        at = inv.sample_times("top_processes")[-1] if inv.calls else 0.0
        for p in host_check.foreign(top or {}):
            if p.get("rss_bytes"):
                samples.setdefault(p["pid"], []).append((at, float(p["rss_bytes"]), p["name"]))
        if i < rounds - 1:
            inv.sleep(inv.results.get("sample_seconds", 3.0) / (rounds - 1))
    ids = inv.audit_ids("top_processes")
    for pid, points in samples.items():
        fit = trend([t for t, _, _ in points], [v for _, v, _ in points])
        if fit is None or fit.slope_per_s < LEAK_MIN_BYTES_PER_S or fit.r2 < LEAK_MIN_R2:
            continue
        name = points[-1][2]
        rate = fit.slope_per_s / 2**20
        inv.add(
            finding(
                "process_memory_growth",
                "crit",
                f"process {name} (pid {pid}) RSS grows {rate:.1f} MiB/s "
                f"({points[0][1] / 2**20:.0f} -> {points[-1][1] / 2**20:.0f} MiB, R² {fit.r2:.2f})",
                ids,
                Culprit(kind="process", name=name, pid=pid),
                bytes_per_s=fit.slope_per_s,
                r2=fit.r2,
                rss_bytes=points[-1][1],
            )
        )


@gatherer
def disk_growth(inv: Investigation) -> None:
    """For the alert's mount (or any mount over 85 %): what grows, how fast, who writes it, and when it is full."""
    host = inv.call("host_status", sample_seconds=0.1)
    disks = (host or {}).get("disks", [])
    mount = inv.targets.mountpoint
    if mount is None:
        busy = [d for d in disks if d["percent"] >= 85]
        mount = max(busy, key=lambda d: d["percent"])["mount"] if busy else None
    if mount is None:
        inv.notes.append("no mountpoint named and no filesystem over 85 %: disk growth not sampled")
        return
    first = inv.call("disk_usage", path=mount, top=10, time_budget_s=5)
    used: list[tuple[float, float]] = []
    total = None
    for _ in range(4):
        inv.sleep(inv.results.get("sample_seconds", 3.0) / 4)
        host = inv.call("host_status", sample_seconds=0.1)
        disk = next((d for d in (host or {}).get("disks", []) if d["mount"] == mount), None)
        if disk:
            used.append((inv.sample_times("host_status")[-1], float(disk["used_bytes"])))
            total = float(disk["total_bytes"])
    last = inv.call("disk_usage", path=mount, top=10, time_budget_s=5)
    if not first or not last:
        return
    before = {f["path"]: f["bytes"] for f in first.get("largest_files", [])}
    growing = sorted(
        ((f["bytes"] - before.get(f["path"], 0), f) for f in last.get("largest_files", [])),
        key=lambda item: item[0],
        reverse=True,
    )
    ids = inv.audit_ids("disk_usage") + inv.audit_ids("host_status")
    eta_note = ""
    if used and total:
        fc = forecast([t for t, _ in used], [u for _, u in used], total)
        eta_note = fc.note
        if fc.seconds_to_threshold is not None:
            inv.add(
                finding(
                    "disk_fill_forecast",
                    "crit" if fc.seconds_to_threshold < 3600 else "warn",
                    f"{mount} fills in ~{human_duration(fc.seconds_to_threshold)} at the current rate",
                    ids,
                    Culprit(kind="path", name=mount, path=mount),
                    seconds=fc.seconds_to_threshold,
                    r2=fc.trend.r2,
                )
            )
    grew = [(d, f) for d, f in growing if d > 0]
    target = grew[0][1] if grew else (last.get("largest_files") or [None])[0]
    if target is None:
        return
    users = inv.call("file_users", path=target["path"]) or {}
    writer = next(iter(users.get("users", [])), None)
    delta = grew[0][0] if grew else 0
    message = (
        f"{target['path']} is the {'fastest-growing' if grew else 'largest'} file on {mount} "
        f"({target['bytes'] / 2**20:.1f} MiB{f', +{delta / 2**20:.1f} MiB while sampled' if delta else ''})"
    )
    if writer:
        message += f", written by {writer['name']} (pid {writer['pid']})"
    inv.add(
        finding(
            "file_growth" if grew else "largest_file",
            "crit" if grew else "info",
            message,
            ids + inv.audit_ids("file_users"),
            Culprit(kind="path", name=target["path"], path=target["path"]),
            mount=mount,
            bytes=target["bytes"],
            grew_bytes=delta,
            writer=writer,
            forecast=eta_note,
        )
    )


def _log_files(inv: Investigation, service: str) -> list[str]:
    configured = inv.services.get(service, {}).get("logs", [])
    found: list[str] = [str(p) for p in configured]
    for root in inv.log_roots:
        base = Path(root)
        candidates = sorted((base / service).glob("*.log")) if (base / service).is_dir() else []
        candidates += [p for p in sorted(base.glob(f"*{service}*")) if p.is_file()]
        found += [str(p) for p in candidates if not p.name.endswith(".gz") and not re.search(r"\.\d+$", p.name)]
    unique = list(dict.fromkeys(found))
    return sorted(unique, key=lambda p: -os.path.getmtime(p) if os.path.exists(p) else 0)[:LOG_FILES_PER_SERVICE]


def _split(lines: list[str], since: datetime | None) -> tuple[list[str], list[str]]:
    """Baseline and recent lines. With timestamps, the failures began at the first error line of the
    ONSET window before the alert (or before the newest line: an alert fires minutes after the first
    failures); without any error there, the last minute before it. Without timestamps, halves."""
    stamps = [parse_timestamp(line) for line in lines]
    known = [s for s in stamps if s is not None]
    if len(known) >= max(1, len(lines) // 2):
        end = since or max(known)
        start = end - ONSET
        onset = next(
            (i for i, s in enumerate(stamps) if s is not None and s >= start and severity_of(lines[i]) == 2), None
        )
        if onset is None:
            cut = end - timedelta(minutes=1)
            onset = next((i for i, s in enumerate(stamps) if s is not None and s >= cut), len(lines))
        return lines[:onset], lines[onset:]
    half = len(lines) // 2
    return lines[:half], lines[half:]


def service_log_findings(inv: Investigation, service: str, role: str = "target") -> list[Finding]:
    """Mine a service's logs; findings for its error templates, with the words that explain them."""
    added: list[Finding] = []
    inv.results.setdefault("logs_read", []).append(service)
    for path in _log_files(inv, service):
        tail = inv.call("tail_file", path=path, lines=TAIL_LINES)
        if not tail or not tail.get("lines"):
            continue
        lines = tail["lines"]
        newest = next((t for t in (parse_timestamp(x) for x in reversed(lines)) if t), None)
        skew = clock_skew(newest, datetime.now(UTC))
        ids = inv.audit_ids("tail_file")[-1:]
        if skew is not None:
            inv.add(
                finding(
                    "clock_skew",
                    "warn",
                    f"{path} has entries {skew.total_seconds():.0f}s in the future: "
                    "this host's clock (or the log's zone) is off",
                    ids,
                    ahead_s=skew.total_seconds(),
                )
            )
        baseline, recent = _split(lines, inv.symptom.starts_at)
        templates = mine(recent, baseline)
        # The worst templates, and any a signature of the catalogue recognises whatever its level
        # ("INFO worker exited with status 1" is a crash, "Can't synchronise" a clock adrift).
        worst = [t for t in templates if t.severity == 2][:3]
        known = [t for t in templates if t not in worst and classify(inv.catalogue, t.example)][:3]
        errors = sum(t.count for t in templates if t.severity == 2)
        inv.checked.append(
            f"{service} log {Path(path).name}: {plural(len(recent), 'recent line')}, "
            + (f"{plural(errors, 'error line')} in {plural(len(worst), 'template')}" if errors else "no error")
        )
        for tpl in worst + known:
            lines_of = [x for x in recent if x.strip()][tpl.first_line - 1 : tpl.last_line]
            words = sorted(k for k, rx in KEYWORDS.items() if rx.search(tpl.example))
            addresses = [(h, int(p)) for h, p in ADDRESS.findall(" ".join(lines_of[:50]))]
            urls = URL.findall(tpl.example)
            f = finding(
                "log_errors",
                "crit" if tpl.count >= 20 else "warn",
                f"{'new ' if tpl.novel else ''}{'error ' if tpl.severity == 2 else ''}template in {service} "
                f"({Path(path).name}) x{tpl.count}: {tpl.template[:160]}",
                ids,
                Culprit(kind="service", name=service),
                service=service,
                path=path,
                role=role,
                template=tpl.template,
                count=tpl.count,
                novel=tpl.novel,
                example=tpl.example[:300],
                words=words,
                addresses=addresses[:5],
                urls=urls[:3],
                baseline_lines=len(baseline),
                recent_lines=len(recent),
            )
            inv.add(f)
            added.append(f)
    return added


@gatherer
def service_logs(inv: Investigation) -> None:
    names = [inv.targets.service] if inv.targets.service else []
    # The processes the host findings point at are services too, as far as their logs go.
    names += [f.entity.name for f in inv.findings if f.kind in ("process_cpu", "process_memory_growth") and f.entity]
    for name in dict.fromkeys(n for n in names if n):
        service_log_findings(inv, name)
    if inv.targets.service:
        journal = inv.call("read_journal", unit=inv.targets.service, since="1h", priority="warning", lines=200)
        if journal and journal.get("entries"):
            messages = [e["message"] for e in journal["entries"]]
            for tpl in mine(messages)[:2]:
                inv.add(
                    finding(
                        "journal_errors",
                        "warn",
                        f"journal of {inv.targets.service} x{tpl.count}: {tpl.template[:160]}",
                        inv.audit_ids("read_journal"),
                        Culprit(kind="service", name=inv.targets.service),
                        example=tpl.example[:300],
                    )
                )


@gatherer
def endpoints(inv: Investigation) -> None:
    t = inv.targets
    if not t.url and t.service:
        t.url = inv.services.get(t.service, {}).get("url")  # the operator's map, when the alert names no URL
    jobs: list[Callable[[], Any]] = []
    if t.url:
        jobs.append(lambda: ("http", inv.call("probe_http", url=t.url, timeout_s=5)))
    if t.host and t.port and not t.url:
        jobs.append(lambda: ("tcp", inv.call("probe_tcp", host=t.host, port=t.port, timeout_s=5)))
    for kind, result in inv.parallel(jobs):
        if result:
            analyze_probe(inv, kind, result, role="target")


def analyze_probe(inv: Investigation, kind: str, result: dict[str, Any], role: str) -> None:
    service = inv.targets.service if role == "target" else None
    if kind == "tcp":
        ids = inv.audit_ids("probe_tcp")[-1:]
        if not result["open"]:
            entity = (
                Culprit(kind="service", name=service, port=result["port"])
                if service
                else Culprit(kind="port", name=str(result["port"]), port=result["port"])
            )
            inv.add(
                finding(
                    "port_closed",
                    "crit",
                    f"{result['host']}:{result['port']} does not accept connections: {result['error']}",
                    ids,
                    entity,
                    role=role,
                    **result,
                )
            )
        return
    ids = inv.audit_ids("probe_http")[-1:]
    url = result["url"]
    port = urlsplit(url).port
    entity = Culprit(kind="url", name=url, url=url, port=port)
    tls = result.get("tls") or {}
    if tls.get("days_to_expiry") is not None and tls["days_to_expiry"] < TLS_WARN_DAYS:
        severity = "crit" if tls["days_to_expiry"] < 7 else "warn"
        inv.add(
            finding(
                "tls_expiry",
                severity,
                f"the certificate of {url} expires in {tls['days_to_expiry']:.1f} days "
                f"({tls.get('not_after')}, {tls.get('subject')})",
                ids,
                entity,
                role=role,
                **tls,
            )
        )
    if tls.get("verified") is False:
        inv.add(
            finding(
                "tls_invalid",
                "crit",
                f"the certificate of {url} does not verify: {tls.get('verify_error')} ({tls.get('subject')})",
                ids,
                entity,
                role=role,
                **tls,
            )
        )
    status = result.get("status")
    if status is None:
        inv.add(
            finding(
                "http_unreachable",
                "crit",
                f"{url} unreachable: {result.get('error')}",
                ids,
                entity,
                role=role,
                error=result.get("error"),
            )
        )
    elif status >= 500:
        inv.add(
            finding(
                "http_error",
                "crit",
                f"{url} answers {status} {result.get('reason', '')}".strip(),
                ids,
                entity,
                role=role,
                status=status,
                body=result.get("body_excerpt", "")[:200],
            )
        )
    if result.get("latency_ms") and result["latency_ms"] >= SLOW_MS:
        inv.add(
            finding(
                "http_slow",
                "warn",
                f"{url} took {result['latency_ms']:.0f} ms",
                ids,
                entity,
                role=role,
                latency_ms=result["latency_ms"],
            )
        )


@gatherer
def service_state(inv: Investigation) -> None:
    service = inv.targets.service
    if not service:
        return
    state = inv.call("service_status", unit=inv.services.get(service, {}).get("unit") or service)
    if state and not state.get("running"):
        inv.add(
            finding(
                "service_not_running",
                "crit",
                f"{service} is {state['state']} ({state['manager']}): {state.get('detail') or ''}".strip(),
                inv.audit_ids("service_status"),
                Culprit(kind="service", name=service),
                **state,
            )
        )


def _listener(inv: Investigation, port: int) -> dict[str, Any] | None:
    ports = inv.results.get("listening")
    if ports is None:
        ports = (inv.call("listening_ports") or {}).get("ports", [])
        inv.results["listening"] = ports
    return next((p for p in ports if p["port"] == port and p["protocol"] == "tcp"), None)


@gatherer
def upstreams(inv: Investigation) -> None:
    """A proxy complains about an upstream: find who listens there, probe it, read its logs."""
    seen: set[int] = set()
    for f in [f for f in inv.findings if f.kind == "log_errors" and f.data.get("role") == "target"]:
        if not ({"upstream", "timeout", "refused"} & set(f.data.get("words", []))):
            continue
        for host, port in f.data.get("addresses", []):
            if port in seen or port == inv.targets.port:
                continue
            seen.add(port)
            listener = _listener(inv, port)
            probe = inv.call("probe_tcp", host=host, port=port, timeout_s=3)
            name = (listener or {}).get("process") or f"port {port}"
            inv.results.setdefault("upstreams", []).append(
                {"host": host, "port": port, "process": name, "pid": (listener or {}).get("pid")}
            )
            if probe and not probe["open"]:
                inv.add(
                    finding(
                        "port_closed",
                        "crit",
                        f"upstream {host}:{port} refuses connections",
                        inv.audit_ids("probe_tcp")[-1:],
                        Culprit(kind="port", name=str(port), port=port),
                        role="upstream",
                    )
                )
            if listener and listener.get("process"):
                for lf in service_log_findings(inv, listener["process"], role="upstream"):
                    lf.data["port"] = port
                    lf.entity = Culprit(kind="service", name=listener["process"], port=port, pid=listener.get("pid"))


@gatherer
def dependencies(inv: Investigation) -> None:
    """URLs a service reports timing out on: probe them and measure."""
    urls = {
        u
        for f in inv.findings
        if f.kind == "log_errors" and "timeout" in f.data.get("words", [])
        for u in f.data.get("urls", [])
    }
    for url in sorted(urls)[:3]:
        result = inv.call("probe_http", url=url, timeout_s=10)
        if result:
            analyze_probe(inv, "http", result, role="dependency")


# Prometheus series whose trend answers "when does it run out", per playbook family.
TRENDS = {
    "disk": ('node_filesystem_avail_bytes{{mountpoint="{mount}"}}', "available space on {mount}"),
    "memory": ("node_memory_MemAvailable_bytes", "available memory"),
}


@gatherer
def metric_trends(inv: Investigation) -> None:
    """With Prometheus configured: the last 30 minutes of the family's series, forecast to zero."""
    family = inv.results.get("playbook")
    if family not in TRENDS or not inv.results.get("prometheus"):
        return
    mount = inv.targets.mountpoint or "/"
    query, what = (part.format(mount=mount) for part in TRENDS[family])
    result = inv.call("query_promql", query=query, range_minutes=30, step_s=15, raw=True)
    ids = inv.audit_ids("query_promql")[-1:]
    for series in (result or {}).get("series", [])[:3]:
        slope, last = series.get("trend_per_s"), series.get("last")
        instance = series["labels"].get("instance", "?")
        values = [v for _, v in series.get("values", [])]
        cut = len(values) * 2 // 3
        if len(values) >= 8 and level_shift(values[cut:], values[:cut]):
            inv.add(
                finding(
                    "metric_shift",
                    "warn",
                    f"Prometheus: {what} on {instance} moved from a median of "
                    f"{statistics.median(values[:cut]):.4g} to {statistics.median(values[cut:]):.4g} in the "
                    "last 10 min",
                    ids,
                    query=query,
                )
            )
        if slope is None or last is None:
            inv.notes.append(
                f"Prometheus: not enough data for {what} on {instance} ({plural(series['points'], 'point')})"
            )
        elif slope >= 0:
            inv.notes.append(f"Prometheus: {what} on {instance} is not falling over the last 30 min")
        else:
            eta = last / -slope
            inv.add(
                finding(
                    "metric_forecast",
                    "crit" if eta < 3600 else "warn",
                    f"Prometheus: {what} on {instance} runs out in ~{human_duration(eta)} at the 30-min rate",
                    ids,
                    seconds=eta,
                    query=query,
                )
            )
