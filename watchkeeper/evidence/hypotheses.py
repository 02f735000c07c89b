"""Findings -> ranked root-cause hypotheses, each with a culprit, the evidence that convicts it,
an explained score and the remediation (skill, params, risk class).

Rules read finding kinds and words, never scenario names. Scores start from how direct the
evidence is and rise when the symptom's family agrees; the explanation lists each step.
"""

from __future__ import annotations

from collections.abc import Callable

from watchkeeper.evidence import host_check
from watchkeeper.evidence.investigation import Investigation
from watchkeeper.evidence.report import Action, Culprit, Finding, Hypothesis


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
    category: str, title: str, score: Score, culprit: Culprit | None, evidence: list[Finding], actions: list[Action]
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
        "cpu_hog",
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
            "memory_leak",
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
            "memory_leak",
            f"{p.name} (pid {p.pid}) holds the most memory",
            s,
            p,
            top,
            [kill(p.pid, p.name, "largest consumer; the alert's condition may have passed")],
        )
    return None


def disk_full(inv: Investigation, family: str) -> Hypothesis | None:
    files = _of(inv, "file_growth") or _of(inv, "largest_file")
    full = _of(inv, "disk") + _of(inv, "disk_fill_forecast")
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
    return _hyp("disk_full", title, s, culprit, evidence, actions)


def service_down(inv: Investigation, family: str) -> Hypothesis | None:
    signs = (
        _of(inv, "port_not_listening")
        + _of(inv, "port_closed", "target")
        + _of(inv, "service_not_running")
        + [f for f in _of(inv, "http_unreachable", "target") if "refused" in str(f.data.get("error"))]
    )
    if not signs:
        return None
    service = inv.targets.service
    port = inv.targets.port
    culprit = (
        Culprit(kind="service", name=service, port=port) if service else Culprit(kind="port", name=str(port), port=port)
    )
    s = Score(0.6, f"{culprit.name} does not accept connections")
    s.add(0.15, "more than one check agrees", len(signs) > 1)
    s.add(0.1, "the symptom says down/unreachable", family == "service_down")
    actions = [restart(service, "it is not running; restart it and watch it come back")] if service else []
    return _hyp(
        "service_down", f"{culprit.name} is down", s, culprit, signs + _of(inv, "log_errors", "target"), actions
    )


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
        "upstream_exhausted",
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
        "error_burst",
        f"{service} throws a new error since a change",
        s,
        f.entity,
        [f, *novel[1:2]],
        [
            manual(f"roll back the latest config or deploy of {service}", "the errors start with a change"),
            restart(service, "after the rollback, restart it so it reads the old config"),
        ],
    )


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
        "slow_dependency", f"{name} is slow and its callers time out", s, culprit, [*(slow[:1]), *timeouts[:2]], actions
    )


def _listener_name(inv: Investigation, port: int | None) -> str | None:
    if port is None:
        return None
    entry = next((p for p in inv.results.get("listening", []) if p["port"] == port), None)
    return entry.get("process") if entry else None


def cert_expiry(inv: Investigation, family: str) -> Hypothesis | None:
    certs = _of(inv, "tls_expiry")
    if not certs or certs[0].entity is None:
        return None
    c = certs[0]
    s = Score(0.6, f"the certificate expires in {c.data['days_to_expiry']:.1f} days")
    s.add(0.3, "the symptom is about TLS or certificates", family == "tls")
    url = c.entity.url or c.entity.name  # type: ignore[union-attr]
    return _hyp(
        "cert_expiry",
        f"the certificate of {url} is about to expire",
        s,
        c.entity,
        certs,
        [
            manual(f"renew the certificate served at {url} and reload the server", "nothing else fixes expiry"),
            probe(url, f"verify {url} serves the new certificate", "days_to_expiry should jump"),
        ],
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
]


def rank(inv: Investigation, family: str) -> list[Hypothesis]:
    found = [h for rule in RULES if (h := rule(inv, family)) is not None]
    return sorted(found, key=lambda h: h.confidence, reverse=True)
