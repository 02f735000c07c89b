"""From stored deliveries to incidents, as the assigner does it (no server, no clock: `now` is given)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import make_settings
from watchkeeper.app import App, open_app
from watchkeeper.errors import InputError
from watchkeeper.incidents import lifecycle
from watchkeeper.incidents.assign import assign
from watchkeeper.incidents.ingest import accept
from watchkeeper.incidents.queries import list_incidents
from watchkeeper.incidents.records import ALERTS, EVENTS, INCIDENTS, INVESTIGATIONS
from watchkeeper.incidents.silences import add_silence

T0 = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
SERVICES = {
    "orders-db": {},
    "orders-api": {"depends_on": ["orders-db"]},
    "cart": {"depends_on": ["orders-db"]},
}


@pytest.fixture
def core(tmp_path: Path, log_dir: Path, db_url: str) -> Iterator[App]:
    app = open_app(
        make_settings(
            tmp_path,
            log_dir,
            database_url=db_url,
            triage={"services": SERVICES},
            incidents={"resolve_grace_s": 300, "reopen_window_s": 3600},
        ),
        import_mcp=False,
    )
    try:
        yield app
    finally:
        app.close()


def firing(name: str, status: str = "firing", at: datetime = T0, **labels: str) -> dict[str, Any]:
    return {"name": name, "labels": labels, "status": status, "starts_at": at.isoformat()}


def post(core: App, *alerts: dict[str, Any], at: datetime = T0) -> bool:
    delivery = accept(core, "generic", json.dumps(list(alerts)).encode(), "test")
    return assign(core, delivery.delivery_id, at)


def incidents(core: App) -> list[Any]:
    with core.engine.connect() as conn:
        return list(conn.execute(select(INCIDENTS).order_by(INCIDENTS.c.id)))


def alerts(core: App) -> dict[str, Any]:
    with core.engine.connect() as conn:
        return {json.loads(r.labels_json).get("service") or r.name: r for r in conn.execute(select(ALERTS))}


def timeline(core: App, incident_id: int) -> list[tuple[str, str]]:
    with core.engine.connect() as conn:
        rows = conn.execute(select(EVENTS.c.kind, EVENTS.c.text).where(EVENTS.c.incident_id == incident_id))
        return [(r.kind, r.text) for r in rows]


def test_resends_update_the_alert_and_open_one_incident_with_one_investigation(core: App) -> None:
    for n in range(5):
        post(core, firing("HighLatency", service="orders-api", instance="web-1:8080"), at=T0 + timedelta(seconds=n))
    (inc,) = incidents(core)
    assert inc.status == "open" and inc.title.startswith("HighLatency")
    assert alerts(core)["orders-api"].received_count == 5
    with core.engine.connect() as conn:
        queued = conn.execute(select(INVESTIGATIONS).where(INVESTIGATIONS.c.incident_id == inc.id)).all()
    assert len(queued) == 1 and queued[0].kind == "initial"
    assert queued[0].not_before.replace(tzinfo=UTC) == T0 + timedelta(seconds=10)  # the settle time


def test_a_redelivered_delivery_is_assigned_once(core: App) -> None:
    delivery = accept(core, "generic", json.dumps(firing("X", host="h1")).encode(), "test")
    assert assign(core, delivery.delivery_id, T0) is True
    assert assign(core, delivery.delivery_id, T0) is False
    assert alerts(core)["X"].received_count == 1


def test_dependents_first_then_their_database_the_dependents_merge_into_it(core: App) -> None:
    post(core, firing("HighErrorRate", "firing", service="orders-api", instance="web-1:8080"))
    post(core, firing("HighErrorRate", "firing", service="cart", instance="web-2:8080"))
    assert len(incidents(core)) == 2
    post(core, firing("PostgresDown", "firing", service="orders-db", severity="critical"), at=T0 + timedelta(seconds=5))
    api, cart, db = incidents(core)
    assert (api.status, api.merged_into, cart.merged_into) == ("closed", db.id, db.id)
    assert db.severity == "critical" and db.root_target == "service:orders-db"
    assert {a.incident_id for a in alerts(core).values()} == {db.id}
    assert any(k == "merged" and f"#{db.id}" in t for k, t in timeline(core, api.id))
    absorbed = [t for k, t in timeline(core, db.id) if k == "absorbed"]
    assert len(absorbed) == 2 and "depends on orders-db" in absorbed[0]
    # A later dependent joins the database's incident directly, and says why.
    post(core, firing("HighLatency", service="orders-api", instance="web-9:8080"), at=T0 + timedelta(seconds=9))
    assert len(incidents(core)) == 3


def test_a_resolved_alert_for_an_unknown_fingerprint_is_stored_and_opens_nothing(core: App) -> None:
    post(core, firing("DiskFull", "resolved", host="db-9"))
    assert incidents(core) == [] and alerts(core)["DiskFull"].status == "resolved"


def test_a_silenced_alert_is_stored_and_opens_nothing(core: App) -> None:
    # A silence starts now (the wall clock), so the alert arrives after it began, not at the fixed T0.
    now = datetime.now(UTC)
    add_silence(
        core, ['service="orders-db"'], starts_at=None, ends_at=now + timedelta(hours=2), actor="bob", comment="maint"
    )
    post(core, firing("PostgresDown", at=now, service="orders-db"), at=now + timedelta(seconds=1))
    row = alerts(core)["orders-db"]
    assert incidents(core) == [] and row.silenced_by is not None and row.incident_id is None


def test_a_warning_on_a_target_with_an_open_critical_joins_it(core: App) -> None:
    post(core, firing("HostDown", host="db-9", severity="critical"))
    post(core, firing("DiskSlow", host="db-9", severity="warning"), at=T0 + timedelta(hours=2))
    assert len(incidents(core)) == 1 and alerts(core)["DiskSlow"].join_rule == "inhibited"


def test_resolve_after_grace_reopen_within_the_window_and_a_new_linked_incident_after_it(core: App) -> None:
    post(core, firing("DiskFull", host="db-9"))
    post(core, firing("DiskFull", "resolved", host="db-9"), at=T0 + timedelta(minutes=1))
    (inc,) = incidents(core)
    assert inc.resolve_after is not None and inc.status == "open"
    assert lifecycle.tick(core, T0 + timedelta(minutes=3)) == 0  # still within the grace period
    assert lifecycle.tick(core, T0 + timedelta(minutes=7)) == 1
    assert incidents(core)[0].status == "resolved"
    # Fires again within the reopen window: the same incident, a flap counted.
    post(core, firing("DiskFull", host="db-9", at=T0 + timedelta(minutes=20)), at=T0 + timedelta(minutes=20))
    (inc,) = incidents(core)
    assert (inc.status, inc.flaps) == ("open", 1) and inc.resolved_at is None
    assert "reopened" in [k for k, _ in timeline(core, inc.id)]
    # Resolved again, then past the reopen window: closed; firing after that is a new incident linked to it.
    post(core, firing("DiskFull", "resolved", host="db-9"), at=T0 + timedelta(minutes=21))
    lifecycle.tick(core, T0 + timedelta(minutes=30))
    lifecycle.tick(core, T0 + timedelta(hours=3))
    assert incidents(core)[0].status == "closed"
    post(core, firing("DiskFull", host="db-9", at=T0 + timedelta(hours=4)), at=T0 + timedelta(hours=4))
    old, new = incidents(core)
    assert new.previous_id == old.id and new.status == "open"


def test_concurrent_deliveries_of_one_cause_open_one_incident(core: App) -> None:
    deliveries = [
        accept(core, "generic", json.dumps(firing("Down", service="orders-db", instance=f"db-{n}:9187")).encode(), "t")
        for n in range(8)
    ]
    threads = [threading.Thread(target=assign, args=(core, d.delivery_id, T0)) for d in deliveries]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    (inc,) = incidents(core)
    with core.engine.connect() as conn:
        joined = conn.execute(select(ALERTS.c.incident_id)).scalars().all()
    assert joined == [inc.id] * 8


def test_people_merge_and_split_and_each_is_on_the_timeline(core: App) -> None:
    post(core, firing("A", host="h1"), firing("B", host="h2"))
    one, two = incidents(core)
    lifecycle.merge(core, two.id, one.id, "alice")
    with pytest.raises(lifecycle.IncidentConflict):
        lifecycle.merge(core, one.id, one.id, "alice")
    fingerprint = alerts(core)["B"].fingerprint
    new_id = lifecycle.split(core, one.id, [fingerprint], "bob")
    assert alerts(core)["B"].incident_id == new_id and alerts(core)["B"].join_rule == "split"
    with pytest.raises(lifecycle.IncidentConflict):
        lifecycle.split(core, new_id, [fingerprint], "bob")  # its only alert
    kinds = [k for k, _ in timeline(core, one.id)]
    assert "absorbed" in kinds and "split" in kinds
    lifecycle.acknowledge(core, one.id, "carol")
    assert incidents(core)[0].acknowledged_by == "carol"
    with pytest.raises(lifecycle.NoIncident):
        lifecycle.acknowledge(core, 999, "carol")


def test_a_batch_of_deliveries_gives_what_one_by_one_gives_and_skips_a_processed_one(core: App) -> None:
    from watchkeeper.incidents.assign import assign_many

    first = accept(core, "generic", json.dumps(firing("X", service="orders-api")).encode(), "t")
    assert assign(core, first.delivery_id, T0)
    rest = [
        accept(core, "generic", json.dumps(firing(name, **labels)).encode(), "t")
        for name, labels in (("Y", {"service": "cart"}), ("Z", {"service": "orders-db", "severity": "critical"}))
    ]
    done = assign_many(core, [first.delivery_id, *(d.delivery_id for d in rest)], T0 + timedelta(seconds=1))
    assert done == {d.delivery_id for d in rest}  # the first was processed already
    api, cart, db = incidents(core)
    assert (api.merged_into, cart.merged_into, db.merged_into) == (db.id, db.id, None)
    assert alerts(core)["orders-api"].received_count == 1


def test_a_merge_cancels_the_investigation_running_for_the_dependent(core: App) -> None:
    from sqlalchemy import update

    post(core, firing("HighErrorRate", service="orders-api"))
    with core.engine.begin() as conn:  # the investigator has claimed it
        conn.execute(update(INVESTIGATIONS).values(status="running"))
        conn.execute(update(INCIDENTS).values(status="investigating"))
    post(core, firing("PostgresDown", service="orders-db", severity="critical"), at=T0 + timedelta(seconds=5))
    with core.engine.connect() as conn:
        first, second = conn.execute(select(INVESTIGATIONS).order_by(INVESTIGATIONS.c.id)).all()
    # Its result would announce a diagnosis of a closed incident: cancelled, and the cause's is queued.
    assert (first.status, second.status) == ("cancelled", "queued") and "merged into" in (first.error or "")


def test_a_new_symptom_on_a_new_target_during_the_investigation_queues_one_follow_up(core: App) -> None:
    from sqlalchemy import update

    post(core, firing("PostgresDown", service="orders-db", severity="critical"))
    with core.engine.begin() as conn:
        conn.execute(update(INVESTIGATIONS).values(status="running"))
        conn.execute(update(INCIDENTS).values(status="investigating"))
    post(core, firing("HighErrorRate", service="orders-api"), at=T0 + timedelta(seconds=1))
    post(core, firing("HighLatency", service="cart"), at=T0 + timedelta(seconds=2))  # a follow-up is queued already
    with core.engine.connect() as conn:
        kinds = [(r.kind, r.status) for r in conn.execute(select(INVESTIGATIONS).order_by(INVESTIGATIONS.c.id))]
    assert kinds == [("initial", "running"), ("follow-up", "queued")]
    (inc,) = incidents(core)
    assert "new-symptom" not in [k for k, _ in timeline(core, inc.id)]  # no update before the diagnosis


def test_a_resolve_note_is_bounded_here_as_the_api_bounds_it(core: App) -> None:
    """The CLI resolves through the use case too: the same limit, not only the API's."""
    post(core, firing("DiskFull", host="db-9"))
    (inc,) = incidents(core)
    for bad in ("x" * (lifecycle.MAX_NOTE + 1), "a\x00b"):
        with pytest.raises(InputError, match=r"^note: at most 2000 characters, and no NUL"):
            lifecycle.resolve(core, inc.id, "alice", bad)
    assert incidents(core)[0].status == "open"
    lifecycle.resolve(core, inc.id, "alice", "x" * lifecycle.MAX_NOTE)
    assert incidents(core)[0].status == "resolved"


def test_an_alert_naming_no_target_opens_an_incident_titled_by_its_name_with_no_targets(core: App) -> None:
    post(core, firing("WatchdogMissing", team="sre"))
    (inc,) = incidents(core)
    assert inc.title == "WatchdogMissing"
    (listed,) = list_incidents(core.engine)
    assert listed["title"] == "WatchdogMissing" and listed["targets"] == [] and listed["alert_count"] == 1


def test_only_a_live_incident_is_acknowledged(core: App) -> None:
    post(core, firing("DiskFull", host="db-9"), firing("CertExpiry", host="web-1"))
    disk, cert = (inc.id for inc in incidents(core))
    lifecycle.merge(core, cert, disk, "alice")
    with pytest.raises(lifecycle.IncidentConflict, match=rf"^incident #{cert} was merged into #{disk}: acknowledge"):
        lifecycle.acknowledge(core, cert, "bob")
    lifecycle.resolve(core, disk, "alice")
    with pytest.raises(lifecycle.IncidentConflict, match=rf"^incident #{disk} is resolved already$"):
        lifecycle.acknowledge(core, disk, "bob")
