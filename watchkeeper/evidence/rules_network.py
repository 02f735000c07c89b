"""Rules over endpoints: a service down, an exhausted or slow upstream, a certificate."""

from __future__ import annotations

from watchkeeper.evidence.follow import silent_service
from watchkeeper.evidence.investigation import Investigation
from watchkeeper.evidence.report import Culprit, Hypothesis
from watchkeeper.evidence.scoring import (
    Score,
    hypothesis,
    manual,
    mentions,
    of,
    probe,
    restart,
)


def service_down(inv: Investigation, family: str) -> Hypothesis | None:
    signs = (
        of(inv, "port_not_listening")
        + of(inv, "port_closed", "target")
        + of(inv, "service_not_running")
        + [f for f in of(inv, "http_unreachable", "target") if "refused" in str(f.data.get("error"))]
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
    return hypothesis(
        "network", f"{culprit.name} is down", s, culprit, signs + of(inv, "log_errors", "target"), actions
    )


def upstream_exhausted(inv: Investigation, family: str) -> Hypothesis | None:
    upstream = [f for f in of(inv, "log_errors", "upstream") if "exhausted" in f.data.get("words", [])]
    if not upstream or upstream[0].entity is None:
        return None
    u = upstream[0]
    proxy = [f for f in of(inv, "log_errors", "target") if "upstream" in f.data.get("words", [])]
    s = Score(0.5, f"{u.entity.name}'s own log says its pool is exhausted")  # type: ignore[union-attr]
    s.add(0.25, "the proxy's log blames that upstream", bool(proxy))
    s.add(0.1, "the endpoint answers 5xx", bool(of(inv, "http_error", "target")))
    assert u.entity is not None
    return hypothesis(
        "dependency",
        f"upstream {u.entity.name} has no free workers",
        s,
        u.entity,
        [u, *proxy[:1], *of(inv, "http_error", "target")],
        [
            restart(u.entity.name, "frees the stuck workers now"),
            manual(
                f"raise {u.entity.name}'s worker pool or find what holds workers (slow queries, locks)",
                "a restart does not stop it from filling again",
            ),
        ],
    )


def slow_dependency(inv: Investigation, family: str) -> Hypothesis | None:
    slow = of(inv, "http_slow", "dependency")
    timeouts = [
        f
        for f in of(inv, "log_errors", "target")
        if "timeout" in f.data.get("words", []) and not f.data.get("signatures")
    ]
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
    s.add(0.05, "the service's own endpoint is slow", bool(of(inv, "http_slow", "target")))
    actions = [probe(url, f"re-check {url}", "confirm the latency before acting")] if url else []
    if listener:
        actions.insert(0, restart(listener, "the slow dependency runs here; restart it if it is stuck"))
    name = culprit.name if culprit else "a dependency"
    return hypothesis(
        "dependency", f"{name} is slow and its callers time out", s, culprit, [*(slow[:1]), *timeouts[:2]], actions
    )


def _listener_name(inv: Investigation, port: int | None) -> str | None:
    if port is None:
        return None
    entry = next((p for p in inv.results.get("listening", []) if p["port"] == port), None)
    return entry.get("process") if entry else None


def cert_expiry(inv: Investigation, family: str) -> Hypothesis | None:
    certs = of(inv, "tls_expiry")
    invalid = [f for f in of(inv, "tls_invalid") if f.entity is not None]
    if (not certs or certs[0].entity is None) and not invalid:
        return None
    if not certs or certs[0].entity is None:
        c = invalid[0]
        s = Score(0.5, f"the certificate does not verify: {c.data.get('verify_error')}")
        s.add(
            0.35,
            "the symptom is about TLS or certificates",
            family == "tls" or mentions(inv, "ssl", "certificate", "证书"),
        )
        url = c.entity.url or c.entity.name  # type: ignore[union-attr]
        return hypothesis(
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
    return hypothesis(
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
