"""Endpoints and what they depend on: the symptom's URL or port probed, the service's state, the
upstream a proxy blames and the dependency a service times out on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from watchkeeper.evidence.facts import (
    BoundElsewhere,
    Fact,
    HostUnresolved,
    HttpError,
    HttpSlow,
    HttpUnreachable,
    LogErrors,
    PortClosed,
    ServiceNotRunning,
    TlsExpiry,
    TlsInvalid,
)
from watchkeeper.evidence.follow import listener_of, local_host
from watchkeeper.evidence.gather import finding, gatherer
from watchkeeper.evidence.investigation import Investigation
from watchkeeper.evidence.logs import service_log_findings
from watchkeeper.evidence.report import Culprit
from watchkeeper.evidence.scoring import of
from watchkeeper.i18n import _

SLOW_MS = 2000.0
WILDCARDS = ("0.0.0.0", "::", "*")
TLS_WARN_DAYS = 21
UNRESOLVED = "cannot resolve "  # how probe_tcp starts its error when the name does not resolve


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
        if result["open"]:
            return
        fact: Fact
        entity: Culprit | None = None
        if str(result["error"]).startswith(UNRESOLVED):
            # Not a refusal: a name this host does not know (another network's DNS) says nothing of the service.
            fact, severity = HostUnresolved(role=role, **result), "warn"
            said = _("{host}:{port} cannot be checked from this host: {error}")
        else:
            if role == "target":
                bound_elsewhere(inv, result["host"], result["port"])
            entity = (
                Culprit(kind="service", name=service, port=result["port"])
                if service
                else Culprit(kind="port", name=str(result["port"]), port=result["port"])
            )
            fact, severity = PortClosed(role=role, **result), "crit"
            said = _("{host}:{port} does not accept connections: {error}")
        message = said.format(host=result["host"], port=result["port"], error=result["error"])
        inv.add(finding(fact, severity, message, ids, entity))
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
                TlsExpiry(role=role, **tls),
                severity,
                _("the certificate of {url} expires in {days:.1f} days ({not_after}, {subject})").format(
                    url=url, days=tls["days_to_expiry"], not_after=tls.get("not_after"), subject=tls.get("subject")
                ),
                ids,
                entity,
            )
        )
    if tls.get("verified") is False:
        inv.add(
            finding(
                TlsInvalid(role=role, **tls),
                "crit",
                _("the certificate of {url} does not verify: {error} ({subject})").format(
                    url=url, error=tls.get("verify_error"), subject=tls.get("subject")
                ),
                ids,
                entity,
            )
        )
    status = result.get("status")
    if status is None and role == "target" and "refused" in str(result.get("error")):
        parts = urlsplit(url)
        if parts.hostname:
            bound_elsewhere(inv, parts.hostname, port or (443 if parts.scheme == "https" else 80))
    if status is None:
        inv.add(
            finding(
                HttpUnreachable(role=role, error=result.get("error")),
                "crit",
                _("{url} unreachable: {error}").format(url=url, error=result.get("error")),
                ids,
                entity,
            )
        )
    elif status >= 500:
        inv.add(
            finding(
                HttpError(role=role, status=status, body=result.get("body_excerpt", "")[:200]),
                "crit",
                _("{url} answers {status} {reason}")
                .format(url=url, status=status, reason=result.get("reason", ""))
                .strip(),
                ids,
                entity,
            )
        )
    if result.get("latency_ms") and result["latency_ms"] >= SLOW_MS:
        inv.add(
            finding(
                HttpSlow(role=role, latency_ms=result["latency_ms"]),
                "warn",
                _("{url} took {ms:.0f} ms").format(url=url, ms=result["latency_ms"]),
                ids,
                entity,
            )
        )


def bound_elsewhere(inv: Investigation, host: str, port: int) -> None:
    """A refused port on this host that a process listens on, on another address: it answers on loopback
    (or one interface) while its clients come on the address probed."""
    if not local_host(inv, host):
        return
    rows = [p for p in inv.results.get("listening", []) if p["port"] == port and p["protocol"] == "tcp"]
    if not rows or any(p["address"] in (host, *WILDCARDS) for p in rows):
        return
    owner = rows[0]
    addresses = sorted({p["address"] for p in rows})
    inv.add(
        finding(
            BoundElsewhere(
                role="target", port=port, probed=host, addresses=addresses, process=owner["process"], pid=owner["pid"]
            ),
            "crit",
            _(
                "{process} (pid {pid}) listens on port {port} only on {addresses}, not on {host}, where it was probed"
            ).format(
                process=owner["process"] or _("a process"),
                pid=owner["pid"],
                port=port,
                addresses=", ".join(addresses),
                host=host,
            ),
            inv.audit_ids("listening_ports")[-1:],
            Culprit(kind="service", name=owner["process"], pid=owner["pid"], port=port)
            if owner["process"]
            else Culprit(kind="port", name=str(port), port=port),
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
                ServiceNotRunning(**state),
                "crit",
                _("{service} is {state} ({manager}): {detail}")
                .format(
                    service=service, state=state["state"], manager=state["manager"], detail=state.get("detail") or ""
                )
                .strip(),
                inv.audit_ids("service_status"),
                Culprit(kind="service", name=service),
            )
        )


@gatherer
def upstreams(inv: Investigation) -> None:
    """A proxy complains about an upstream: find who listens there, probe it, read its logs."""
    seen: set[int] = set()
    for f in of(inv, LogErrors, "target"):
        if not ({"upstream", "timeout", "refused"} & set(f.data.words)):
            continue
        for host, port in f.data.addresses:
            if port in seen or port == inv.targets.port:
                continue
            seen.add(port)
            listener = listener_of(inv, port)
            probe = inv.call("probe_tcp", host=host, port=port, timeout_s=3)
            name = (listener or {}).get("process") or f"port {port}"
            inv.results.setdefault("upstreams", []).append(
                {"host": host, "port": port, "process": name, "pid": (listener or {}).get("pid")}
            )
            if probe and not probe["open"]:
                inv.add(
                    finding(
                        PortClosed(role="upstream", host=host, port=port),
                        "crit",
                        _("upstream {host}:{port} refuses connections").format(host=host, port=port),
                        inv.audit_ids("probe_tcp")[-1:],
                        Culprit(kind="port", name=str(port), port=port),
                    )
                )
            if listener and listener.get("process"):
                for lf in service_log_findings(inv, listener["process"], role="upstream"):
                    lf.data.port = port
                    lf.entity = Culprit(kind="service", name=listener["process"], port=port, pid=listener.get("pid"))


@gatherer
def dependencies(inv: Investigation) -> None:
    """URLs a service reports timing out on: probe them and measure."""
    urls = {u for f in of(inv, LogErrors) if "timeout" in f.data.words and not f.data.signatures for u in f.data.urls}
    for url in sorted(urls)[:3]:
        result = inv.call("probe_http", url=url, timeout_s=10)
        if result:
            analyze_probe(inv, "http", result, role="dependency")
