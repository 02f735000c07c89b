"""The investigator: runs a queued investigation of an incident once its settle time has passed.

Its input is the whole incident: one symptom per distinct target, the root target first and at most
`incidents.dependent_targets` of the others, each investigated as `wk investigate` would (triage, and
the model when one is configured), all within `incidents.investigation_timeout_s`. Whatever fails or
runs out of time is named in a partial report: the incident always ends `diagnosed`, never stuck.

Exactly one result per investigation: it moves queued -> running -> done|failed with compare-and-set
updates, so a delivery that comes back after a crash (kill -9 mid-investigation) runs it again from
the start, and an answer that comes too late changes nothing.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from watchkeeper.evidence.report import Report, Symptom
from watchkeeper.incidents.investigate import investigate, wants_model
from watchkeeper.incidents.records import ALERTS, INCIDENTS, INVESTIGATIONS, SYSTEM, note, now_utc, touch, utc

if TYPE_CHECKING:
    from watchkeeper.app import App

log = logging.getLogger(__name__)
Heartbeat = Callable[[], object]


class Interrupted(Exception):
    """The manager is stopping: the investigation is left for the next start."""


@dataclass
class Subject:
    """One target of the incident to investigate, and the alerts it covers."""

    target: str
    symptom: Symptom
    alerts: list[str] = field(default_factory=list)


def subjects(app: App, incident_id: int) -> list[Subject]:
    """One per distinct target, the root first, then the others by when they joined (at most N of them)."""
    with app.engine.connect() as conn:
        root = conn.execute(select(INCIDENTS.c.root_target).where(INCIDENTS.c.id == incident_id)).scalar_one()
        rows = conn.execute(
            select(ALERTS).where(ALERTS.c.incident_id == incident_id).order_by(ALERTS.c.first_seen_at, ALERTS.c.id)
        ).all()
    by_target: dict[str, Subject] = {}
    for r in rows:
        if r.target_key not in by_target:
            labels, annotations = json.loads(r.labels_json), json.loads(r.annotations_json)
            symptom = Symptom(alertname=r.name, labels=labels, annotations=annotations, starts_at=utc(r.starts_at))
            by_target[r.target_key] = Subject(r.target_key, symptom)
        by_target[r.target_key].alerts.append(r.fingerprint)
    ordered = sorted(by_target.values(), key=lambda s: s.target != root)  # stable: the root first
    return ordered[: 1 + app.settings.incidents.dependent_targets]


def _claim(app: App, inv_id: int, incident_id: int) -> bool:
    """queued (or running: a crashed attempt) -> running; False when it ended already or was cancelled."""
    now = now_utc()
    with app.engine.begin() as conn:
        claimed = conn.execute(
            update(INVESTIGATIONS)
            .where(INVESTIGATIONS.c.id == inv_id, INVESTIGATIONS.c.status.in_(("queued", "running")))
            .values(status="running", started_at=now, attempts=INVESTIGATIONS.c.attempts + 1)
        ).rowcount
        if claimed != 1:
            return False
        attempts = conn.execute(select(INVESTIGATIONS.c.attempts).where(INVESTIGATIONS.c.id == inv_id)).scalar_one()
        conn.execute(
            update(INCIDENTS)
            .where(INCIDENTS.c.id == incident_id, INCIDENTS.c.status == "open")
            .values(status="investigating", updated_at=now)
        )
        said = "investigation started" if attempts == 1 else f"investigation restarted (attempt {attempts})"
        note(conn, app.bus, incident_id, "investigating", SYSTEM, said, {"investigation_id": inv_id})
    return True


def _run_one(app: App, subject: Subject, deadline: float) -> Report | str:
    """One target's report, or why there is none (it failed, or the time ran out)."""
    outcome: list[Report | BaseException] = []

    def work() -> None:
        try:
            use_model = wants_model(app.settings, None, "an incident investigation")
            outcome.append(investigate(app, subject.symptom, use_model=use_model))
        except Exception as exc:  # reported on the incident, never raised into the worker
            outcome.append(exc)

    # A daemon thread: a triage that outlives the deadline is abandoned, not waited for.
    worker = threading.Thread(target=work, name=f"wk-investigate-{subject.target}", daemon=True)
    worker.start()
    worker.join(max(0.0, deadline - time.monotonic()))
    if not outcome:
        return "it did not finish within the investigation's time limit"
    result = outcome[0]
    if isinstance(result, BaseException):
        text = str(result).splitlines()[0] if str(result) else ""
        return f"{result.__class__.__name__}: {text}" if text else result.__class__.__name__
    return result


def _partial(incident_id: int, inv_id: int, failures: list[dict[str, str]], started: datetime) -> Report:
    said = "; ".join(f"{f['target']}: {f['error']}" for f in failures)
    return Report(
        id=f"incident-{incident_id}-investigation-{inv_id}",
        summary=f"The investigation did not complete: {said}",
        symptom=Symptom(question=f"incident #{incident_id}"),
        started_at=started,
        partial=True,
        notes=[f"{f['target']}: {f['error']}" for f in failures],
    )


def run(app: App, incident_id: int, inv_id: int, heartbeat: Heartbeat, stop: threading.Event) -> bool:
    """Run one queued investigation (waiting for its settle time first); False if there was nothing to run."""
    with app.engine.connect() as conn:
        row = conn.execute(select(INVESTIGATIONS).where(INVESTIGATIONS.c.id == inv_id)).first()
    if row is None or row.status not in ("queued", "running"):
        return False
    _wait_until(utc(row.not_before), heartbeat, stop)
    if not _claim(app, inv_id, incident_id):
        return False
    started = now_utc()
    deadline = time.monotonic() + app.settings.incidents.investigation_timeout_s
    entries: list[dict[str, Any]] = []
    failures: list[dict[str, str]] = []
    beating = _Beating(heartbeat)
    try:
        for subject in subjects(app, incident_id):
            if time.monotonic() >= deadline:
                failures.append({"target": subject.target, "error": "not started: the time limit was reached"})
                continue
            got = _run_one(app, subject, deadline)
            if isinstance(got, Report):
                entries.append(
                    {"target": subject.target, "alerts": subject.alerts, "report": got.model_dump(mode="json")}
                )
            else:
                failures.append({"target": subject.target, "error": got})
    finally:
        beating.stop()
    if failures:
        partial = _partial(incident_id, inv_id, failures, started)
        entries.append({"target": "", "alerts": [], "report": partial.model_dump(mode="json")})
    _finish(app, incident_id, inv_id, entries, failures)
    return True


def _finish(
    app: App, incident_id: int, inv_id: int, entries: list[dict[str, Any]], failures: list[dict[str, str]]
) -> None:
    # Failed: not one target got its own report (the partial report then only says why).
    status = "done" if len(entries) > (1 if failures else 0) else "failed"
    error = "; ".join(f"{f['target']}: {f['error']}" for f in failures) or None
    now = now_utc()
    with app.engine.begin() as conn:
        finished = conn.execute(
            update(INVESTIGATIONS)
            .where(INVESTIGATIONS.c.id == inv_id, INVESTIGATIONS.c.status == "running")
            .values(status=status, finished_at=now, reports_json=json.dumps(entries, ensure_ascii=False), error=error)
        ).rowcount
        if finished != 1:
            return  # ended another way meanwhile (cancelled by a merge): this result is not wanted
        conn.execute(
            update(INCIDENTS)
            .where(INCIDENTS.c.id == incident_id, INCIDENTS.c.status.in_(("open", "investigating")))
            .values(status="diagnosed", updated_at=now)
        )
        title = entries[0]["report"]["summary"] if entries else ""
        said = title if not failures else f"partial diagnosis ({error}): {title}"
        note(conn, app.bus, incident_id, "diagnosed", SYSTEM, said, {"investigation_id": inv_id, "status": status})
        touch(conn, incident_id)


def _wait_until(when: datetime, heartbeat: Heartbeat, stop: threading.Event) -> None:
    while (left := (when - now_utc()).total_seconds()) > 0:
        if stop.wait(min(left, 5.0)):
            raise Interrupted("the manager is stopping")
        heartbeat()


class _Beating:
    """Tells the bus the investigation is alive every few seconds, from a thread of its own."""

    def __init__(self, heartbeat: Heartbeat, every_s: float = 5.0) -> None:
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._beat, args=(heartbeat, every_s), daemon=True)
        self._thread.start()

    def _beat(self, heartbeat: Heartbeat, every_s: float) -> None:
        while not self._done.wait(every_s):
            try:
                heartbeat()
            except Exception as exc:  # the store is busy or down: the next beat tries again
                log.warning("investigation heartbeat failed: %s", exc)

    def stop(self) -> None:
        self._done.set()
        self._thread.join(5)
