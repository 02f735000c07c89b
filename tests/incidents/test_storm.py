"""A storm with a known cause structure (orders-db down under its dependents over many instances, a
disk filling on db-9, an expiring certificate, memory short on cache-3; every group re-sent three
times) becomes the incidents of its causes: pairwise precision and recall of alert → incident
against the truth, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from bench.storm_data import make_storm, pairwise
from tests.conftest import make_settings
from watchkeeper.app import open_app
from watchkeeper.incidents.assign import assign
from watchkeeper.incidents.ingest import accept
from watchkeeper.incidents.records import ALERTS, INCIDENTS, INVESTIGATIONS


def test_a_storm_becomes_the_incidents_of_its_causes(tmp_path: Path, log_dir: Path, db_url: str) -> None:
    storm = make_storm(alerts=150, groups=30, resends=3, seed=7)
    assert sum(len(p["alerts"]) for p in storm.posts) <= 500
    services = {name: {"depends_on": deps} for name, deps in storm.services.items()}
    core = open_app(
        make_settings(tmp_path, log_dir, database_url=db_url, triage={"services": services}), import_mcp=False
    )
    try:
        for post in storm.posts:
            assign(core, accept(core, "alertmanager", json.dumps(post).encode(), "alertmanager").delivery_id)
        with core.engine.connect() as conn:
            merged = dict(conn.execute(select(INCIDENTS.c.id, INCIDENTS.c.merged_into)).all())
            assigned = dict(conn.execute(select(ALERTS.c.fingerprint, ALERTS.c.incident_id)).all())
            received = set(conn.execute(select(ALERTS.c.received_count)).scalars())
            queued = conn.execute(select(INVESTIGATIONS.c.incident_id, INVESTIGATIONS.c.status)).all()
    finally:
        core.close()
    live = {i for i, into in merged.items() if into is None}
    final = {fp: merged.get(i) or i for fp, i in assigned.items()}
    precision, recall, f1 = pairwise(storm.truth, final)
    assert (precision, recall) == (1.0, 1.0), f"precision {precision:.3f} recall {recall:.3f} f1 {f1:.3f}"
    assert len(live) == len(storm.causes) and received == {3}  # each alert sent three times, stored once
    # One investigation per live incident; those of incidents merged into their cause were cancelled.
    assert sorted(i for i, status in queued if status == "queued") == sorted(live)
    assert {status for i, status in queued if i not in live} <= {"cancelled"}
