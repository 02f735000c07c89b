"""An alert storm whose causes are known, and how well an alert → incident assignment recovers them.

The storm is what Alertmanager (route `group_by: [alertname, service]`) would post to a webhook
when `orders-db` goes down under many services that depend on it, while, unrelated, a disk fills
on db-9, a TLS certificate nears its expiry and a cache host runs short of memory. Every alert has
its own label set, so its own fingerprint; every group is posted whole, `resends` times, as
Alertmanager does on each `group_interval`. `pairwise` scores an assignment against the truth.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from watchkeeper.alerts.fingerprint import fingerprint

FIRING_ENDS_AT = "0001-01-01T00:00:00Z"  # Alertmanager's endsAt of a firing alert (Go's zero time)
EXTERNAL_URL = "http://alertmanager.example.com:9093"
PROMETHEUS_URL = "http://prometheus.example.com:9090"
RECEIVER = "watchkeeper"
GROUP_BY = ("alertname", "service")

DB_DOWN = "orders-db down"
DISK_FULL = "disk /var filling on db-9"
CERT_EXPIRING = "certificate of pay.example.com expiring"
MEMORY = "memory pressure on cache-3"

# Services that need orders-db, the first few named as in a shop; `checkout` reaches it through
# orders-api. Beyond these, numbered replicas of them (cart-2, search-api-3, …) with the same needs.
DEPENDENTS: dict[str, str] = {
    "orders-api": "orders-db",
    "checkout": "orders-api",
    "cart": "orders-db",
    "payments-worker": "orders-db",
    "inventory": "orders-db",
    "search-api": "orders-db",
    "shipping": "orders-db",
    "invoices": "orders-api",
    "recommendations": "orders-db",
    "customer-portal": "orders-api",
}
# What each dependent service fires; group_by [alertname, service] makes each pair one group.
SYMPTOMS: tuple[tuple[str, str, str], ...] = (
    ("HighErrorRate", "critical", "5xx ratio above 5% for 2m"),
    ("HighLatency", "warning", "p99 latency above 1s for 5m"),
    ("ServiceDown", "critical", "target has been unreachable for 1m"),
)


@dataclass
class Storm:
    posts: list[dict[str, Any]]  # Alertmanager webhook (version 4) payloads, in arrival order
    truth: dict[str, str]  # alert fingerprint → the name of its true cause
    services: dict[str, list[str]]  # service → depends_on, for `triage.services.<name>.depends_on`
    causes: list[str]

    @property
    def alerts(self) -> list[dict[str, Any]]:
        """Each distinct alert once, in the order it first arrives."""
        seen: dict[str, dict[str, Any]] = {}
        for post in self.posts:
            for alert in post["alerts"]:
                seen.setdefault(alert["fingerprint"], alert)
        return list(seen.values())


def _group_key(labels: Mapping[str, str]) -> str:
    """The root route's `{}` and the group's labels as Go prints a LabelSet (sorted, `, `-joined)."""
    present = sorted((name, labels[name]) for name in GROUP_BY if name in labels)
    return "{}:{" + ", ".join(f'{name}="{value}"' for name, value in present) + "}"


def _stamp(at: datetime) -> str:
    """RFC 3339 as Go's time.RFC3339Nano prints it: no trailing zeros in the fraction, none at all if whole."""
    fraction = f".{at.microsecond:06d}".rstrip("0").rstrip(".")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"


def _alert(labels: dict[str, str], summary: str, starts_at: datetime) -> dict[str, Any]:
    return {
        "status": "firing",
        "labels": labels,
        "annotations": {"summary": summary, "description": f"{labels['alertname']} on {labels['instance']}"},
        "startsAt": _stamp(starts_at),
        "endsAt": FIRING_ENDS_AT,
        "generatorURL": f"{PROMETHEUS_URL}/graph?g0.expr=ALERTS%7Balertname%3D%22{labels['alertname']}%22%7D",
        "fingerprint": fingerprint(labels),
    }


def _post(alerts: list[dict[str, Any]]) -> dict[str, Any]:
    """One webhook payload for a group, as Alertmanager builds it: common labels and annotations are
    those every alert of the group shares."""
    common_labels = dict(alerts[0]["labels"])
    common_annotations = dict(alerts[0]["annotations"])
    for alert in alerts[1:]:
        common_labels = {k: v for k, v in common_labels.items() if alert["labels"].get(k) == v}
        common_annotations = {k: v for k, v in common_annotations.items() if alert["annotations"].get(k) == v}
    return {
        "version": "4",
        "groupKey": _group_key(alerts[0]["labels"]),
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": RECEIVER,
        "groupLabels": {name: alerts[0]["labels"][name] for name in GROUP_BY if name in alerts[0]["labels"]},
        "commonLabels": common_labels,
        "commonAnnotations": common_annotations,
        "externalURL": EXTERNAL_URL,
        "alerts": alerts,
    }


def _service_names(count: int) -> list[str]:
    bases = list(DEPENDENTS)
    return [bases[i % len(bases)] + (f"-{i // len(bases) + 1}" if i >= len(bases) else "") for i in range(count)]


def _base(service: str) -> str:
    return service if service in DEPENDENTS else service.rsplit("-", 1)[0]


def _fixed_groups(t0: datetime) -> list[tuple[str, list[dict[str, Any]]]]:
    """The database's own alert and the three unrelated causes: one group per alertname."""

    def node(alertname: str, host: str, severity: str, summary: str, **extra: str) -> dict[str, Any]:
        labels = {"alertname": alertname, "instance": f"{host}:9100", "job": "node", "severity": severity, **extra}
        return _alert(labels, summary, t0 - timedelta(minutes=20))

    db = {"alertname": "PostgresDown", "service": "orders-db", "instance": "db-1:9187", "job": "postgres"}
    cert = {"alertname": "SSLCertExpiringSoon", "instance": "https://pay.example.com", "job": "blackbox"}
    return [
        (DB_DOWN, [_alert({**db, "severity": "critical"}, "PostgreSQL is down", t0)]),
        (DISK_FULL, [node("HostOutOfDiskSpace", "db-9", "critical", "/var under 10% free", mountpoint="/var")]),
        (DISK_FULL, [node("HostDiskWillFillIn4Hours", "db-9", "warning", "/var fills in 4h", mountpoint="/var")]),
        (CERT_EXPIRING, [_alert({**cert, "severity": "warning"}, "expires in 6 days", t0 - timedelta(hours=2))]),
        (MEMORY, [node("HostMemoryUnderMemoryPressure", "cache-3", "warning", "major page faults high")]),
        (MEMORY, [node("HostOomKillDetected", "cache-3", "critical", "the OOM killer ran")]),
    ]


def make_storm(alerts: int, groups: int, resends: int, seed: int, *, start: datetime | None = None) -> Storm:
    """`alerts` distinct alerts in `groups` Alertmanager groups, each group posted whole `resends`
    times. The order is shuffled by `seed`, but some dependents' first posts always arrive before
    the database's own alert, as in a real storm. `start` is when it is posted (default: now)."""
    # Every alert started in the past, as Prometheus's do: the database 2 minutes before `start`.
    t0 = (start or datetime.now(UTC).replace(microsecond=0)) - timedelta(minutes=2)
    fixed = _fixed_groups(t0)
    if groups <= len(fixed) or alerts < groups or resends < 1:
        raise ValueError(f"a storm needs groups > {len(fixed)}, alerts >= groups and resends >= 1")
    rng = random.Random(seed)
    dependent_groups = groups - len(fixed)
    dependent_alerts = alerts - len(fixed)
    names = _service_names(-(-dependent_groups // len(SYMPTOMS)))
    grouped = list(fixed)
    for g in range(dependent_groups):
        service, (alertname, severity, summary) = names[g // len(SYMPTOMS)], SYMPTOMS[g % len(SYMPTOMS)]
        size = dependent_alerts // dependent_groups + (g < dependent_alerts % dependent_groups)
        members = []
        for i in range(size):
            labels = {
                "alertname": alertname,
                "service": service,
                "instance": f"web-{i + 1}:8080",
                "job": service,
                "severity": severity,
            }
            members.append(_alert(labels, summary, t0 + timedelta(seconds=rng.randint(-60, 90))))
        grouped.append((DB_DOWN, members))

    posts_by_round = []
    for _ in range(resends):
        order = list(range(len(grouped)))
        rng.shuffle(order)
        posts_by_round.append(order)
    # The database's own post arrives after some of its dependents' first posts.
    first = [g for g in posts_by_round[0] if g != 0]
    first.insert(rng.randint(max(1, len(first) // 10), max(1, len(first) // 3)), 0)
    posts_by_round[0] = first

    services = {"orders-db": [], **{name: [DEPENDENTS[_base(name)]] for name in names}}  # names[0] is orders-api
    return Storm(
        posts=[_post(grouped[g][1]) for order in posts_by_round for g in order],
        truth={alert["fingerprint"]: cause for cause, members in grouped for alert in members},
        services=services,
        causes=[DB_DOWN, DISK_FULL, CERT_EXPIRING, MEMORY],
    )


def pairwise(truth: Mapping[str, str], got: Mapping[str, object]) -> tuple[float, float, float]:
    """Pairwise precision, recall and F1 of an alert → incident assignment against alert → cause.

    A pair of alerts is predicted together when they share an incident and truly together when
    they share a cause; counted per (cause, incident) cell, so linear in the alerts. Only alerts in
    `truth` count; one missing from `got` is an incident of its own. An empty denominator (no pair
    predicted, or none true) scores 1: nothing claimed, nothing wrong.
    """

    def pairs(counts: Counter[Any]) -> int:
        return sum(n * (n - 1) // 2 for n in counts.values())

    incident = {fp: got.get(fp, ("unassigned", fp)) for fp in truth}
    together = pairs(Counter((truth[fp], incident[fp]) for fp in truth))
    predicted = pairs(Counter(incident.values()))
    true = pairs(Counter(truth.values()))
    precision = together / predicted if predicted else 1.0
    recall = together / true if true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1
