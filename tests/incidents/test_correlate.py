"""The correlation rules, one by one, over hand-made views of the open incidents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from watchkeeper.alerts.correlate import Dependencies, OpenIncident, Rules, decide, dependents
from watchkeeper.alerts.model import Alert, Severity, Target

NOW = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
RULES = Rules(
    window=timedelta(minutes=30),
    deps=Dependencies({"orders-api": ["orders-db"], "checkout": ["orders-api"], "orders-db": ["checkout"]}),
)


def alert(
    name: str, target: Target, severity: Severity = "warning", group_key: str | None = None, **labels: str
) -> Alert:
    return Alert(
        fingerprint=f"{name}-{target.key}",
        source="generic",
        name=name,
        labels={"alertname": name, **labels},
        status="firing",
        severity=severity,
        starts_at=NOW,
        target=target,
        group_key=group_key,
    )


def incident(id: int, *targets: str, ago_s: float = 60, critical: tuple[str, ...] = (), **kw: object) -> OpenIncident:
    return OpenIncident(
        id,
        targets[0],
        NOW - timedelta(seconds=ago_s),
        frozenset(targets),
        frozenset(critical),
        **kw,  # type: ignore[arg-type]
    )


def test_same_target_within_the_window_joins_and_after_it_opens() -> None:
    a = alert("HighLatency", Target(service="orders-api", host="web-1"))
    assert decide(a, [incident(1, "service:orders-api")], RULES, NOW).rule == "same-target"
    stale = incident(1, "service:orders-api", ago_s=31 * 60)
    assert decide(a, [stale], RULES, NOW).incident_id is None


def test_a_warning_is_inhibited_by_a_critical_on_its_target_even_past_the_window() -> None:
    warn = alert("DiskFilling", Target(host="db-9"))
    old = incident(4, "host:db-9", ago_s=3 * 3600, critical=("host:db-9",))
    got = decide(warn, [old], RULES, NOW)
    assert (got.incident_id, got.rule) == (4, "inhibited") and "critical" in got.reason
    assert decide(alert("DiskFull", Target(host="db-9"), "critical"), [old], RULES, NOW).incident_id is None


def test_the_senders_group_and_group_by_labels() -> None:
    a = alert("X", Target(host="h1"), group_key='{}:{alertname="X"}')
    grouped = incident(2, "host:h0", group_keys=frozenset({'{}:{alertname="X"}'}))
    assert decide(a, [grouped], RULES, NOW).rule == "group"
    assert decide(a, [grouped], Rules(window=RULES.window, use_group_key=False), NOW).incident_id is None
    by_cluster = Rules(window=RULES.window, group_by=("cluster",))
    b = alert("Y", Target(host="h2"), cluster="eu-1")
    assert decide(b, [incident(3, "host:h9", groups=frozenset({("eu-1",)}))], by_cluster, NOW).rule == "group-by"


def test_a_dependent_service_joins_the_incident_on_what_it_depends_on_transitively() -> None:
    db = incident(7, "service:orders-db")
    got = decide(alert("Errors", Target(service="checkout")), [db], RULES, NOW)
    assert (got.incident_id, got.rule) == (7, "depends-on") and "orders-db" in got.reason
    assert RULES.deps.upstream("checkout") == ["orders-api", "orders-db"]  # the config's cycle is harmless


def test_incidents_of_dependents_merge_into_the_cause_that_arrives_later() -> None:
    api, cart, other = incident(1, "service:orders-api"), incident(2, "service:checkout"), incident(3, "host:db-9")
    merged = dependents("service:orders-db", [api, cart, other], RULES, NOW, into=9)
    assert [i for i, _ in merged] == [1, 2]
    assert dependents("host:db-9", [api, cart, other], RULES, NOW, into=9) == []


def test_an_alert_without_any_target_only_joins_by_grouping() -> None:
    bare = alert("Watchdog", Target())
    assert decide(bare, [incident(1, "alert:")], RULES, NOW).incident_id is None
