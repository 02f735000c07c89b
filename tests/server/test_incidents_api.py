"""The incident API on the real server: the listing's filters and bounds, an incident with everything
on it, and what an operator does to one (ack, resolve, reinvestigate, merge, split) as the token's user;
silences added, listed and expired. Incidents are written straight into the tables (the assigner's
job is tested with the assigner)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert

from tests.helpers import wait_for
from tests.server.conftest import Served
from tests.server.test_api import is_problem
from watchkeeper.store.models import AlertRow, Incident, IncidentEvent, InvestigationRow, NotificationRow

REPORT = {"id": "rep-1", "summary": "orders-db refuses connections: max_connections reached"}


def make_incident(
    engine: Engine,
    title: str = "orders-db down",
    *,
    targets: tuple[str, ...] = ("service:orders-db",),
    status: str = "open",
    severity: str = "critical",
    opened: datetime | None = None,
) -> int:
    """An incident with one firing alert per target (fingerprint `<id>-<n>`), its opening event, a done
    investigation with a report, a cancelled one, and a sent notification."""
    at = opened or datetime.now(UTC)
    with engine.begin() as conn:
        incident_id: int = conn.execute(  # type: ignore[index]  # an insert has its key
            insert(Incident).values(
                title=title,
                status=status,
                severity=severity,
                root_target=targets[0],
                opened_at=at,
                updated_at=at,
                last_alert_at=at,
                flaps=0,
            )
        ).inserted_primary_key[0]
        for n, target in enumerate(targets):
            kind, _, name = target.partition(":")
            conn.execute(
                insert(AlertRow).values(
                    fingerprint=f"{incident_id}-{n}",
                    source="alertmanager",
                    name="Down",
                    labels_json=json.dumps({"alertname": "Down", kind: name}),
                    annotations_json=json.dumps({"summary": f"{name} is down"}),
                    status="firing",
                    severity=severity,
                    target_key=target,
                    target_json=json.dumps({kind: name}),
                    starts_at=at + timedelta(seconds=n),
                    first_seen_at=at,
                    last_seen_at=at,
                    received_count=2,
                    incident_id=incident_id,
                    join_rule="opened" if n == 0 else "dependency",
                    join_reason="opened the incident" if n == 0 else f"{name} depends on {targets[0]}",
                )
            )
        opened_event = conn.execute(
            insert(IncidentEvent).values(
                incident_id=incident_id, at=at, kind="opened", actor="watchkeeper", text=title, data_json="{}"
            )
        )
        reports = [{"target": targets[0], "alerts": [f"{incident_id}-0"], "report": REPORT}]
        conn.execute(
            insert(InvestigationRow).values(
                incident_id=incident_id,
                kind="initial",
                status="done",
                not_before=at,
                started_at=at,
                finished_at=at,
                attempts=1,
                reports_json=json.dumps(reports),
            )
        )
        conn.execute(
            insert(InvestigationRow).values(incident_id=incident_id, kind="manual", status="cancelled", not_before=at)
        )
        conn.execute(
            insert(NotificationRow).values(
                incident_id=incident_id,
                event_id=opened_event.inserted_primary_key[0],  # type: ignore[index]
                kind="diagnosed",
                text="diagnosed",
                target="env:DINGTALK_URL",
                shown="dingtalk://…",
                status="sent",
                attempts=1,
                created_at=at,
                next_attempt_at=at,
                sent_at=at,
            )
        )
    return incident_id


def listed(served: Served, **params: Any) -> list[Any]:
    answer = served.get("/api/v1/incidents", "viewer", params=params)
    assert answer.status_code == 200, answer.text
    return [i["id"] for i in answer.json()]


def test_the_listing_filters_newest_first(served_on: Served) -> None:
    engine, now = served_on.core.engine, datetime.now(UTC)
    old = make_incident(engine, "disk full", targets=("host:db-2",), severity="warning", opened=now - timedelta(days=2))
    db = make_incident(engine, targets=("service:orders-db", "service:orders", "service:cart"), opened=now)
    done = make_incident(
        engine, "cert", targets=("url:https://pay",), status="resolved", opened=now - timedelta(hours=2)
    )
    assert listed(served_on) == [db, done, old]
    assert listed(served_on, status="resolved") == [done]
    assert listed(served_on, severity="warning") == [old]
    assert listed(served_on, service="cart") == [db]  # any of its alerts' targets
    assert listed(served_on, since="1d") == [db, done]
    assert listed(served_on, limit=1) == [db]

    [first] = served_on.get("/api/v1/incidents", "viewer", params={"limit": 1}).json()
    assert first["targets"] == ["service:orders-db", "service:cart", "service:orders"]  # the root first
    assert (first["alert_count"], first["firing_count"], first["investigation_count"]) == (3, 3, 1)
    assert first["opened_at"].startswith(now.isoformat()[:16]) and first["merged_into"] is None

    for params in ({"since": "yesterday"}, {"limit": 0}, {"limit": 1001}, {"status": "sleeping"}):
        bad = is_problem(served_on.get("/api/v1/incidents", "viewer", params=params), 422)
        assert [e["field"] for e in bad["errors"]] == list(params), params  # type: ignore[attr-defined]


def test_an_incident_has_its_alerts_timeline_reports_and_notifications(served_on: Served) -> None:
    incident_id = make_incident(served_on.core.engine, targets=("service:orders-db", "service:orders"))
    shown = served_on.get(f"/api/v1/incidents/{incident_id}", "viewer").json()
    assert [(a["fingerprint"], a["target"], a["join_rule"]) for a in shown["alerts"]] == [
        (f"{incident_id}-0", "service:orders-db", "opened"),
        (f"{incident_id}-1", "service:orders", "dependency"),
    ]
    alert = shown["alerts"][1]
    assert alert["labels"] == {"alertname": "Down", "service": "orders"} and alert["received_count"] == 2
    assert alert["join_reason"] == "orders depends on service:orders-db" and alert["silenced_by"] is None
    assert [(e["kind"], e["actor"]) for e in shown["timeline"]] == [("opened", "watchkeeper")]
    assert [(i["kind"], i["status"]) for i in shown["investigations"]] == [("initial", "done"), ("manual", "cancelled")]
    assert shown["reports"] == [
        {
            "target": "service:orders-db",
            "alerts": [f"{incident_id}-0"],
            "report": REPORT,
            "investigation_id": shown["investigations"][0]["id"],
        }
    ]
    assert [(n["kind"], n["status"], n["shown"]) for n in shown["notifications"]] == [
        ("diagnosed", "sent", "dingtalk://…")
    ]
    alerts = served_on.get("/api/v1/alerts", "viewer", params={"incident": incident_id}).json()
    assert sorted(a["fingerprint"] for a in alerts) == [f"{incident_id}-0", f"{incident_id}-1"]
    assert served_on.get("/api/v1/alerts", "viewer", params={"silenced": True}).json() == []

    missing = is_problem(served_on.get("/api/v1/incidents/999", "viewer"), 404)
    assert "999" in str(missing["detail"])
    is_problem(served_on.get("/api/v1/incidents/0", "viewer"), 422)


def test_an_operator_acks_resolves_merges_and_splits(served_on: Served) -> None:
    engine = served_on.core.engine
    db = make_incident(engine, targets=("service:orders-db", "service:orders"))
    cart = make_incident(engine, "cart errors", targets=("service:cart",))

    is_problem(served_on.post(f"/api/v1/incidents/{db}/ack", "viewer"), 403)
    acked = served_on.post(f"/api/v1/incidents/{db}/ack", "operator").json()
    assert acked["acknowledged_by"] == "operator" and acked["acknowledged_at"]

    queued = served_on.post(f"/api/v1/incidents/{db}/reinvestigate", "operator")
    assert queued.status_code == 202 and queued.json()["incident_id"] == db
    assert served_on.get(f"/api/v1/incidents/{db}", "viewer").json()["investigation_count"] == 2

    merged = served_on.post(f"/api/v1/incidents/{cart}/merge", "operator", json={"into": db})
    assert merged.status_code == 200 and merged.json()["id"] == db
    assert "service:cart" in merged.json()["targets"]
    gone = served_on.get(f"/api/v1/incidents/{cart}", "viewer").json()
    assert (gone["status"], gone["merged_into"]) == ("closed", db)
    is_problem(served_on.post(f"/api/v1/incidents/{db}/merge", "operator", json={"into": db}), 409)
    is_problem(served_on.post(f"/api/v1/incidents/{db}/merge", "operator", json={"into": 999}), 404)
    is_problem(served_on.post(f"/api/v1/incidents/{db}/merge", "operator", json={}), 422)

    split = served_on.post(f"/api/v1/incidents/{db}/split", "operator", json={"fingerprints": [f"{cart}-0"]})
    assert split.status_code == 201, split.text
    apart = split.json()["id"]
    assert [a["fingerprint"] for a in split.json()["alerts"]] == [f"{cart}-0"] and apart not in (db, cart)
    is_problem(served_on.post(f"/api/v1/incidents/{db}/split", "operator", json={"fingerprints": []}), 422)

    is_problem(served_on.post(f"/api/v1/incidents/{db}/resolve", "operator", json={"note": "a\u0000b"}), 422)
    resolved = served_on.post(f"/api/v1/incidents/{db}/resolve", "operator", json={"note": "raised max_connections"})
    assert resolved.json()["status"] == "resolved" and resolved.json()["resolved_at"]
    assert served_on.post(f"/api/v1/incidents/{apart}/resolve", "operator").json()["status"] == "resolved"  # no body
    # A live incident's firing alerts would be stuck in a resolved one: the other way round is offered.
    late = make_incident(engine, "pay errors", targets=("service:pay",))
    stuck = is_problem(served_on.post(f"/api/v1/incidents/{late}/merge", "operator", json={"into": db}), 409)
    assert f"incident #{db} is resolved: merge it into #{late} instead" in str(stuck["detail"])
    assert served_on.post(f"/api/v1/incidents/{db}/merge", "operator", json={"into": late}).json()["id"] == late
    is_problem(served_on.post("/api/v1/incidents/999/ack", "operator"), 404)


def test_silences_are_added_listed_and_expired(served_on: Served) -> None:
    body = {"matchers": ['service="orders-db"', 'severity=~"warn.*"'], "duration": "2h", "comment": "maintenance"}
    is_problem(served_on.post("/api/v1/silences", "viewer", json=body), 403)
    added = served_on.post("/api/v1/silences", "operator", json=body)
    assert added.status_code == 201, added.text
    silence = added.json()
    assert silence["active"] is True and silence["created_by"] == "operator" and len(silence["id"]) == 12
    ends = datetime.fromisoformat(silence["ends_at"]) - datetime.fromisoformat(silence["starts_at"])
    assert ends == timedelta(hours=2)
    assert [s["id"] for s in served_on.get("/api/v1/silences", "viewer").json()] == [silence["id"]]

    for wrong in (
        {**body, "matchers": ["not a matcher"]},
        {**body, "duration": "soon"},
        {**body, "ends_at": "2020-01-01T00:00:00Z", "duration": None},
        {"matchers": body["matchers"], "comment": "no end"},
        {**body, "comment": ""},
        {**body, "ends_at": "9999-12-31T23:00:00-05:00", "duration": None},  # past year 9999 in UTC
    ):
        is_problem(served_on.post("/api/v1/silences", "operator", json=wrong), 422)

    with served_on.client("operator") as operator:
        expired = operator.delete(f"/api/v1/silences/{silence['id']}")
        is_problem(operator.delete("/api/v1/silences/feedbeef0000"), 404)
    assert expired.status_code == 200 and expired.json()["active"] is False
    assert expired.json()["expired_by"] == "operator" and expired.json()["expired_at"] == expired.json()["ends_at"]
    assert silence["expired_by"] is None and silence["expired_at"] is None
    assert served_on.get("/api/v1/silences", "viewer").json() == []
    assert [s["id"] for s in served_on.get("/api/v1/silences?include_expired=true", "viewer").json()] == [silence["id"]]


def test_a_secret_an_alert_carries_never_leaves_through_the_api(served: Served) -> None:
    leak = "postgres://app:Sup3rS3cretPw@db-1:5432/orders"
    alert = {"name": "DbDown", "labels": {"service": "orders-db"}, "annotations": {"dsn": leak, "api_key": "k-123456"}}
    assert served.post("/api/v1/alerts", "webhook", json=alert).status_code == 202
    assert wait_for(lambda: listed(served) != [], timeout=30)
    (incident,) = listed(served)
    shown = served.get(f"/api/v1/incidents/{incident}", "viewer").text
    alerts = served.get("/api/v1/alerts", "viewer").text
    for text in (shown, alerts):
        assert "Sup3rS3cretPw" not in text and "k-123456" not in text and "orders-db" in text
