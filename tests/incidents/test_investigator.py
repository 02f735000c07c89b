"""The investigator, driven directly: one investigation per incident over its targets (the root first),
a partial report whatever fails, exactly one result per investigation, follow-ups, and the links a
report's words make to other incidents. The triage is a quick stand-in except where its words matter."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from tests.conftest import make_settings
from tests.helpers import wait_for
from watchkeeper.app import App, open_app
from watchkeeper.evidence.report import Finding, Hypothesis, Report, Symptom
from watchkeeper.incidents import investigator
from watchkeeper.incidents.assign import assign
from watchkeeper.incidents.ingest import accept
from watchkeeper.incidents.records import ALERTS, EVENTS, INCIDENTS, INVESTIGATIONS, now_utc
from watchkeeper.incidents.runner import Runner

SERVICES = {
    "orders-db": {},
    "orders-api": {"depends_on": ["orders-db"]},
    "cart": {"depends_on": ["orders-db"]},
    "payments": {"depends_on": ["orders-db"]},
}


def open_core(tmp_path: Path, log_dir: Path, db_url: str, services: dict[str, Any], **incidents: Any) -> App:
    settings = make_settings(
        tmp_path,
        log_dir,
        database_url=db_url,
        triage={"services": services, "sample_seconds": 0.5},
        incidents={"settle_s": 0, **incidents},
    )
    return open_app(settings, import_mcp=False)


@pytest.fixture
def core(tmp_path: Path, log_dir: Path, db_url: str) -> Iterator[App]:
    app = open_core(tmp_path, log_dir, db_url, SERVICES)
    try:
        yield app
    finally:
        app.close()


@pytest.fixture
def quick(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A triage that answers at once, naming its alert's service; the services it was asked about, in order."""
    asked: list[str] = []

    def triage(app: App, symptom: Symptom, *, use_model: bool) -> Report:
        service = symptom.labels.get("service", "?")
        asked.append(service)
        return Report(
            id=f"r-{service}", summary=f"{symptom.alertname} on {service}", symptom=symptom, started_at=now_utc()
        )

    monkeypatch.setattr(investigator, "investigate", triage)
    return asked


def alert(name: str, **labels: str) -> dict[str, Any]:
    return {"name": name, "labels": labels}


def post(core: App, *alerts: dict[str, Any], at: datetime | None = None) -> None:
    delivery = accept(core, "generic", json.dumps(list(alerts)).encode(), "test")
    assert assign(core, delivery.delivery_id, at or now_utc())


def rows(core: App, table: Any, **where: Any) -> list[Any]:
    query = select(table).where(*(table.c[k] == v for k, v in where.items())).order_by(table.c.id)
    with core.engine.connect() as conn:
        return list(conn.execute(query))


def live_incident(core: App) -> Any:
    (inc,) = [i for i in rows(core, INCIDENTS) if i.merged_into is None]
    return inc


def run(core: App, inv: Any) -> bool:
    return investigator.run(core, inv.incident_id, inv.id, lambda: None, threading.Event())


def pending(core: App, incident_id: int) -> list[Any]:
    return [i for i in rows(core, INVESTIGATIONS, incident_id=incident_id) if i.status in ("queued", "running")]


def timeline(core: App, incident_id: int, kind: str) -> list[Any]:
    return rows(core, EVENTS, incident_id=incident_id, kind=kind)


def reports(inv_row: Any) -> list[dict[str, Any]]:
    return list(json.loads(inv_row.reports_json))


def storm(core: App) -> Any:
    """Dependents first (two alerts on orders-api), then their database: one incident rooted at orders-db."""
    now = now_utc() - timedelta(seconds=10)  # in the past: the investigation is due at once
    post(core, alert("HighErrorRate", service="orders-api", instance="web-1:8080"), at=now)
    post(core, alert("HighErrorRate", service="orders-api", instance="web-2:8080"), at=now + timedelta(seconds=1))
    post(core, alert("HighErrorRate", service="cart", instance="web-3:8080"), at=now + timedelta(seconds=2))
    post(core, alert("PostgresDown", service="orders-db", instance="db-1:9187"), at=now + timedelta(seconds=3))
    return live_incident(core)


# -- one investigation per incident --------------------------------------------------------------


def test_one_investigation_per_incident_the_root_first_each_report_with_its_alerts(core: App, quick: list[str]) -> None:
    inc = storm(core)
    assert inc.root_target == "service:orders-db"
    (inv,) = pending(core, inc.id)
    assert run(core, inv) is True
    assert quick == ["orders-db", "orders-api", "cart"]  # the root first, though its alert came last
    (done,) = rows(core, INVESTIGATIONS, incident_id=inc.id)
    assert (done.status, done.error, done.attempts) == ("done", None, 1)
    fingerprints: dict[str, list[str]] = {}
    for a in rows(core, ALERTS):
        fingerprints.setdefault(a.target_key, []).append(a.fingerprint)
    assert [(r["target"], r["alerts"]) for r in reports(done)] == [
        ("service:orders-db", fingerprints["service:orders-db"]),
        ("service:orders-api", fingerprints["service:orders-api"]),
        ("service:cart", fingerprints["service:cart"]),
    ]
    assert len(fingerprints["service:orders-api"]) == 2
    assert reports(done)[0]["report"]["summary"] == "PostgresDown on orders-db"
    assert live_incident(core).status == "diagnosed"
    (diagnosed,) = timeline(core, inc.id, "diagnosed")
    assert diagnosed.text == "PostgresDown on orders-db"
    # The investigations of the incidents folded into it were cancelled: they run nothing.
    folded = [i for i in rows(core, INVESTIGATIONS) if i.incident_id != inc.id]
    assert len(folded) == 2 and all(run(core, i) is False for i in folded)
    assert len(quick) == 3


def test_dependent_targets_limits_the_targets_after_the_root(
    tmp_path: Path, log_dir: Path, db_url: str, quick: list[str]
) -> None:
    core = open_core(tmp_path, log_dir, db_url, SERVICES, dependent_targets=1)
    try:
        inc = storm(core)
        (inv,) = pending(core, inc.id)
        assert run(core, inv) is True
        (done,) = rows(core, INVESTIGATIONS, incident_id=inc.id)
        assert [r["target"] for r in reports(done)] == ["service:orders-db", "service:orders-api"]
        assert quick == ["orders-db", "orders-api"]
    finally:
        core.close()


# -- whatever fails, the incident ends diagnosed with a partial report -----------------------------


def test_past_the_time_limit_the_incident_is_diagnosed_with_a_partial_report_naming_what_did_not_finish(
    tmp_path: Path, log_dir: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()

    def stuck(app: App, symptom: Symptom, *, use_model: bool) -> Report:
        release.wait(30)
        raise RuntimeError("released at the end of the test")

    monkeypatch.setattr(investigator, "investigate", stuck)
    # Long enough for the root's triage to start whatever the machine's load, which it then outlives.
    core = open_core(tmp_path, log_dir, db_url, SERVICES, investigation_timeout_s=0.5)
    try:
        inc = storm(core)
        (inv,) = pending(core, inc.id)
        assert run(core, inv) is True
        (failed,) = rows(core, INVESTIGATIONS, incident_id=inc.id)
        assert failed.status == "failed"
        assert failed.error.startswith("service:orders-db: it did not finish within the investigation's time limit")
        assert failed.error.endswith("; service:cart: not started: the time limit was reached")
        (entry,) = reports(failed)
        partial = entry["report"]
        assert partial["partial"] is True and entry["alerts"] == []
        named = [n.split(": ")[0] for n in partial["notes"]]
        assert named == ["service:orders-db", "service:orders-api", "service:cart"]
        assert live_incident(core).status == "diagnosed"
        (diagnosed,) = timeline(core, inc.id, "diagnosed")
        assert diagnosed.text.startswith("partial diagnosis (service:orders-db: it did not finish")
    finally:
        release.set()
        core.close()


def test_a_triage_that_raises_is_named_in_the_partial_report_and_the_others_still_count(
    core: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    def flaky(app: App, symptom: Symptom, *, use_model: bool) -> Report:
        if symptom.labels["service"] == "cart":
            raise RuntimeError("skill crashed\nwith a second line")
        return Report(id="r", summary=f"{symptom.alertname} seen", symptom=symptom, started_at=now_utc())

    monkeypatch.setattr(investigator, "investigate", flaky)
    inc = storm(core)
    (inv,) = pending(core, inc.id)
    assert run(core, inv) is True
    (done,) = rows(core, INVESTIGATIONS, incident_id=inc.id)
    assert (done.status, done.error) == ("done", "service:cart: RuntimeError: skill crashed")
    targets = [r["target"] for r in reports(done)]
    assert targets == ["service:orders-db", "service:orders-api", ""]  # the partial report last
    partial = reports(done)[-1]["report"]
    assert partial["partial"] is True and partial["notes"] == ["service:cart: RuntimeError: skill crashed"]
    assert live_incident(core).status == "diagnosed"


def test_a_triage_that_raises_everywhere_fails_the_investigation_but_never_leaves_it_investigating(
    core: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(app: App, symptom: Symptom, *, use_model: bool) -> Report:
        raise OSError("no route to the store")

    monkeypatch.setattr(investigator, "investigate", broken)
    post(core, alert("PostgresDown", service="orders-db"))
    inc = live_incident(core)
    (inv,) = pending(core, inc.id)
    assert run(core, inv) is True
    (failed,) = rows(core, INVESTIGATIONS, incident_id=inc.id)
    assert (failed.status, failed.error) == ("failed", "service:orders-db: OSError: no route to the store")
    assert reports(failed)[0]["report"]["summary"].startswith("The investigation did not complete")
    assert live_incident(core).status == "diagnosed"


# -- exactly one result per investigation ----------------------------------------------------------


def test_a_redelivery_after_it_finished_does_nothing(core: App, quick: list[str]) -> None:
    post(core, alert("PostgresDown", service="orders-db"))
    (inv,) = pending(core, live_incident(core).id)
    assert run(core, inv) is True
    assert run(core, inv) is False
    (done,) = rows(core, INVESTIGATIONS)
    assert done.attempts == 1 and len(reports(done)) == 1 and quick == ["orders-db"]
    assert len(timeline(core, inv.incident_id, "diagnosed")) == 1


def test_a_crashed_attempt_is_claimed_again_and_counted(core: App, quick: list[str]) -> None:
    post(core, alert("PostgresDown", service="orders-db"))
    (inv,) = pending(core, live_incident(core).id)
    with core.engine.begin() as conn:  # what a manager killed mid-investigation leaves behind
        conn.execute(update(INVESTIGATIONS).where(INVESTIGATIONS.c.id == inv.id).values(status="running", attempts=1))
    assert run(core, inv) is True
    (done,) = rows(core, INVESTIGATIONS)
    assert (done.status, done.attempts, len(reports(done))) == ("done", 2, 1)
    said = [e.text for e in timeline(core, inv.incident_id, "investigating")]
    assert said == ["investigation restarted (attempt 2)"]


# -- investigations at once ----------------------------------------------------------------------------


def test_two_incidents_are_investigated_at_once(
    tmp_path: Path, log_dir: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The runner's two investigators: each triage returns only once the other incident's is running too
    (with one investigator the first would wait in vain, fail, and leave the second a broken barrier)."""
    app = open_core(tmp_path, log_dir, db_url, SERVICES, investigators=2)
    both = threading.Barrier(2, timeout=30)

    def triage(app: App, symptom: Symptom, *, use_model: bool) -> Report:
        both.wait()
        return Report(id=f"r-{symptom.labels['service']}", summary="seen", symptom=symptom, started_at=now_utc())

    monkeypatch.setattr(investigator, "investigate", triage)
    runner = Runner(app)
    runner.start()
    try:
        for service in ("billing", "search"):
            accept(app, "generic", json.dumps([alert("HighLatency", service=service)]).encode(), "test")
        assert wait_for(lambda: {i.status for i in rows(app, INVESTIGATIONS)} == {"done"}, timeout=90)
        investigations = rows(app, INVESTIGATIONS)
        assert len(investigations) == 2 and len({i.incident_id for i in investigations}) == 2
        assert all(len(reports(i)) == 1 and i.attempts == 1 for i in investigations)
    finally:
        runner.stop()
        app.close()


# -- follow-ups ----------------------------------------------------------------------------------------


def test_a_new_symptom_on_a_new_target_after_the_diagnosis_queues_one_follow_up(core: App, quick: list[str]) -> None:
    post(core, alert("PostgresDown", service="orders-db", instance="db-1:9187"))
    inc = live_incident(core)
    (initial,) = pending(core, inc.id)
    assert run(core, initial) is True
    post(core, alert("HighLatency", service="cart", instance="web-3:8080"))
    (follow_up,) = pending(core, inc.id)
    assert follow_up.kind == "follow-up"
    (symptom,) = timeline(core, inc.id, "new-symptom")
    assert "HighLatency" in symptom.text and json.loads(symptom.data_json)["target"] == "service:cart"
    # Another new symptom while the follow-up waits: it joins, and the follow-up will cover it.
    post(core, alert("QueueBacklog", service="payments", instance="web-4:8080"))
    assert pending(core, inc.id) == [follow_up]
    assert len(timeline(core, inc.id, "new-symptom")) == 1
    assert run(core, follow_up) is True
    assert quick[1:] == ["orders-db", "cart", "payments"]
    # After the follow-up: a known name on a new target, a new name on a known target: nothing queued.
    post(core, alert("HighLatency", service="orders-api", instance="web-1:8080"))
    post(core, alert("DiskFull", service="orders-db", instance="db-2:9187"))
    assert pending(core, inc.id) == []
    kinds = [i.kind for i in rows(core, INVESTIGATIONS, incident_id=inc.id)]
    assert kinds == ["initial", "follow-up"] and len(timeline(core, inc.id, "new-symptom")) == 1


# -- dependencies the investigation discovers ---------------------------------------------------------

UNDECLARED: dict[str, Any] = {"orders-db": {}, "orders-api": {}}  # no depends_on: only the triage can tell


def _blame(text: str, own: frozenset[str] = frozenset({"orders-api", "web-1"})) -> list[str]:
    report = Report(
        id="r",
        summary="s",
        symptom=Symptom(),
        started_at=datetime.now(UTC),
        findings=[Finding(kind="log_errors", severity="warn", message=text)],
    )
    others = {7: {"orders-db": False, "10.0.0.5": True, "db": False, "web-1": True, "orders-db-replica": False}}
    return [b.name for b in investigator.blamed([("service:orders-api", report)], set(own), others)]


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("ERROR connection refused to orders-db:5432", ["orders-db"]),
        ("could not reach Orders-DB.", ["orders-db"]),
        ("connect to 10.0.0.5:5432 failed", ["10.0.0.5"]),
        ("connect to 10.0.0.55:5432 failed", []),  # another address
        ("10.0.0.5 is slow", []),  # a bare address: too loose
        ("orders-db-replica lags", ["orders-db-replica"]),  # itself, not orders-db
        ("db:5432 refused", []),  # too short a name
        ("web-1:8080 refused", []),  # this incident's own host
        ("my-orders-db.internal is fine", []),  # part of another name
    ],
)
def test_only_whole_names_of_other_incidents_targets_count_as_blame(text: str, names: list[str]) -> None:
    assert _blame(text) == names


def test_a_report_that_blames_another_incidents_target_links_both_once(
    tmp_path: Path, log_dir: Path, db_url: str
) -> None:
    core = open_core(tmp_path, log_dir, db_url, UNDECLARED)
    try:
        post(core, alert("PostgresDown", service="orders-db", instance="10.0.0.5:9187"))
        post(core, alert("HighErrorRate", service="orders-api", instance="web-1:8080"))
        post(core, alert("DiskFull", instance="db:9100"))  # a name too short to count
        db, api, _ = rows(core, INCIDENTS)
        line = "2026-11-29T03:00:01 ERROR connection refused to orders-db:5432 " + "x" * 300
        report = Report(
            id="r",
            summary="errors",
            symptom=Symptom(),
            started_at=now_utc(),
            findings=[Finding(kind="log_errors", severity="warn", message=line)],
            hypotheses=[Hypothesis(category="application", title="db is full on web-1", confidence=0.3)],
        )
        with core.engine.begin() as conn:
            assert investigator.link_blamed(conn, core.bus, api.id, [("service:orders-api", report)]) == [db.id]
        (mine,) = timeline(core, api.id, "linked")
        assert mine.text == f"orders-api's logs blame orders-db (incident #{db.id})"
        data = json.loads(mine.data_json)
        assert data["incident"] == db.id and "orders-db:5432" in data["evidence"] and len(data["evidence"]) <= 200
        (theirs,) = timeline(core, db.id, "linked")
        assert json.loads(theirs.data_json)["incident"] == api.id and f"#{api.id}" in theirs.text
        # A later investigation saying it again (from either side) links nothing more.
        with core.engine.begin() as conn:
            assert investigator.link_blamed(conn, core.bus, api.id, [("service:orders-api", report)]) == []
        assert len(timeline(core, api.id, "linked")) == 1 and len(timeline(core, db.id, "linked")) == 1
    finally:
        core.close()


def test_an_investigation_whose_logs_blame_another_incident_links_them(tmp_path: Path, log_dir: Path) -> None:
    log = log_dir / "orders-api.log"
    now = now_utc()
    ok = [f"{now - timedelta(minutes=5):%Y-%m-%dT%H:%M:%S} INFO GET /orders 200 in {n} ms" for n in range(20)]
    refused = [f"{now:%Y-%m-%dT%H:%M:%S} ERROR connection refused to orders-db:5432" for _ in range(5)]
    log.write_text("\n".join(ok + refused) + "\n")
    services = {**UNDECLARED, "orders-api": {"logs": [str(log)]}}
    core = open_core(tmp_path, log_dir, f"sqlite:///{tmp_path / 'ledger.db'}", services)
    try:
        post(core, alert("PostgresDown", service="orders-db"))
        post(core, alert("HighErrorRate", service="orders-api"))
        db, api = rows(core, INCIDENTS)
        (inv,) = pending(core, api.id)
        assert run(core, inv) is True
        (linked,) = timeline(core, api.id, "linked")
        assert linked.text == f"orders-api's logs blame orders-db (incident #{db.id})"
        assert "connection refused to orders-db:5432" in json.loads(linked.data_json)["evidence"]
        assert [json.loads(e.data_json)["incident"] for e in timeline(core, db.id, "linked")] == [api.id]
    finally:
        core.close()
