"""The investigator: runs a queued investigation of an incident once its settle time has passed.

Its input is the whole incident: one symptom per distinct target, the root target first and at most
`incidents.dependent_targets` of the others, each investigated as `wk investigate` would (triage, and
the model when one is configured), all within `incidents.investigation_timeout_s`. Whatever fails or
runs out of time is named in a partial report: the incident always ends `diagnosed`, never stuck.

Exactly one result per investigation: it moves queued -> running -> done|failed with compare-and-set
updates, so a delivery that comes back after a crash (kill -9 mid-investigation) runs it again from
the start, and an answer that comes too late changes nothing.

When its reports name the target of another live incident (orders-api's log: "connection refused to
orders-db:5432"), the two incidents are linked on both timelines: a dependency the triage discovered.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select, update

from watchkeeper.bus.base import Bus
from watchkeeper.errors import first_line
from watchkeeper.evidence.facts import JournalErrors, LogErrors
from watchkeeper.evidence.report import Report, Symptom
from watchkeeper.i18n import N_, Phrase
from watchkeeper.incidents.investigate import investigate, wants_model
from watchkeeper.incidents.records import (
    ALERTS,
    EVENTS,
    INCIDENTS,
    INVESTIGATIONS,
    LIVE,
    SYSTEM,
    note,
    now_utc,
    touch,
    utc,
)
from watchkeeper.oplog import loggable

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
    return first_line(result) if isinstance(result, BaseException) else result


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
    # Heard well within the lease: an investigation that goes unheard for it is taken over by another worker.
    every_s = min(5.0, app.settings.incidents.lease_s / 3)
    _wait_until(utc(row.not_before), heartbeat, stop, every_s)
    if not _claim(app, inv_id, incident_id):
        return False
    started = now_utc()
    deadline = time.monotonic() + app.settings.incidents.investigation_timeout_s
    entries: list[dict[str, Any]] = []
    reports: list[tuple[str, Report]] = []
    failures: list[dict[str, str]] = []
    beating = _Beating(heartbeat, every_s)
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
                reports.append((subject.target, got))
            else:
                failures.append({"target": subject.target, "error": got})
    finally:
        beating.stop()
    if failures:
        partial = _partial(incident_id, inv_id, failures, started)
        entries.append({"target": "", "alerts": [], "report": partial.model_dump(mode="json")})
    _finish(app, incident_id, inv_id, entries, reports, failures)
    return True


def _finish(
    app: App,
    incident_id: int,
    inv_id: int,
    entries: list[dict[str, Any]],
    reports: list[tuple[str, Report]],
    failures: list[dict[str, str]],
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
        said = Phrase.plain(title)
        if failures:
            partial = N_("partial diagnosis ({error}): {summary}")
            said = Phrase(message=partial, params={"error": error or "", "summary": title})
        note(conn, app.bus, incident_id, "diagnosed", SYSTEM, said, {"investigation_id": inv_id, "status": status})
        link_blamed(conn, app.bus, incident_id, reports)
        touch(conn, incident_id)
    told = loggable(said.english()[:300])
    log.info("incident #%d diagnosed (investigation #%d, %s): %s", incident_id, inv_id, status, told)


# -- dependencies the investigation discovered --------------------------------------------------

LOG_KINDS = frozenset({LogErrors.KIND, JournalErrors.KIND})
EXCERPT = 200
MIN_NAME = 3  # shorter names ("db", "a1") would match words that name nothing


@dataclass(frozen=True)
class Blame:
    """A report of this incident names the target of another live incident."""

    incident_id: int  # the other incident
    name: str  # its service or host, as that incident's alerts spell it
    source: str  # the target whose report names it
    from_logs: bool
    evidence: str  # the words that name it, at most EXCERPT characters


def link_blamed(conn: Connection, bus: Bus, incident_id: int, reports: Sequence[tuple[str, Report]]) -> list[int]:
    """Link this incident to each other live incident whose target its reports blame, once per pair: a
    `linked` entry on both timelines with the words that name it. Returns the incidents it linked."""
    if not reports:
        return []
    names = _target_names(conn, incident_id)
    own = {n.casefold() for n in names.pop(incident_id, {})}
    earlier = conn.execute(
        select(EVENTS.c.data_json).where(EVENTS.c.incident_id == incident_id, EVENTS.c.kind == "linked")
    ).scalars()
    linked = {json.loads(d).get("incident") for d in earlier}
    others = {i: n for i, n in names.items() if i not in linked}
    found = blamed(reports, own, others)
    for b in found:
        verb = "logs blame" if b.from_logs else "investigation names"
        here = f"{b.source}'s {verb} {b.name} (incident #{b.incident_id})"
        there = f"{b.source}'s {verb} {b.name}, this incident's target (in incident #{incident_id})"
        note(conn, bus, incident_id, "linked", SYSTEM, here, {"incident": b.incident_id, "evidence": b.evidence})
        note(conn, bus, b.incident_id, "linked", SYSTEM, there, {"incident": incident_id, "evidence": b.evidence})
    return [b.incident_id for b in found]


def blamed(reports: Sequence[tuple[str, Report]], own: set[str], others: dict[int, dict[str, bool]]) -> list[Blame]:
    """The first words of the reports that name each other incident's target (`others`: its names, True
    for a host). A service counts as a whole token (`orders-db`, `orders-db:5432`), a host only with a
    port (`10.0.0.5:5432`); names of this incident's own targets (`own`, casefolded) and short ones never."""
    patterns = [
        (inc, name, _name_pattern(name, is_host))
        for inc, names in others.items()
        for name, is_host in names.items()
        if len(name) >= MIN_NAME and name.casefold() not in own
    ]
    found: dict[int, Blame] = {}
    for target, report in reports:
        source = target.partition(":")[2] or target
        for text, from_logs in _texts(report):
            for inc, name, pattern in patterns:
                if inc not in found and (m := pattern.search(text)):
                    found[inc] = Blame(inc, name, source, from_logs, _excerpt(text, m))
    return list(found.values())


def _target_names(conn: Connection, incident_id: int) -> dict[int, dict[str, bool]]:
    """The services and hosts (True) of this incident's and every other live incident's alerts."""
    live = INCIDENTS.c.status.in_(LIVE) & INCIDENTS.c.merged_into.is_(None)
    rows = conn.execute(
        select(ALERTS.c.incident_id, ALERTS.c.target_json)
        .distinct()
        .join(INCIDENTS, INCIDENTS.c.id == ALERTS.c.incident_id)
        .where(live | (INCIDENTS.c.id == incident_id))
    )
    names: dict[int, dict[str, bool]] = {}
    for inc, target_json in rows:
        target = json.loads(target_json)
        of = names.setdefault(inc, {})
        if target.get("host"):
            of.setdefault(target["host"], True)
        if target.get("service"):
            of[target["service"]] = False  # a service may be named without its port
    return names


def _name_pattern(name: str, is_host: bool) -> re.Pattern[str]:
    # Whole tokens only: not orders-db-replica, not 10.0.0.55, not a.orders-db; a sentence's full stop may follow.
    tail = r":\d{1,5}(?!\d)" if is_host else r"(?![\w-]|\.\w)"
    return re.compile(rf"(?<![\w.-]){re.escape(name)}{tail}", re.IGNORECASE)


def _texts(report: Report) -> Iterator[tuple[str, bool]]:
    """The words of a report that may name a dependency, and whether they come from a log."""
    for f in report.findings:
        # The log line itself first: the finding's message shows its template, where a port is <NUM>.
        example = f.data.get("example") if isinstance(f.data, dict) else getattr(f.data, "example", None)
        for text in (example, f.message):
            if isinstance(text, str):
                yield text, f.kind in LOG_KINDS
    for h in report.hypotheses:
        for text in (*h.evidence, h.title, h.explanation):
            yield text, False


def _excerpt(text: str, m: re.Match[str]) -> str:
    """At most EXCERPT characters of the text around the name, on one line."""
    start = max(0, min(m.start() - EXCERPT // 2, len(text) - EXCERPT))
    return " ".join(text[start : start + EXCERPT].split())


def _wait_until(when: datetime, heartbeat: Heartbeat, stop: threading.Event, every_s: float) -> None:
    while (left := (when - now_utc()).total_seconds()) > 0:
        if stop.wait(min(left, every_s)):
            raise Interrupted("the manager is stopping")
        heartbeat()


class _Beating:
    """Tells the bus the investigation is alive every few seconds, from a thread of its own."""

    def __init__(self, heartbeat: Heartbeat, every_s: float) -> None:
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
