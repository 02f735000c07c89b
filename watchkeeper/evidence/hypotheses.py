"""Findings -> ranked root-cause hypotheses, each with a culprit, the evidence that convicts it,
an explained score and the remediation (skill, params, risk class).

Rules read finding kinds and words, never scenario names. Scores start from how direct the
evidence is and rise when the symptom's family agrees; the explanation lists each step.
"""

from __future__ import annotations

from collections.abc import Callable

from watchkeeper.evidence import host_check
from watchkeeper.evidence.follow import Lead, silent_service
from watchkeeper.evidence.investigation import Investigation
from watchkeeper.evidence.report import Action, Category, Culprit, Finding, Hypothesis, RuledOut


class Score:
    def __init__(self, base: float, why: str) -> None:
        self.value, self.reasons = base, [f"{why} (+{base:.2f})"]

    def add(self, amount: float, why: str, when: bool = True) -> None:
        if when:
            self.value += amount
            self.reasons.append(f"{why} (+{amount:.2f})")

    @property
    def confidence(self) -> float:
        return round(min(self.value, 0.99), 2)

    @property
    def text(self) -> str:
        return "; ".join(self.reasons)


def _of(inv: Investigation, kind: str, role: str | None = None) -> list[Finding]:
    return [f for f in inv.findings if f.kind == kind and (role is None or f.data.get("role") == role)]


def _hyp(
    category: Category,
    title: str,
    score: Score,
    culprit: Culprit | None,
    evidence: list[Finding],
    actions: list[Action],
) -> Hypothesis:
    ids = sorted({i for f in evidence for i in f.audit_ids})
    return Hypothesis(
        category=category,
        title=title,
        confidence=score.confidence,
        culprit=culprit,
        evidence=[f.message[:240] for f in evidence][:5],
        audit_ids=ids,
        explanation=score.text,
        actions=actions,
    )


def restart(service: str, why: str) -> Action:
    return Action(
        title=f"restart {service}", skill="restart_service", params={"unit": service}, risk_class="mutating", reason=why
    )


def kill(pid: int, name: str, why: str) -> Action:
    return Action(
        title=f"stop {name} (pid {pid})",
        skill="kill_process",
        params={"pid": pid, "signal": "TERM"},
        risk_class="mutating",
        reason=why,
    )


def probe(url: str, title: str, why: str) -> Action:
    return Action(title=title, skill="probe_http", params={"url": url}, risk_class="safe", reason=why)


def manual(title: str, why: str) -> Action:
    return Action(title=title, risk_class="manual", reason=why)


Rule = Callable[[Investigation, str], Hypothesis | None]


def _spinner(hot: list[Finding]) -> tuple[Finding, int]:
    """The hot process to blame, and how many spin alike. The one that wants the most of a core; among
    those that want about as much, the newest: what started spinning shortly before the symptom is what
    changed, while a batch job that spins every night was spinning before too."""
    most = max(host_check.wants(f.data) for f in hot)
    alike = [f for f in hot if host_check.wants(f.data) >= most - 10]
    return max(alike, key=lambda f: str(f.data.get("started_at") or "")), len(alike)


def cpu_hog(inv: Investigation, family: str) -> Hypothesis | None:
    hot = [f for f in _of(inv, "process_cpu") if f.entity is not None]
    if not hot:
        return None
    top, alike = _spinner(hot)
    newest = f", the newest of {alike} processes spinning alike" if alike > 1 else ""
    s = Score(0.55, f"{top.entity.name} uses {host_check.core_use(top.data)}{newest}")  # type: ignore[union-attr]
    s.add(0.25, "the symptom is about CPU or load", family == "cpu")
    s.add(0.1, "the host itself is busy", bool(_of(inv, "cpu") or _of(inv, "load")))
    p = top.entity
    assert p is not None and p.pid is not None
    return _hyp(
        "cpu",
        f"{p.name} (pid {p.pid}) is burning CPU",
        s,
        p,
        [top, *_of(inv, "cpu"), *_of(inv, "load")],
        [
            kill(p.pid, p.name, "it holds a core; stop it (or restart its service) and find why it spins"),
            manual(f"profile {p.name} before it is stopped (py-spy / perf top -p {p.pid})", "keep the evidence"),
        ],
    )


def memory_leak(inv: Investigation, family: str) -> Hypothesis | None:
    growth = sorted(_of(inv, "process_memory_growth"), key=lambda f: -f.data["bytes_per_s"])  # fastest first
    if growth and growth[0].entity and growth[0].entity.pid:
        g = growth[0]
        p = g.entity
        assert p is not None and p.pid is not None
        s = Score(0.6, f"{p.name}'s RSS climbs steadily (R² {g.data['r2']:.2f})")
        s.add(0.25, "the symptom is about memory", family == "memory")
        s.add(0.05, "the host is short of memory", bool(_of(inv, "memory")))
        return _hyp(
            "memory",
            f"{p.name} (pid {p.pid}) is leaking memory",
            s,
            p,
            [g, *_of(inv, "memory")],
            [
                kill(p.pid, p.name, "RSS keeps growing: restart it before the OOM killer picks a victim"),
                manual(f"capture a heap profile of {p.name} and file the leak", "the restart only buys time"),
            ],
        )
    top = _of(inv, "process_memory_top")
    if family == "memory" and top and top[0].entity and top[0].entity.pid:
        p = top[0].entity
        assert p.pid is not None
        s = Score(0.35, f"{p.name} holds the most memory (no growth seen while sampling)")
        return _hyp(
            "memory",
            f"{p.name} (pid {p.pid}) holds the most memory",
            s,
            p,
            top,
            [kill(p.pid, p.name, "largest consumer; the alert's condition may have passed")],
        )
    return None


def disk_full(inv: Investigation, family: str) -> Hypothesis | None:
    files = _of(inv, "file_growth")
    full = _of(inv, "disk") + _of(inv, "disk_fill_forecast")
    for f in _of(inv, "largest_file") if not files else []:
        # A big file that does not grow is a decoy (last month's backup), never the culprit.
        inv.results.setdefault("ruled_out", []).append(
            RuledOut(
                entity=f.entity,
                facts=[f.message],
                reason="the largest file on the filesystem did not grow while sampled: it is not what fills it",
            )
        )
    if not files and not full:
        return None
    evidence = files[:1] + full
    culprit = files[0].entity if files else full[0].entity
    s = Score(0.45, "a filesystem is full or filling")
    s.add(0.2, "one file grows while sampled", bool(_of(inv, "file_growth")))
    s.add(0.2, "the symptom is about disk space", family == "disk")
    s.add(0.05, "a fill-time forecast exists", bool(_of(inv, "disk_fill_forecast")))
    actions = []
    writer = files[0].data.get("writer") if files else None
    if writer:
        actions.append(kill(writer["pid"], writer["name"], "it writes the growing file: stop the flood first"))
    if culprit is not None and culprit.path:
        actions.append(
            manual(
                f"truncate or rotate {culprit.path} (truncate, do not delete: it is held open)",
                "frees the space without breaking the writer's file handle",
            )
        )
    title = f"{culprit.path if culprit else 'a filesystem'} fills the disk"
    return _hyp("disk", title, s, culprit, evidence, actions)


def service_down(inv: Investigation, family: str) -> Hypothesis | None:
    signs = (
        _of(inv, "port_not_listening")
        + _of(inv, "port_closed", "target")
        + _of(inv, "service_not_running")
        + [f for f in _of(inv, "http_unreachable", "target") if "refused" in str(f.data.get("error"))]
    )
    if not signs:
        return None
    port = inv.targets.port
    service = inv.targets.service or silent_service(inv)
    culprit = (
        Culprit(kind="service", name=service, port=port) if service else Culprit(kind="port", name=str(port), port=port)
    )
    s = Score(0.6, f"{culprit.name} does not accept connections")
    s.add(0.15, "more than one check agrees", len(signs) > 1)
    s.add(0.1, "the symptom says down/unreachable", family == "service_down")
    actions = [restart(service, "it is not running; restart it and watch it come back")] if service else []
    return _hyp("network", f"{culprit.name} is down", s, culprit, signs + _of(inv, "log_errors", "target"), actions)


def upstream_exhausted(inv: Investigation, family: str) -> Hypothesis | None:
    upstream = [f for f in _of(inv, "log_errors", "upstream") if "exhausted" in f.data.get("words", [])]
    if not upstream or upstream[0].entity is None:
        return None
    u = upstream[0]
    proxy = [f for f in _of(inv, "log_errors", "target") if "upstream" in f.data.get("words", [])]
    s = Score(0.5, f"{u.entity.name}'s own log says its pool is exhausted")  # type: ignore[union-attr]
    s.add(0.25, "the proxy's log blames that upstream", bool(proxy))
    s.add(0.1, "the endpoint answers 5xx", bool(_of(inv, "http_error", "target")))
    assert u.entity is not None
    return _hyp(
        "dependency",
        f"upstream {u.entity.name} has no free workers",
        s,
        u.entity,
        [u, *proxy[:1], *_of(inv, "http_error", "target")],
        [
            restart(u.entity.name, "frees the stuck workers now"),
            manual(
                f"raise {u.entity.name}'s worker pool or find what holds workers (slow queries, locks)",
                "a restart does not stop it from filling again",
            ),
        ],
    )


def error_burst(inv: Investigation, family: str) -> Hypothesis | None:
    novel = [
        f
        for f in _of(inv, "log_errors", "target")
        if f.data.get("novel")
        and f.data.get("count", 0) >= 10
        and not _explained_upstream(inv, f)
        and not ({"upstream", "timeout", "exhausted"} & set(f.data.get("words", [])))
    ]
    if not novel or novel[0].entity is None:
        return None
    f = novel[0]
    s = Score(0.5, f"a new error template appeared x{f.data['count']} that the earlier log does not have")
    s.add(0.15, "it reads like an exception", "exception" in f.data.get("words", []))
    s.add(0.1, "it mentions configuration", "config" in f.data.get("words", []))
    s.add(0.1, "the symptom is about errors", family == "http_errors")
    service = f.entity.name  # type: ignore[union-attr]
    return _hyp(
        "application",
        f"{service} throws a new error since a change",
        s,
        f.entity,
        [f, *novel[1:2]],
        [
            manual(f"roll back the latest config or deploy of {service}", "the errors start with a change"),
            restart(service, "after the rollback, restart it so it reads the old config"),
        ],
    )


def _explained_upstream(inv: Investigation, f: Finding) -> bool:
    """A log template whose error was followed to a confirmed cause elsewhere: the service is its victim."""
    return any(lead.finding is f and lead.confirmed and lead.upstream for lead in inv.results.get("leads", []))


def slow_dependency(inv: Investigation, family: str) -> Hypothesis | None:
    slow = _of(inv, "http_slow", "dependency")
    timeouts = [f for f in _of(inv, "log_errors", "target") if "timeout" in f.data.get("words", [])]
    if not slow and not timeouts:
        return None
    dep = slow[0] if slow else None
    url = dep.entity.url if dep and dep.entity else next((u for f in timeouts for u in f.data.get("urls", [])), None)
    port = dep.entity.port if dep and dep.entity else None
    listener = _listener_name(inv, port)
    culprit = (
        Culprit(kind="service", name=listener, url=url, port=port)
        if listener
        else (Culprit(kind="url", name=url, url=url, port=port) if url else None)
    )
    s = Score(0.45, "the service logs timeouts calling a dependency" if timeouts else "a dependency answers slowly")
    s.add(0.25, f"the dependency itself takes {dep.data['latency_ms']:.0f} ms" if dep else "", bool(dep))
    s.add(0.1, "the symptom is about latency", family == "latency")
    s.add(0.05, "the service's own endpoint is slow", bool(_of(inv, "http_slow", "target")))
    actions = [probe(url, f"re-check {url}", "confirm the latency before acting")] if url else []
    if listener:
        actions.insert(0, restart(listener, "the slow dependency runs here; restart it if it is stuck"))
    name = culprit.name if culprit else "a dependency"
    return _hyp(
        "dependency", f"{name} is slow and its callers time out", s, culprit, [*(slow[:1]), *timeouts[:2]], actions
    )


def _listener_name(inv: Investigation, port: int | None) -> str | None:
    if port is None:
        return None
    entry = next((p for p in inv.results.get("listening", []) if p["port"] == port), None)
    return entry.get("process") if entry else None


def cert_expiry(inv: Investigation, family: str) -> Hypothesis | None:
    certs = _of(inv, "tls_expiry")
    invalid = [f for f in _of(inv, "tls_invalid") if f.entity is not None]
    if (not certs or certs[0].entity is None) and not invalid:
        return None
    if not certs or certs[0].entity is None:
        c = invalid[0]
        s = Score(0.5, f"the certificate does not verify: {c.data.get('verify_error')}")
        s.add(
            0.35,
            "the symptom is about TLS or certificates",
            family == "tls" or _mentions(inv, "ssl", "certificate", "证书"),
        )
        url = c.entity.url or c.entity.name  # type: ignore[union-attr]
        return _hyp(
            "certificate",
            f"the certificate of {url} does not verify",
            s,
            c.entity,
            invalid,
            [
                manual(
                    f"serve a certificate for the name clients use at {url} (issued by a trusted CA)",
                    "it fails verification",
                ),
                probe(url, f"verify {url} serves a valid certificate", "verified should become true"),
            ],
        )
    c = certs[0]
    s = Score(0.6, f"the certificate expires in {c.data['days_to_expiry']:.1f} days")
    s.add(0.3, "the symptom is about TLS or certificates", family == "tls")
    url = c.entity.url or c.entity.name  # type: ignore[union-attr]
    return _hyp(
        "certificate",
        f"the certificate of {url} {'has expired' if c.data['days_to_expiry'] < 0 else 'is about to expire'}",
        s,
        c.entity,
        certs + invalid[:1],
        [
            manual(f"renew the certificate served at {url} and reload the server", "nothing else fixes expiry"),
            probe(url, f"verify {url} serves the new certificate", "days_to_expiry should jump"),
        ],
    )


# -- the sweep's facts (evidence/sweep.py) ------------------------------------------------------------


def _mentions(inv: Investigation, *words: str) -> bool:
    text = " ".join([inv.symptom.question or "", inv.symptom.alertname or "", *inv.symptom.annotations.values()])
    return any(w in text.lower() for w in words)


def _holds_target_port(inv: Investigation, pid: int | None) -> bool:
    port = inv.targets.port
    return (
        pid is not None
        and port is not None
        and any(p["port"] == port and p.get("pid") == pid for p in inv.results.get("listening", []))
    )


def zombies(inv: Investigation, family: str) -> Hypothesis | None:
    found = sorted(_of(inv, "zombies"), key=lambda f: -f.data["count"])
    if not found or found[0].entity is None or found[0].entity.pid is None:
        return None
    f, p = found[0], found[0].entity
    assert p.pid is not None
    s = Score(0.55, f"{f.data['count']} zombies wait for {p.name} to reap them")
    s.add(0.15, "hundreds of them", f.data["count"] >= 100)
    s.add(
        0.2, "the symptom is about zombies or processes", _mentions(inv, "zombie", "defunct", "僵尸", "process", "进程")
    )
    return _hyp(
        "process",
        f"{p.name} (pid {p.pid}) does not reap its children",
        s,
        p,
        [f],
        [
            kill(p.pid, p.name, "its zombies pass to init, which reaps them; then fix its wait() handling"),
        ],
    )


def stopped(inv: Investigation, family: str) -> Hypothesis | None:
    found = [f for f in _of(inv, "process_stopped") if f.entity is not None]
    if not found:
        return None
    f = max(found, key=lambda f: _holds_target_port(inv, f.entity.pid if f.entity else None))
    p = f.entity
    assert p is not None
    s = Score(0.5, f"{p.name} is stopped (state T): it holds its sockets and answers nothing")
    s.add(0.3, "it holds the port the symptom points at", _holds_target_port(inv, p.pid))
    s.add(0.1, "a probe of it times out", bool(_of(inv, "http_unreachable") or _of(inv, "port_closed")))
    return _hyp(
        "process",
        f"{p.name} (pid {p.pid}) is stopped",
        s,
        p,
        [f, *_of(inv, "http_unreachable")[:1]],
        [
            restart(
                p.name, "a stopped process serves nothing; restart it (or send it SIGCONT) and find who stopped it"
            ),
        ],
    )


def threads(inv: Investigation, family: str) -> Hypothesis | None:
    found = sorted(_of(inv, "process_threads"), key=lambda f: -f.data["threads"])
    if not found or found[0].entity is None:
        return None
    f, p = found[0], found[0].entity
    s = Score(0.55, f"{p.name} runs {f.data['threads']} threads")
    s.add(0.25, "the symptom is about threads", _mentions(inv, "thread", "线程"))
    return _hyp(
        "process",
        f"{p.name} (pid {p.pid}) keeps starting threads",
        s,
        p,
        [f],
        [restart(p.name, "frees its threads now; then find the thread that never ends (py-spy dump / jstack)")],
    )


def descriptors(inv: Investigation, family: str) -> Hypothesis | None:
    found = sorted(_of(inv, "process_fds"), key=lambda f: -(f.data["fds"] / f.data["fd_limit"]))
    if not found or found[0].entity is None:
        return None
    f, p = found[0], found[0].entity
    s = Score(0.55, f"{p.name} holds {f.data['fds']} of its {f.data['fd_limit']} descriptors")
    s.add(0.2, "it serves the port the symptom points at", _holds_target_port(inv, p.pid))
    s.add(0.15, "the symptom is about files or descriptors", _mentions(inv, "descriptor", "open files", "句柄"))
    return _hyp(
        "descriptors",
        f"{p.name} (pid {p.pid}) has run out of file descriptors",
        s,
        p,
        [f],
        [
            restart(
                p.name, "gives its descriptors back now; then find the leak (ls -l /proc/PID/fd) or raise LimitNOFILE"
            )
        ],
    )


def cpu_groups(inv: Investigation, family: str) -> Hypothesis | None:
    """CPU that no single process holds: many of one command, or children that live shorter than a sample."""
    groups = [(f, f.data["cpu_percent"]) for f in _of(inv, "command_cpu")]
    groups += [(f, f.data["children_cpu_percent"]) for f in _of(inv, "children_cpu")]
    if not groups:
        return None
    f, used = max(groups, key=lambda g: g[1])
    p = f.entity
    assert p is not None
    spawner = f.kind == "children_cpu"
    how = (
        f"the short-lived children of {p.name} use {used:.0f}% of a core"
        if spawner
        else f"{f.data['count']} {p.name} processes use {used:.0f}% of a core together"
    )
    s = Score(0.5, how)
    s.add(0.25, "the symptom is about CPU or load", family == "cpu")
    s.add(0.1, "the host itself is busy", bool(_of(inv, "cpu") or _of(inv, "load")))
    action = (
        kill(p.pid, p.name, "it keeps starting the children that burn the CPU")
        if spawner and p.pid is not None
        else restart(p.name, "its processes together hold the CPU; restart the service to reset them and find why")
    )
    return _hyp("cpu", f"{p.name} burns CPU in many processes", s, p, [f, *_of(inv, "cpu")], [action])


def memory_groups(inv: Investigation, family: str) -> Hypothesis | None:
    found = sorted(_of(inv, "command_memory"), key=lambda f: -f.data["rss_bytes"])
    if not found or found[0].entity is None:
        return None
    f, p = found[0], found[0].entity
    s = Score(0.45, f"{f.data['count']} {p.name} processes hold {f.data['rss_bytes'] / 2**20:.0f} MiB together")
    s.add(0.25, "the symptom is about memory", family == "memory")
    return _hyp(
        "memory",
        f"{p.name} holds memory in many processes",
        s,
        p,
        [f, *_of(inv, "memory")],
        [restart(p.name, "its processes together hold the memory; restart it and cap its workers")],
    )


def deleted_open(inv: Investigation, family: str) -> Hypothesis | None:
    found = [f for f in _of(inv, "deleted_open") if f.entity is not None and f.entity.pid is not None]
    if not found:
        return None
    f, p = found[0], found[0].entity
    assert p is not None and p.pid is not None
    s = Score(0.6, f"space on {f.data['mount']} is held by a deleted file {p.name} keeps open")
    s.add(0.2, "the symptom is about disk space", family == "disk")
    return _hyp(
        "disk",
        f"{p.name} (pid {p.pid}) holds a deleted file open on {f.data['mount']}",
        s,
        p,
        [f],
        [
            kill(p.pid, p.name, "the space comes back when the last holder closes the file"),
            manual(
                f"or truncate it in place: : > /proc/{p.pid}/fd/N (ls -l /proc/{p.pid}/fd)",
                "frees it without a restart",
            ),
        ],
    )


def inodes(inv: Investigation, family: str) -> Hypothesis | None:
    found = [f for f in _of(inv, "inodes") if f.entity is not None]
    if not found:
        return None
    f, where = found[0], found[0].entity
    assert where is not None
    s = Score(0.55, f"{f.data['mount']} has used {f.data['inodes_percent']:.0f}% of its inodes")
    s.add(0.15, f"{where.name} holds most of the entries", "most_entries" in f.data)
    s.add(0.2, "the symptom is about disk or inodes", family == "disk" or _mentions(inv, "inode"))
    return _hyp(
        "disk",
        f"{where.name} fills {f.data['mount']} with small files (inodes)",
        s,
        where,
        [f],
        [manual(f"remove the stale entries under {where.name} and fix what never cleans them", "frees inodes")],
    )


def oom_killed(inv: Investigation, family: str) -> Hypothesis | None:
    found = [f for f in _of(inv, "oom_kill") if f.entity is not None]
    if not found:
        return None
    _f, p = found[-1], found[-1].entity
    assert p is not None
    s = Score(0.6, f"the kernel killed {p.name} for memory")
    s.add(0.25, "the symptom is about memory or OOM", family == "memory")
    return _hyp(
        "memory",
        f"{p.name} was killed by the OOM killer",
        s,
        p,
        found[-3:],
        [manual(f"find why {p.name} grew (its input, its limits) before starting it again", "it will be killed again")],
    )


RULES: list[Rule] = [
    cpu_hog,
    memory_leak,
    disk_full,
    service_down,
    upstream_exhausted,
    error_burst,
    slow_dependency,
    cert_expiry,
    zombies,
    stopped,
    threads,
    descriptors,
    cpu_groups,
    memory_groups,
    deleted_open,
    inodes,
    oom_killed,
]


def rank(inv: Investigation, family: str) -> list[Hypothesis]:
    found = [h for rule in RULES if (h := rule(inv, family)) is not None] + error_leads(inv, family)
    return sorted(found, key=lambda h: h.confidence, reverse=True)


def _lead_action(lead: Lead) -> Action:
    fix, culprit = lead.signature.fix, lead.culprit
    title, why = lead.fill(fix.title), f"{lead.signature.name}: {'; '.join(lead.facts) or 'from the log'}"
    if fix.skill == "restart_service" and culprit is not None and culprit.kind in ("service", "process"):
        return restart(culprit.name, why)
    if fix.skill == "kill_process" and culprit is not None and culprit.pid is not None:
        return kill(culprit.pid, culprit.name, why)
    if fix.skill and culprit is not None and culprit.kind == "port":
        return manual(f"start what should listen on {culprit.name} (nothing does now)", why)
    return manual(title, why)


def _explains_symptom(inv: Investigation, lead: Lead) -> bool:
    t = inv.targets
    ports = {lead.culprit.port if lead.culprit else None, _port_of(lead.object)}
    return (t.service is not None and t.service in (lead.service, lead.culprit.name if lead.culprit else None)) or (
        t.port is not None and t.port in ports
    )


def _port_of(obj: str | None) -> int | None:
    tail = (obj or "").rpartition(":")[2]
    return int(tail) if tail.isdigit() else None


def error_leads(inv: Investigation, family: str) -> list[Hypothesis]:
    """One hypothesis per error followed to its object (evidence/follow.py), the culprit being what the
    check found behind the error when it found something: the dependency that refuses, the lock's holder."""
    out = []
    for lead in inv.results.get("leads", []):
        f = lead.finding
        count = int(f.data.get("count", 0))
        s = Score(0.45, f"{lead.service}'s log x{count}: {lead.signature.name.replace('_', ' ')}")
        s.add(0.25, f"checked: {'; '.join(lead.facts)}", lead.confirmed)
        s.add(0.1, "the blame lies upstream of the service that logs it", lead.confirmed and lead.upstream)
        s.add(0.05, "it repeats (x20 or more)", count >= 20)
        s.add(
            0.2,
            f"{lead.service} exits again and again (x{count})",
            lead.signature.name == "process_exited" and count >= 3,
        )
        s.add(0.1, "it explains the symptom", _explains_symptom(inv, lead))
        evidence = Finding(
            kind="lead",
            severity="crit" if lead.confirmed else "warn",
            message="; ".join(lead.facts),
            audit_ids=lead.audit_ids,
        )
        out.append(
            _hyp(
                lead.signature.category,
                lead.fill(lead.signature.title),
                s,
                lead.culprit,
                [f, *([evidence] if lead.facts else [])],
                [_lead_action(lead)],
            )
        )
    return out
