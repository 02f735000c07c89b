"""The baseline sweep: what every investigation looks at, whatever its playbook — the whole process
table (states, sums by command and by parent, threads, descriptors against limits), the mounts
(read-only, inodes, space held by deleted files), the kernel log, the logs written recently in the
allowlist, and the services a question names. Then each error is followed to its object."""

from __future__ import annotations

import itertools
import re

from watchkeeper.evidence.anomaly import human_duration
from watchkeeper.evidence.facts import Inodes, LogErrors, PackageChange, RecentChange
from watchkeeper.evidence.follow import KERNEL_LOGS, follow, local_host, service_pid
from watchkeeper.evidence.gather import finding
from watchkeeper.evidence.host_facts import connection_facts, kernel_facts, mount_facts, process_facts, unit_facts
from watchkeeper.evidence.investigation import Investigation
from watchkeeper.evidence.logs import logs_index, service_log_findings
from watchkeeper.evidence.report import Culprit
from watchkeeper.evidence.scoring import of
from watchkeeper.i18n import _, ngettext

RECENT_LOG_S = 900
SWEPT_LOGS = 8
CHANGES_MINUTES = 60
SYSTEM = ("/usr/", "/proc/", "/sys/", "/dev/", "/lib", "/bin/", "/sbin/")  # the interpreter, not the config
WORD_RE = re.compile(r"[A-Za-z][\w-]{2,}")


def processes(inv: Investigation) -> None:
    table = inv.call("process_table", sample_seconds=1.0, top=10)
    if table:
        inv.results["process_table"] = table
        for f in process_facts(table, inv.audit_ids("process_table")[-1:]):
            inv.add(f)


def mounts(inv: Investigation) -> None:
    found = inv.call("mounts")
    if found:
        inv.results["mounts"] = found.get("mounts", [])
        for f in mount_facts(inv.results["mounts"], inv.audit_ids("mounts")[-1:]):
            inv.add(f)


def connections(inv: Investigation) -> None:
    found = inv.call("tcp_connections", top=10)
    if found:
        for f in connection_facts(found, inv.audit_ids("tcp_connections")[-1:]):
            inv.add(f)


def units(inv: Investigation) -> None:
    found = inv.call("service_units", window="1h")
    if not found:
        inv.checked.append(_("services: no service manager answered (service_units failed)"))
        return
    abnormal = unit_facts(found, inv.audit_ids("service_units")[-1:])
    inv.checked.append(
        _("services ({manager}): {n} of {total} failed or restarting").format(
            manager=found["manager"], n=len(abnormal), total=found["total"]
        )
        if abnormal
        else _("services ({manager}): none failed or restarting").format(manager=found["manager"])
    )
    for f in abnormal:
        inv.add(f)


def kernel(inv: Investigation) -> None:
    found = inv.call("kernel_log", since_minutes=60)
    if found:
        for f in kernel_facts(found.get("events", []), inv.audit_ids("kernel_log")[-1:]):
            inv.add(f)


def known_names(inv: Investigation) -> dict[str, str]:
    """Names a question may use for a service, lowercased: log directories and files under the read
    roots, processes and listeners (the process table and listening ports, when read)."""
    names: dict[str, str] = {}
    for log in logs_index(inv):
        if log["service"].lower() not in KERNEL_LOGS:  # syslog, kern, auth: the system's, not a service's
            names.setdefault(log["service"].lower(), log["service"])
    table = inv.results.get("process_table") or {}
    for row in [*table.get("processes", []), *table.get("by_command", [])]:
        names.setdefault(row["name"].lower(), row["name"])
    for p in inv.results.get("listening", []):
        if p.get("process"):
            names.setdefault(p["process"].lower(), p["process"])
    return names


def discover(inv: Investigation) -> None:
    """An unconfigured service: named in the question (its log directory, process or listener), or the
    process listening on the port the symptom points at."""
    t = inv.targets
    if t.service:
        return
    text = " ".join([inv.symptom.question or "", *inv.symptom.annotations.values()])
    words = [w.lower() for w in WORD_RE.findall(text)]
    candidates = [*words, *(f"{a}_{b}" for a, b in itertools.pairwise(words))]
    names = known_names(inv)
    hit = next((names[w] for w in candidates if w in names), None)
    if hit is None and t.port is not None and local_host(inv, t.host):
        listener = inv.results.get("target_listener") or next(
            (p for p in inv.results.get("listening", []) if p["port"] == t.port and p["protocol"] == "tcp"), None
        )
        hit = (listener or {}).get("process")
    if hit:
        t.service = hit
        inv.notes.append(_("service {name}: found on this host from the symptom's words or port").format(name=hit))


def recent_logs(inv: Investigation) -> None:
    """The logs written in the last 15 minutes, whoever writes them: errors of services nobody named."""
    read = set(inv.results.setdefault("logs_read", []))
    recent = [log for log in logs_index(inv) if log["ago_s"] <= RECENT_LOG_S]
    for log in recent[:SWEPT_LOGS]:
        if log["service"] not in read:
            read.add(log["service"])
            service_log_findings(inv, log["service"], role="sweep")


def follow_errors(inv: Investigation) -> None:
    follow(inv, inv.catalogue, of(inv, LogErrors))


def inode_hogs(inv: Investigation) -> None:
    """For a mount out of inodes: the directory holding the most entries (sessions, cache shards, mail)."""
    for f in of(inv, Inodes):
        mount = f.data.mount
        found = inv.call("disk_usage", path=mount, top=5, time_budget_s=3) or {}
        busiest = next(iter(found.get("most_entries", [])), None)
        if busiest:
            f.data.most_entries = busiest
            f.audit_ids += inv.audit_ids("disk_usage")[-1:]
            f.message += ngettext("; {path} holds {n} entry", "; {path} holds {n} entries", busiest["entries"]).format(
                path=busiest["path"], n=busiest["entries"]
            )
            f.entity = Culprit(kind="path", name=busiest["path"], path=busiest["path"])


def changes(inv: Investigation) -> None:
    """What changed in the last hour: /etc, the files the named service was started with or holds
    open (its config), and packages. A change shortly before the errors is the first suspect."""
    paths, own = ["/etc"], []
    service = inv.targets.service
    pid = service_pid(inv, service) if service else None
    detail = inv.call_once("process_detail", pid=pid) if pid else None
    if detail:
        named = [
            a
            for a in str(detail.get("cmdline") or "").split()
            if a.startswith("/") and not a.startswith(SYSTEM) and not a.endswith(".log")
        ]
        held = [f for f in detail.get("open_files") or [] if not f.startswith(SYSTEM) and not f.endswith(".log")]
        own = list(dict.fromkeys(named + held))[:10]
    found = inv.call("recent_changes", paths=paths + own, minutes=CHANGES_MINUTES, limit=10)
    if not found:
        return
    ids = inv.audit_ids("recent_changes")[-1:]
    for f in found.get("files", []):
        mine = any(f["path"] == p or f["path"].startswith(p.rstrip("/") + "/") for p in own)
        if not mine:
            continue  # /etc's changes are listed in what was checked; a finding is a file of the service
        inv.add(
            finding(
                RecentChange(service=service, **f),
                "info",
                _("{path} changed {ago} ago").format(path=f["path"], ago=human_duration(f["ago_s"])),
                ids,
                Culprit(kind="path", name=f["path"], path=f["path"]),
            )
        )
    for p in found.get("packages", []):
        inv.add(
            finding(
                PackageChange(**p),
                "info",
                _("package {package}: {action} to {version} at {at}").format(
                    package=p["package"], action=p["action"], version=p["to"], at=p["at"]
                ),
                ids,
            )
        )
    files = found.get("files", [])
    newest = _(", ").join(
        _("{path} ({ago} ago)").format(path=f["path"], ago=human_duration(f["ago_s"])) for f in files[:3]
    )
    packages = len(found.get("packages", []))
    scope = (
        ngettext("/etc and {n} file of {service}", "/etc and {n} files of {service}", len(own)).format(
            n=len(own), service=service
        )
        if own
        else "/etc"
    )
    inv.checked.append(
        _("recent changes (last {minutes} min, {scope}): {files}{newest}, {packages}").format(
            minutes=CHANGES_MINUTES,
            scope=scope,
            files=ngettext("{n} file", "{n} files", len(files)).format(n=len(files)),
            newest=_(", newest {files}").format(files=newest) if newest else "",
            packages=ngettext("{n} package", "{n} packages", packages).format(n=packages),
        )
    )
