"""Rules over endpoints: a service down, an exhausted or slow upstream, a certificate."""

from __future__ import annotations

from typing import Any

from watchkeeper.evidence.facts import (
    BoundElsewhere,
    CloseWait,
    HttpError,
    HttpSlow,
    HttpUnreachable,
    LogErrors,
    PortClosed,
    PortNotListening,
    ServiceNotRunning,
    TlsExpiry,
    TlsInvalid,
)
from watchkeeper.evidence.follow import silent_service
from watchkeeper.evidence.investigation import Investigation
from watchkeeper.evidence.report import Culprit, Finding, Hypothesis
from watchkeeper.evidence.scoring import (
    Score,
    biggest,
    hypothesis,
    manual,
    mentions,
    of,
    own_changes,
    probe,
    restart,
)
from watchkeeper.i18n import _


def service_down(inv: Investigation, family: str) -> Hypothesis | None:
    signs: list[Finding[Any]] = [
        *of(inv, PortNotListening),
        *of(inv, PortClosed, "target"),
        *of(inv, ServiceNotRunning),
        *[f for f in of(inv, HttpUnreachable, "target") if "refused" in str(f.data.error)],
    ]
    if not signs or of(inv, BoundElsewhere):
        return None  # it is up, on another address: bound_elsewhere says so
    port = inv.targets.port
    service = inv.targets.service or silent_service(inv)
    culprit = (
        Culprit(kind="service", name=service, port=port) if service else Culprit(kind="port", name=str(port), port=port)
    )
    s = Score(0.6, _("{name} does not accept connections").format(name=culprit.name))
    s.add(0.15, _("more than one check agrees"), len(signs) > 1)
    s.add(0.1, _("the symptom says down/unreachable"), family == "service_down")
    actions = [restart(service, _("it is not running; restart it and watch it come back"))] if service else []
    title = _("{name} is down").format(name=culprit.name)
    return hypothesis("network", title, s, culprit, [*signs, *of(inv, LogErrors, "target")], actions)


def bound_elsewhere(inv: Investigation, family: str) -> Hypothesis | None:
    found = [f for f in of(inv, BoundElsewhere) if f.entity is not None]
    if not found:
        return None
    f, who = found[0], found[0].entity
    assert who is not None
    addresses, probed = ", ".join(f.data.addresses), f.data.probed
    s = Score(
        0.7,
        _("{name} listens on {addresses} only; the probe of {probed} is refused").format(
            name=who.name, addresses=addresses, probed=probed
        ),
    )
    s.add(0.1, _("the symptom says down/unreachable"), family == "service_down")
    changed = own_changes(inv, who.name)
    s.add(
        0.1,
        _("its config changed shortly before: {change}").format(change=changed[0].message) if changed else "",
        bool(changed),
    )
    fix = (
        _("make {name} listen on {probed} or all addresses ({path}), then restart it").format(
            name=who.name, probed=probed, path=changed[0].data.path
        )
        if changed
        else _("make {name} listen on {probed} or all addresses, then restart it").format(name=who.name, probed=probed)
    )
    return hypothesis(
        "network",
        _("{name} listens on {addresses} only, not on {probed}").format(
            name=who.name, addresses=addresses, probed=probed
        ),
        s,
        who,
        [f, *changed[:1]],
        [
            manual(fix, _("its clients connect to an address it does not listen on")),
            restart(who.name, _("after the address is fixed, to pick it up")),
        ],
    )


def close_wait(inv: Investigation, family: str) -> Hypothesis | None:
    top = biggest(inv, CloseWait, lambda c: c.count)
    if top is None:
        return None
    f, p = top
    s = Score(
        0.5, _("{name} holds {n} connections in CLOSE_WAIT that its peers closed").format(name=p.name, n=f.data.count)
    )
    s.add(0.15, _("hundreds of them"), f.data.count >= 500)
    s.add(
        0.25,
        _("the symptom is about connections or sockets"),
        mentions(inv, "close_wait", "close-wait", "connection", "socket", "连接"),
    )
    return hypothesis(
        "network",
        _("{name} (pid {pid}) never closes its connections (CLOSE_WAIT)").format(name=p.name, pid=p.pid),
        s,
        p,
        [f],
        [
            restart(p.name, _("frees the sockets now; then find the code path that does not close a connection")),
        ],
    )


def upstream_exhausted(inv: Investigation, family: str) -> Hypothesis | None:
    upstream = [f for f in of(inv, LogErrors, "upstream") if "exhausted" in f.data.words]
    if not upstream or upstream[0].entity is None:
        return None
    u = upstream[0]
    proxy = [f for f in of(inv, LogErrors, "target") if "upstream" in f.data.words]
    assert u.entity is not None
    name = u.entity.name
    s = Score(0.5, _("{name}'s own log says its pool is exhausted").format(name=name))
    s.add(0.25, _("the proxy's log blames that upstream"), bool(proxy))
    s.add(0.1, _("the endpoint answers 5xx"), bool(of(inv, HttpError, "target")))
    return hypothesis(
        "dependency",
        _("upstream {name} has no free workers").format(name=name),
        s,
        u.entity,
        [u, *proxy[:1], *of(inv, HttpError, "target")],
        [
            restart(name, _("frees the stuck workers now")),
            manual(
                _("raise {name}'s worker pool or find what holds workers (slow queries, locks)").format(name=name),
                _("a restart does not stop it from filling again"),
            ),
        ],
    )


def slow_dependency(inv: Investigation, family: str) -> Hypothesis | None:
    slow = of(inv, HttpSlow, "dependency")
    timeouts = [f for f in of(inv, LogErrors, "target") if "timeout" in f.data.words and not f.data.signatures]
    if not slow and not timeouts:
        return None
    dep = slow[0] if slow else None
    url = dep.entity.url if dep and dep.entity else next((u for f in timeouts for u in f.data.urls), None)
    port = dep.entity.port if dep and dep.entity else None
    listener = _listener_name(inv, port)
    culprit = (
        Culprit(kind="service", name=listener, url=url, port=port)
        if listener
        else (Culprit(kind="url", name=url, url=url, port=port) if url else None)
    )
    s = Score(
        0.45, _("the service logs timeouts calling a dependency") if timeouts else _("a dependency answers slowly")
    )
    s.add(
        0.25,
        _("the dependency itself takes {latency:.0f} ms").format(latency=dep.data.latency_ms) if dep else "",
        bool(dep),
    )
    s.add(0.1, _("the symptom is about latency"), family == "latency")
    s.add(0.05, _("the service's own endpoint is slow"), bool(of(inv, HttpSlow, "target")))
    actions = [probe(url, _("re-check {url}").format(url=url), _("confirm the latency before acting"))] if url else []
    if listener:
        actions.insert(0, restart(listener, _("the slow dependency runs here; restart it if it is stuck")))
    title = (
        _("{name} is slow and its callers time out").format(name=culprit.name)
        if culprit
        else _("a dependency is slow and its callers time out")
    )
    return hypothesis("dependency", title, s, culprit, [*(slow[:1]), *timeouts[:2]], actions)


def _listener_name(inv: Investigation, port: int | None) -> str | None:
    if port is None:
        return None
    entry = next((p for p in inv.results.get("listening", []) if p["port"] == port), None)
    return entry.get("process") if entry else None


def cert_expiry(inv: Investigation, family: str) -> Hypothesis | None:
    certs = of(inv, TlsExpiry)
    invalid = [f for f in of(inv, TlsInvalid) if f.entity is not None]
    if (not certs or certs[0].entity is None) and not invalid:
        return None
    if not certs or certs[0].entity is None:
        c = invalid[0]
        s = Score(0.5, _("the certificate does not verify: {error}").format(error=c.data.verify_error))
        s.add(
            0.35,
            _("the symptom is about TLS or certificates"),
            family == "tls" or mentions(inv, "ssl", "certificate", "证书"),
        )
        url = c.entity.url or c.entity.name  # type: ignore[union-attr]
        return hypothesis(
            "certificate",
            _("the certificate of {url} does not verify").format(url=url),
            s,
            c.entity,
            invalid,
            [
                manual(
                    _("serve a certificate for the name clients use at {url} (issued by a trusted CA)").format(url=url),
                    _("it fails verification"),
                ),
                probe(
                    url,
                    _("verify {url} serves a valid certificate").format(url=url),
                    _("verified should become true"),
                ),
            ],
        )
    e = certs[0]
    s = Score(0.6, _("the certificate expires in {days:.1f} days").format(days=e.data.days_to_expiry))
    s.add(0.3, _("the symptom is about TLS or certificates"), family == "tls")
    url = e.entity.url or e.entity.name  # type: ignore[union-attr]
    expired = e.data.days_to_expiry < 0
    title = _("the certificate of {url} has expired") if expired else _("the certificate of {url} is about to expire")
    return hypothesis(
        "certificate",
        title.format(url=url),
        s,
        e.entity,
        [*certs, *invalid[:1]],
        [
            manual(
                _("renew the certificate served at {url} and reload the server").format(url=url),
                _("nothing else fixes expiry"),
            ),
            probe(url, _("verify {url} serves the new certificate").format(url=url), _("days_to_expiry should jump")),
        ],
    )
