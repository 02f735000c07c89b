"""/metrics in the exposition format, every name watchkeeper's; the OpenAPI document with one operation
per skill whose params schema is the registry's own derivation."""

from __future__ import annotations

import json
import os
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import wait_for
from tests.server.conftest import Served
from watchkeeper.server.openapi import invoke_operation
from watchkeeper.skills import derive

GOLDEN = Path(__file__).parent / "golden" / "openapi_path_info.json"


def samples(served: Served) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = served.get("/metrics", "viewer")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(answer.text)
        for s in family.samples
    }


def test_metrics_count_invocations_and_requests(served: Served) -> None:
    served.post("/api/v1/skills/path_info/invoke", "operator", json={"params": {"path": "/"}})
    served.post("/api/v1/skills/path_info/invoke", "operator", json={"params": {"bad": 1}})
    served.get("/api/v1/skills")  # no token: 401 before any route
    seen = samples(served)
    ours = {name for name, _ in seen if not name.startswith(("python_", "process_"))}
    assert ours and all(n.startswith("watchkeeper_") for n in ours), ours
    assert seen[("watchkeeper_skill_invocations_total", (("skill", "path_info"), ("status", "succeeded")))] == 1
    assert seen[("watchkeeper_skill_invocations_total", (("skill", "path_info"), ("status", "invalid")))] == 1
    assert seen[("watchkeeper_skill_duration_seconds_count", (("skill", "path_info"),))] == 2
    invoke = "/api/v1/skills/{key}/invoke"
    assert seen[("watchkeeper_http_requests_total", (("code", "200"), ("route", invoke)))] == 1
    assert seen[("watchkeeper_http_requests_total", (("code", "422"), ("route", invoke)))] == 1
    assert seen[("watchkeeper_http_requests_total", (("code", "401"), ("route", "unmatched")))] == 1


def test_openapi_has_one_operation_per_skill_from_the_registry(served: Served) -> None:
    doc = served.get("/openapi.json", "viewer").json()
    paths = doc["paths"]
    assert "/api/v1/skills/{key}/invoke" not in paths
    for skill in served.core.registry.all():
        op = paths[f"/api/v1/skills/{skill.key}/invoke"]["post"]
        schema = op["requestBody"]["content"]["application/json"]["schema"]
        assert schema["properties"]["params"] == json.loads(json.dumps(derive.params_schema(skill)))
    assert {"/healthz", "/readyz", "/metrics", "/api/v1/skills", "/api/v1/audit", "/api/v1/audit/verify"} <= set(paths)
    assert paths["/healthz"]["get"]["security"] == [] and doc["security"] == [{"bearer": []}]
    for path in ("/api/v1/alerts", "/api/v1/alerts/alertmanager", "/api/v1/alerts/grafana"):
        assert paths[path]["post"]["security"] == [{"bearer": []}, {"signature": []}], path
    assert "security" not in paths["/api/v1/alerts"]["get"]  # reading alerts takes a token
    assert doc["components"]["securitySchemes"]["signature"]["name"] == "X-Watchkeeper-Signature"
    # A snapshot of one derived operation: an accidental change of the HTTP surface shows here.
    operation = json.loads(json.dumps(invoke_operation(served.core.registry.get("path_info"))))
    if os.environ.get("WK_UPDATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(operation, indent=2, sort_keys=True) + "\n")
    assert GOLDEN.exists(), "no golden OpenAPI operation: run with WK_UPDATE_GOLDEN=1 and review it"
    assert operation == json.loads(GOLDEN.read_text())


def test_bus_counters_and_queue_depth_are_scraped(served: Served) -> None:
    from watchkeeper.bus.events import Event

    bus = served.core.bus
    consumer = bus.consumer("notifier", "incident.>")
    bus.publish(Event(subject="incident.opened", data={"id": "i-1"}))
    bus.publish(Event(subject="incident.opened", data={"id": "i-2"}))
    assert samples(served)[("watchkeeper_queue_depth", (("consumer", "notifier"),))] == 2
    for delivery in consumer.fetch(batch=1, timeout_s=5):
        assert delivery.ack()
    seen = samples(served)
    assert seen[("watchkeeper_events_published_total", ())] == 2
    assert seen[("watchkeeper_events_acked_total", (("consumer", "notifier"),))] == 1
    assert seen[("watchkeeper_queue_depth", (("consumer", "notifier"),))] == 1


def test_readiness_names_the_part_that_fails(served: Served) -> None:
    from sqlalchemy import text

    assert served.get("/readyz").json() == {"status": "ready"}
    with served.core.engine.begin() as conn:
        conn.execute(text("ALTER TABLE bus_pending RENAME TO bus_pending_away"))
    try:
        down = served.get("/readyz")
        assert down.status_code == 503 and down.headers["content-type"] == "application/problem+json"
        assert set(down.json()["failing"]) == {"bus"} and down.json()["detail"].startswith("not ready: bus: ")
        assert served.get("/metrics", "viewer").status_code == 200  # a scrape still answers
    finally:
        with served.core.engine.begin() as conn:
            conn.execute(text("ALTER TABLE bus_pending_away RENAME TO bus_pending"))
    assert served.get("/readyz").status_code == 200


def test_incidents_deliveries_and_messages_are_counted_when_scraped(served: Served) -> None:
    alert = {"name": "OrdersDown", "labels": {"service": "orders", "severity": "critical"}}
    assert served.post("/api/v1/alerts", "webhook", json=alert).status_code == 202
    assert wait_for(lambda: served.get("/api/v1/incidents", "viewer").json() != [], timeout=30)
    seen = samples(served)
    assert seen[("watchkeeper_alert_deliveries", (("status", "processed"),))] == 1
    assert (
        sum(
            n
            for (name, labels), n in seen.items()
            if name == "watchkeeper_incidents" and ("severity", "critical") in labels
        )
        == 1
    )
