"""Errors followed to their objects: each top error template of a log is matched against the
catalogue of signatures; the object its line names (a host, an endpoint, a port, a path) is
looked at with the signature's check, the way an SRE's next command would, and the result is
a `Lead`: who is to blame, whether the check confirmed it, and what it showed."""

from __future__ import annotations

import re
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from watchkeeper.evidence.catalogue import Signature, classify
from watchkeeper.evidence.facts import LogErrors
from watchkeeper.evidence.investigation import Investigation
from watchkeeper.evidence.report import Culprit, Finding
from watchkeeper.i18n import _, ngettext

LOCAL = {"127.0.0.1", "localhost", "::1", "0.0.0.0", socket.gethostname()}  # an alert may name this host
SILENT_WINDOW_S = 3600
MAX_LEADS = 12
WRITE_RE = re.compile(r"(?i)\b(writ\w*|sav\w*|creat\w*|append\w*|mkdir|rename|unlink|upload\w*)\b")
PROBES = {"resolve", "connect", "tls"}  # the checks that reach out over the network
WRITER_CHECKS = {"holder", "mount"}  # checks that can start from the writer's own files
WRITER_PATHS = 8
WRITERS = 3  # processes of one service looked at
SYSTEM_PATHS = ("/usr/", "/proc/", "/sys/", "/dev/", "/lib", "/bin/", "/sbin/", "/etc/ld.so")
KERNEL_LOGS = {"kern", "syslog", "messages", "daemon", "auth", "dmesg"}  # the system's logs, not a service's
FD_FULL = 0.9  # a process at 90 % of its descriptor limit is out of them in practice

HOST_RE = re.compile(r"(?<![\w.@/-])((?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,63})(?![\w.-]*/)", re.I)
ENDPOINT_RES = (
    re.compile(r"(?:https?://)?(\d{1,3}(?:\.\d{1,3}){3}|localhost|[a-z][\w.-]*\.[a-z]{2,}):(\d{2,5})\b", re.I),
    re.compile(r"\bat \"?([\w.:-]+?)\"?,? port (\d{2,5})\b", re.I),  # libpq: server at "host", port 5432
    re.compile(r"\bhost='([\w.:-]+)', port=(\d{2,5})\b"),  # urllib3: HTTPSConnectionPool(host='h', port=443)
)
PORT_RE = re.compile(r"(?::|\bport\s+)(\d{2,5})\b", re.I)
PATH_RE = re.compile(r"(?<![\w:/.])(/(?:[\w.@+-]+/)*[\w.@+-]+)")
QUOTED_PATH_RE = re.compile(r"['\"](/[^'\"\s]+)['\"]")
HTTP_METHOD_RE = re.compile(r"\b(GET|POST|PUT|DELETE|PATCH|HEAD|OPTIONS) $")
# A queue's name as logs give it: quoted ('welcome_mail'), or one token that is not a plain word ("queue
# is full" names no queue).
QUEUE_RE = re.compile(
    r"\bqueue\s+(?:['\"]([\w.:-]+)['\"]|(?!(?:is|was|has|full|size|limit|length|depth|overflow)\b)([\w.:-]+))",
    re.I,
)
CONSUMER_LOGS = 12  # logs searched for who consumes a queue
FILE_SUFFIXES = (".py", ".go", ".java", ".rb", ".js", ".c", ".rs")  # code locations in tracebacks, not objects
NOT_HOSTS = (*FILE_SUFFIXES, ".yaml", ".yml", ".json", ".conf", ".cfg", ".ini", ".toml", ".txt", ".log", ".pem")


@dataclass
class Lead:
    signature: Signature
    service: str  # whose log showed it
    finding: Finding[LogErrors]  # the log template
    object: str | None = None
    culprit: Culprit | None = None
    confirmed: bool = False  # the check saw the object in the state the error says
    facts: list[str] = field(default_factory=list)
    audit_ids: list[int] = field(default_factory=list)

    @property
    def refuted(self) -> bool:
        """The check ran, saw the object, and it is not in the state the error says (a port open now)."""
        return self.signature.check != "none" and not self.confirmed and bool(self.facts)

    @property
    def upstream(self) -> bool:
        """The blame lies outside the service that logged the error: it is a victim, not the cause."""
        c = self.culprit
        return c is not None and not (c.kind in ("service", "process") and c.name == self.service)

    def fill(self, text: str) -> str:
        c = self.culprit
        culprit = (c.path or c.name if c.kind == "path" else c.name) if c else self.object or "?"
        return text.format(object=self.object or "?", culprit=culprit, service=self.service)


def _host(text: str) -> str | None:
    """A hostname: not a file (settings.yaml), not a dotted identifier (requests.exceptions.ConnectionError)."""
    for m in HOST_RE.finditer(text):
        name = m.group(1).rstrip(".")
        mixed_case = name != name.lower() and name != name.upper()
        if not name.lower().endswith(NOT_HOSTS) and not re.fullmatch(r"[\d.]+", name) and not mixed_case:
            return name
    return None


def _endpoint(text: str) -> tuple[str, int] | None:
    for rx in ENDPOINT_RES:
        if m := rx.search(text):
            return m.group(1), int(m.group(2))
    return None


def _path(text: str) -> str | None:
    """The file a message names: a quoted path first (Python's OSError quotes it), else one that is not
    the URL path of an HTTP request line or a source file of a traceback."""
    quoted = [p for p in QUOTED_PATH_RE.findall(text) if p.count("/") >= 2]
    if quoted:
        return str(quoted[0])
    for m in PATH_RE.finditer(text):
        p = m.group(1)
        if p.endswith(FILE_SUFFIXES) or p.count("/") < 2 or HTTP_METHOD_RE.search(text[: m.start()]):
            continue
        return p
    return None


def extract(kind: str, text: str) -> str | None:
    if kind == "host":
        return _host(text)
    if kind == "endpoint":
        ep = _endpoint(text)
        return f"{ep[0]}:{ep[1]}" if ep else None
    if kind == "port":
        ep = _endpoint(text)
        if ep:
            return str(ep[1])
        m = PORT_RE.search(text)
        return m.group(1) if m else None
    if kind == "path":
        return _path(text)
    if kind == "queue" and (m := QUEUE_RE.search(text)):
        return (m.group(1) or m.group(2)).rstrip(".:,-") or None
    return None


# -- the checks --------------------------------------------------------------------------------------

CheckFn = Callable[[Investigation, Lead], None]
CHECKS: dict[str, CheckFn] = {}


def check(fn: CheckFn) -> CheckFn:
    CHECKS[fn.__name__.removeprefix("check_")] = fn
    return fn


def _ids(inv: Investigation, skill: str) -> list[int]:
    return inv.audit_ids(skill)[-1:]


def local_host(inv: Investigation, host: str | None) -> bool:
    """No host, a loopback name, or one of this host's own addresses (from listening_ports)."""
    return host is None or host in LOCAL or host in inv.results.get("host_addresses", [])


def listener_of(inv: Investigation, port: int) -> dict[str, Any] | None:
    ports = inv.results.get("listening")
    if ports is None:
        found = inv.call("listening_ports") or {}
        ports = inv.results["listening"] = found.get("ports", [])
        inv.results["host_addresses"] = found.get("host_addresses", [])
    return next((p for p in ports if p["port"] == port and p["protocol"] == "tcp"), None)


@check
def check_resolve(inv: Investigation, lead: Lead) -> None:
    assert lead.object is not None
    found = inv.call("probe_dns", name=lead.object, timeout_s=3)
    lead.audit_ids += _ids(inv, "probe_dns")
    if found is None:
        return
    if found.get("ok"):
        answers = ", ".join(found.get("answers") or [])
        lead.facts.append(_("{name} resolves now: {answers}").format(name=lead.object, answers=answers))
    else:
        lead.confirmed = True
        lead.facts.append(_("{name} does not resolve: {error}").format(name=lead.object, error=found.get("error")))
    lead.culprit = Culprit(kind="host", name=lead.object)


def silent_service(inv: Investigation) -> str | None:
    """The one service of this host whose log was written in the last hour but of which no process runs:
    what most likely listened on a port nobody holds now. None when there is not exactly one."""
    table = inv.results.get("process_table")
    if not table or not table.get("commands_complete"):
        return None
    running = {c[:15] for c in table["commands"]}  # the kernel keeps 15 characters of a name
    silent = {
        log["service"]
        for log in inv.results.get("logs_index", [])
        if log["ago_s"] <= SILENT_WINDOW_S and log["service"][:15] not in running
    }
    silent -= KERNEL_LOGS
    return silent.pop() if len(silent) == 1 else None


@check
def check_connect(inv: Investigation, lead: Lead) -> None:
    assert lead.object is not None
    host, _sep, port_text = lead.object.rpartition(":")
    port = int(port_text)
    probe = inv.call("probe_tcp", host=host, port=port, timeout_s=3)
    lead.audit_ids += _ids(inv, "probe_tcp")
    if probe is None:
        return
    lead.confirmed = not probe["open"]
    endpoint = f"{host}:{port}"
    if probe["open"] and probe.get("latency_ms") is not None:
        seen = _("probe {endpoint}: open in {ms:.1f} ms").format(endpoint=endpoint, ms=probe["latency_ms"])
    elif probe["open"]:
        seen = _("probe {endpoint}: open").format(endpoint=endpoint)
    elif probe.get("error"):
        seen = _("probe {endpoint}: {error}").format(endpoint=endpoint, error=probe["error"])
    else:
        seen = _("probe {endpoint}: closed").format(endpoint=endpoint)
    lead.facts.append(seen)
    listener = listener_of(inv, port) if host in LOCAL else None
    if listener and listener.get("process"):
        lead.culprit = Culprit(kind="service", name=listener["process"], port=port, pid=listener.get("pid"))
    elif host in LOCAL and not probe["open"] and (gone := silent_service(inv)):
        lead.facts.append(
            _("nothing listens on {port}; {service} logged in the last hour and no process of it runs").format(
                port=port, service=gone
            )
        )
        lead.culprit = Culprit(kind="service", name=gone, port=port)
    else:
        lead.culprit = Culprit(kind="port", name=lead.object, port=port)


@check
def check_listener(inv: Investigation, lead: Lead) -> None:
    assert lead.object is not None
    port = int(lead.object.rpartition(":")[2])
    listener = listener_of(inv, port)
    lead.audit_ids += _ids(inv, "listening_ports")
    if listener is None:
        lead.facts.append(_("nothing listens on port {port} now").format(port=port))
        return
    who = listener.get("process") or _("an unknown process")
    lead.facts.append(
        _("port {port} is held by {process} (pid {pid})").format(port=port, process=who, pid=listener.get("pid"))
    )
    if listener.get("pid") in service_pids(inv, lead.service, by_prefix=False):
        return
    lead.confirmed = True
    if listener.get("process"):
        lead.culprit = Culprit(kind="process", name=listener["process"], pid=listener.get("pid"), port=port)


def service_pids(inv: Investigation, service: str, by_prefix: bool = True) -> list[int]:
    """A service's processes: those of its name that listen or the process table shows (rows and groups);
    else, `by_prefix`, those whose name starts with it (the "redis" logs of redis-server processes)."""
    listening = [(p.get("process") or "", p.get("pid")) for p in inv.results.get("listening", []) if p.get("pid")]
    table = inv.results.get("process_table") or {}
    known = listening + [(r["name"], r["pid"]) for r in table.get("processes", [])]
    known += [(g["name"], pid) for g in table.get("by_command", []) for pid in g.get("pids", [])]
    exact = [int(pid) for name, pid in known if name == service]
    prefixed = [int(pid) for name, pid in known if name.startswith(service)] if by_prefix and not exact else []
    return list(dict.fromkeys(exact or prefixed))


def service_pid(inv: Investigation, service: str) -> int | None:
    """The service's process when there is exactly one candidate."""
    pids = service_pids(inv, service)
    return pids[0] if len(pids) == 1 else None


def writer_paths(inv: Investigation, lead: Lead) -> tuple[set[int], list[str]]:
    """When the error names no file: the files of the processes that write the log (`process_detail`):
    the paths on their command lines, their working directories, the files they hold."""
    log = lead.finding.data.path
    writers = (inv.call("file_users", path=log) or {}).get("users", []) if log else []
    lead.audit_ids += _ids(inv, "file_users")
    # Who holds its log open, else its processes by name (many programs open the log for each line).
    pids = [int(w["pid"]) for w in writers] or service_pids(inv, lead.service)
    paths: list[str] = []
    for pid in pids[:WRITERS]:
        detail = inv.call_once("process_detail", pid=pid) or {}
        lead.audit_ids += _ids(inv, "process_detail")
        named = [a for a in str(detail.get("cmdline") or "").split() if a.startswith("/")]
        exe = str(detail.get("exe") or "")
        for p in [*named, str(detail.get("cwd") or ""), *(str(f) for f in detail.get("open_files") or [])]:
            if p.count("/") >= 2 and not p.startswith(SYSTEM_PATHS) and p not in (log, exe) and "/bin/" not in p:
                paths.append(p)
    own = [p for p in dict.fromkeys(paths) if not p.endswith(".log")]
    return set(pids), own[:WRITER_PATHS]


@check
def check_holder(inv: Investigation, lead: Lead) -> None:
    """Who else holds the file (a lock, a database) the service waits on: a lock holder first."""
    writers, files = (set(), [lead.object]) if lead.object else writer_paths(inv, lead)
    for path in [f for f in files if f]:
        users = (inv.call("file_users", path=path) or {}).get("users", [])
        lead.audit_ids += _ids(inv, "file_users")
        others = [u for u in users if u["name"] != lead.service and u["pid"] not in writers]
        if not others:
            continue
        holder = max(others, key=lambda u: bool(u.get("locked")))  # the one holding a lock on it
        lead.confirmed, lead.object = True, path
        held = (
            _("{path} is held open by {name} (pid {pid}) and holds a lock on it")
            if holder.get("locked")
            else _("{path} is held open by {name} (pid {pid})")
        )
        lead.facts.append(held.format(path=path, name=holder["name"], pid=holder["pid"]))
        lead.culprit = Culprit(kind="process", name=holder["name"], pid=holder["pid"], path=path)
        return
    if lead.object:
        lead.facts.append(_("nobody else holds {path} open now").format(path=lead.object))
    else:
        lead.facts.append(_("nobody else holds the files of {service} open now").format(service=lead.service))


def mount_of(mounts: list[dict[str, Any]], path: str) -> dict[str, Any] | None:
    """The mount a path lies on: the longest mountpoint that is a prefix of it."""
    best = None
    for m in mounts:
        root = m["mount"].rstrip("/") + "/"
        if (path + "/").startswith(root) and (best is None or len(m["mount"]) > len(best["mount"])):
            best = m
    return best


@check
def check_mount(inv: Investigation, lead: Lead) -> None:
    """The mount of the path the error names (or of the writer's files): read-only, full, out of inodes."""
    paths = [lead.object] if lead.object else writer_paths(inv, lead)[1]
    mounts = inv.results.get("mounts")
    if mounts is None:
        mounts = (inv.call("mounts") or {}).get("mounts", [])
        inv.results["mounts"] = mounts
    lead.audit_ids += _ids(inv, "mounts")
    for path in [p for p in paths if p]:
        m = mount_of(mounts, path)
        if m is None:
            continue
        state = []
        if m.get("read_only"):
            state.append(_("mounted read-only"))
        if m.get("percent", 0) >= 95:
            state.append(_("{percent} full").format(percent=f"{m['percent']:.0f}%"))
        if (m.get("inodes_percent") or 0) >= 95:
            state.append(_("inodes {percent} used").format(percent=f"{m['inodes_percent']:.0f}%"))
        lead.facts.append(
            _("{path} lies on {mount} ({fstype}): {state}").format(
                path=path, mount=m["mount"], fstype=m["fstype"], state=_(", ").join(state) or _("writable, not full")
            )
        )
        if state:
            lead.confirmed, lead.object = True, lead.object or path
            lead.culprit = Culprit(kind="path", name=m["mount"], path=m["mount"])
            return


@check
def check_access(inv: Investigation, lead: Lead) -> None:
    assert lead.object is not None
    table = inv.results.get("process_table") or {}
    user = next((r.get("user") for r in table.get("processes", []) if r.get("name") == lead.service), None)
    params: dict[str, Any] = {"path": lead.object}
    if user:
        params["as_user"] = user
    info = inv.call("path_info", **params)
    lead.audit_ids += _ids(inv, "path_info")
    if info is None:
        return
    path, writing = lead.object, bool(WRITE_RE.search(lead.finding.data.example))
    if not info.get("exists"):
        lead.facts.append(_("{path} does not exist").format(path=lead.object))
        # A file that cannot be created: the directory it would go in is what refuses.
        parent = str(PurePosixPath(path).parent)
        if not writing or parent == path:
            return
        path, writing = parent, True
        info = inv.call("path_info", **{**params, "path": parent})
        lead.audit_ids += _ids(inv, "path_info")
        if not info or not info.get("exists"):
            return
    owner = _("mode {mode} owner {owner}:{group}").format(
        mode=info.get("mode"), owner=info.get("owner"), group=info.get("group")
    )
    denied = info.get("writable") is False if writing else info.get("readable") is False
    if denied:
        lead.confirmed = True
        refused = (
            _("{path} ({owner}) is not writable by {user}: {reason}")
            if writing
            else _("{path} ({owner}) is not readable by {user}: {reason}")
        )
        # Without the writer's user, path_info checked as watchkeeper's own.
        who = user or _("watchkeeper's own user")
        lead.facts.append(refused.format(path=path, owner=owner, user=who, reason=info.get("blocked_by")))
    else:
        lead.facts.append(_("{path}: {owner}").format(path=path, owner=owner))
        # Whose the writer is was not seen: the error plus a mode that denies others is the proof.
        others = str(info.get("mode", ""))[-1:]
        lead.confirmed = user is None and others not in (("2", "3", "6", "7") if writing else ("4", "5", "6", "7"))
        if lead.confirmed:
            lead.facts[-1] += _(" (not writable by other users)") if writing else _(" (not readable by other users)")
    lead.culprit = Culprit(kind="path", name=path, path=path)


@check
def check_descriptors(inv: Investigation, lead: Lead) -> None:
    table = inv.results.get("process_table") or {}
    rows = [r for r in table.get("processes", []) if r.get("name") == lead.service and r.get("fd_limit")]
    if not rows:
        return
    row = max(rows, key=lambda r: (r.get("fds") or 0) / r["fd_limit"])
    use = (row.get("fds") or 0) / row["fd_limit"]
    lead.facts.append(
        _("{name} (pid {pid}) holds {fds} of its {limit} descriptors").format(
            name=row["name"], pid=row["pid"], fds=row["fds"], limit=row["fd_limit"]
        )
    )
    lead.audit_ids += inv.audit_ids("process_table")[-1:]
    lead.confirmed = use >= FD_FULL
    lead.culprit = Culprit(kind="service", name=row["name"], pid=row["pid"])


@check
def check_connections(inv: Investigation, lead: Lead) -> None:
    assert lead.object is not None
    port = int(lead.object.rpartition(":")[2])
    conns = inv.call("tcp_connections", port=port) or {}
    lead.audit_ids += _ids(inv, "tcp_connections")
    listener = listener_of(inv, port) or {}
    mine = set(service_pids(inv, lead.service, by_prefix=False))  # not a holder that merely shares a prefix
    group = next((g for g in conns.get("by_remote", []) if g["port"] == port), None)
    holders = [
        p
        for p in (group or {}).get("processes", [])
        if p.get("name")
        and p.get("pid") not in mine
        and p.get("pid") != listener.get("pid")
        and p.get("name") != lead.service
    ]
    if not holders:
        lead.facts.append(_("no other process holds connections to {endpoint}").format(endpoint=lead.object))
        return
    top = holders[0]
    # Held connections are established ones: a busy client's closed ones linger in TIME_WAIT, owned by nobody.
    total = (group or {}).get("states", {}).get("ESTABLISHED", (group or {}).get("count", 0))
    lead.facts.append(
        _("{name} (pid {pid}) holds {count} of the {total} connections to port {port}").format(
            name=top["name"], pid=top["pid"], count=top["count"], total=total, port=port
        )
    )
    lead.confirmed = top["count"] >= max(2, total // 2)
    lead.culprit = Culprit(kind="process", name=top["name"], pid=top["pid"], port=port)


@check
def check_descriptor_holder(inv: Investigation, lead: Lead) -> None:
    """The host's file table is full: the process holding the most descriptors, against the host's total."""
    table = inv.results.get("process_table") or {}
    own = set(table.get("watchkeeper_pids") or [])
    rows = [r for r in table.get("processes", []) if r.get("fds") and r["pid"] not in own]
    if not rows:
        return
    row = max(rows, key=lambda r: r["fds"])
    allocated = (table.get("system_fds") or {}).get("allocated") or 0
    lead.audit_ids += inv.audit_ids("process_table")[-1:]
    held = (
        _("{name} (pid {pid}) holds {fds} descriptors of the {allocated} open on this host")
        if allocated
        else _("{name} (pid {pid}) holds {fds} descriptors")
    )
    lead.facts.append(held.format(name=row["name"], pid=row["pid"], fds=row["fds"], allocated=allocated))
    near_limit = bool(row.get("fd_limit")) and row["fds"] >= FD_FULL * row["fd_limit"]
    lead.confirmed = near_limit or (allocated > 0 and row["fds"] >= allocated / 4)
    lead.culprit = Culprit(kind="service", name=row["name"], pid=row["pid"])


@check
def check_queue_consumer(inv: Investigation, lead: Lead) -> None:
    """A full queue: who consumes it, found in the logs of this host (an SRE greps for the queue's name)."""
    assert lead.object is not None
    name = rf"(?<![\w.-]){re.escape(lead.object)}(?![\w.-])"  # the whole name, never a part of another
    pattern = rf"(?i)consum\w*\b.{{0,60}}{name}|{name}.{{0,60}}\bconsum"
    others = [log for log in inv.results.get("logs_index", []) if log["service"] != lead.service]
    for log in others[:CONSUMER_LOGS]:
        service = log["service"]
        found = inv.call("grep_file", path=log["path"], pattern=pattern, max_matches=1) or {}
        lead.audit_ids += _ids(inv, "grep_file")
        if found.get("matches"):
            lead.confirmed = True
            lead.facts.append(
                _("{service} consumes {queue}: {line}").format(
                    service=service, queue=lead.object, line=found["matches"][0]["line"][:160]
                )
            )
            lead.culprit = Culprit(kind="service", name=service)
            return
    lead.facts.append(_("no log of this host says who consumes {queue}").format(queue=lead.object))


@check
def check_tls(inv: Investigation, lead: Lead) -> None:
    """A client's TLS error: the certificate the endpoint really serves, verified as a client would."""
    assert lead.object is not None
    url = f"https://{lead.object}/"
    found = inv.call("probe_http", url=url, timeout_s=5)
    lead.audit_ids += _ids(inv, "probe_http")
    lead.culprit = Culprit(kind="url", name=url, url=url, port=int(lead.object.rpartition(":")[2]))
    tls = (found or {}).get("tls") or {}
    if tls.get("verified") is False:
        lead.confirmed = True
        lead.facts.append(
            _("{url} serves {subject} issued by {issuer}: {error}").format(
                url=url, subject=tls.get("subject"), issuer=tls.get("issuer"), error=tls.get("verify_error")
            )
        )
    elif found:
        lead.facts.append(_("{url}'s certificate verifies now ({subject})").format(url=url, subject=tls.get("subject")))


@check
def check_clock(inv: Investigation, lead: Lead) -> None:
    """A clock error is explained by a time-sync daemon that says it lost synchronisation."""
    for other in inv.results.get("leads", []):
        if other.signature.name == "time_unsynchronised":
            lead.confirmed = True
            lead.culprit = Culprit(kind="service", name=other.service)
            lead.facts.append(
                _("{service} reports: {line}").format(service=other.service, line=other.finding.data.example[:160])
            )
            return


def follow(inv: Investigation, catalogue: list[Signature], findings: list[Finding[LogErrors]]) -> list[Lead]:
    """Leads from the log templates: each (signature, service, object) once, at most MAX_LEADS of them."""
    leads: list[Lead] = inv.results.setdefault("leads", [])
    seen = {(lead.signature.name, lead.service, lead.object) for lead in leads}
    pending: list[Lead] = []
    for f in [f for f in findings if f.data.service.lower() not in KERNEL_LOGS]:
        text = f"{f.data.example} {f.data.template}"
        for sig in classify(catalogue, text):
            lead = Lead(sig, f.data.service, f, audit_ids=list(f.audit_ids))
            if sig.object != "none":
                lead.object = extract(sig.object, f.data.example) or extract(sig.object, text)
                if lead.object is None and sig.check not in WRITER_CHECKS:
                    continue  # no object to look at (a holder or a mount can still come from the writer's files)
                if sig.object == "port":
                    lead.object = f"127.0.0.1:{lead.object}"
            key = (sig.name, lead.service, lead.object)
            if key not in seen:
                seen.add(key)
                pending.append(lead)
    # The symptom's own service first, then the most repeated; a bounded number, whatever the logs say.
    pending.sort(key=lambda lead: (lead.finding.data.role != "target", -lead.finding.data.count))
    if len(pending) > MAX_LEADS:
        more = len(pending) - MAX_LEADS
        inv.notes.append(
            ngettext(
                "{n} more error matched a signature and was not followed",
                "{n} more errors matched a signature and were not followed",
                more,
            ).format(n=more)
        )
    order = {s.name: n for n, s in enumerate(catalogue)}
    # A clock check reads the time daemon's lead, so it runs after the others.
    for lead in sorted(pending[:MAX_LEADS], key=lambda lead: lead.signature.check == "clock"):
        if lead.signature.check in PROBES and not _may_probe(inv, lead):
            lead.facts.append(
                _("{target} not probed: it comes from another service's log and is not on this host").format(
                    target=lead.object
                )
            )
        elif lead.signature.check != "none":
            CHECKS[lead.signature.check](inv, lead)
        if lead.culprit is None or lead.signature.blame == "writer":
            lead.culprit = _blamed(lead)
        leads.append(lead)
    leads.sort(key=lambda lead: order.get(lead.signature.name, 0))
    return leads


def _may_probe(inv: Investigation, lead: Lead) -> bool:
    """Network probes go to this host, or to what the symptom's own service (or a configured one) names:
    a line in any log must not make the sweep resolve or connect wherever it says."""
    host = (lead.object or "").rpartition(":")[0] if lead.signature.object == "endpoint" else lead.object
    return host in LOCAL or lead.finding.data.role == "target" or lead.service in inv.services


def _blamed(lead: Lead) -> Culprit:
    """Without a finding of the check: the object itself when the signature blames it, else the writer."""
    if lead.signature.blame == "object" and lead.object:
        kind = {"host": "host", "path": "path"}.get(lead.signature.object, "port")
        return Culprit(kind=kind, name=lead.object, path=lead.object if kind == "path" else None)
    return Culprit(kind="service", name=lead.service)
