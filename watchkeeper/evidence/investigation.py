"""One investigation: runs skills through `invoke` (or serves them from a recording), keeps
every raw output, and collects findings.

Recording: `<data_dir>/investigations/<id>.json` holds the symptom and each call's params,
status, raw result and timing, so `wk investigate --replay ID` re-runs the analysis offline.
"""

from __future__ import annotations

import contextvars
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from watchkeeper.canonical import canonical_json
from watchkeeper.errors import InputError, WatchkeeperError
from watchkeeper.evidence.catalogue import Signature
from watchkeeper.evidence.report import CallRecord, Finding, Symptom
from watchkeeper.evidence.symptoms import Targets
from watchkeeper.i18n import _
from watchkeeper.inputs import read_json
from watchkeeper.policy.risk import Caller, Role
from watchkeeper.skills.invoke import Invoker

Progress = Callable[[str], None]
INVESTIGATION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


class RecordingError(WatchkeeperError):
    """A recorded investigation cannot be found or read."""


@dataclass
class RecordedCall:
    skill: str
    params: dict[str, Any]
    status: str
    result: Any
    error: str | None
    audit_id: int | None
    duration_ms: float
    at: float  # seconds since the investigation started: growth samples need real spacing


class Source(Protocol):
    """Where skill results come from: the host, through invoke, or a recording of an earlier run. The
    analysis is the same over either; only the source knows which it is."""

    live: bool  # a live source may run calls at once and must really wait between samples

    def run(self, skill: str, params: dict[str, Any], session_id: str, at: float) -> RecordedCall | None: ...


@dataclass
class LiveSource:
    invoker: Invoker
    live: bool = True

    def run(self, skill: str, params: dict[str, Any], session_id: str, at: float) -> RecordedCall:
        outcome = self.invoker.invoke(skill, params, Caller(Role.SYSTEM, user="triage", session_id=session_id))
        status = outcome.status.value
        return RecordedCall(
            skill, params, status, outcome.result, outcome.error, outcome.audit_id, outcome.duration_ms, at
        )


@dataclass
class RecordedSource:
    """The calls of a recording, each served once to the same skill and params, in any order."""

    calls: list[RecordedCall]
    live: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, skill: str, params: dict[str, Any], session_id: str, at: float) -> RecordedCall | None:
        key = canonical_json(params)
        with self._lock:
            for index, rec in enumerate(self.calls):
                if rec.skill == skill and canonical_json(rec.params) == key:
                    return self.calls.pop(index)
        return None


@dataclass
class Investigation:
    symptom: Symptom
    targets: Targets
    source: Source
    log_roots: list[Path]
    services: dict[str, Any]
    catalogue: list[Signature] = field(default_factory=list)
    id: str = field(default_factory=lambda: f"inv-{datetime.now(UTC):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}")
    progress: Progress = field(default=lambda _msg: None)
    calls: list[RecordedCall] = field(default_factory=list)
    findings: list[Finding[Any]] = field(default_factory=list)
    results: dict[str, Any] = field(default_factory=dict)  # named results gatherers share
    notes: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)  # what was looked at and what it showed, for the report
    started: float = field(default_factory=time.monotonic)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _once: dict[str, Any] = field(default_factory=dict)

    # -- running skills ------------------------------------------------------------------------

    def call(self, skill: str, **params: Any) -> Any:
        """Run one skill (or serve it from the recording); the raw result, or None if it did not succeed."""
        if self.source.live:
            self.progress(f"{skill} {canonical_json(params) if params else ''}".strip())
        record = self.source.run(skill, params, self.id, round(time.monotonic() - self.started, 3))
        if record is None:
            self.notes.append(
                _("replay: no recorded output for {skill} {params}").format(skill=skill, params=canonical_json(params))
            )
            return None
        with self._lock:
            self.calls.append(record)
        return record.result if record.status == "succeeded" else None

    def call_once(self, skill: str, **params: Any) -> Any:
        """A read several steps want (one process's detail): run once per investigation, then shared."""
        key = f"{skill} {canonical_json(params)}"
        if key not in self._once:
            self._once[key] = self.call(skill, **params)
        return self._once[key]

    def parallel(self, jobs: list[Callable[[], Any]]) -> list[Any]:
        """Independent steps at once (invoke itself bounds concurrency); a recording in order."""
        if len(jobs) <= 1 or not self.source.live:
            return [job() for job in jobs]
        # Each job runs in a copy of the caller's context: the language it speaks goes with it.
        contexts = [contextvars.copy_context() for _ in jobs]
        with ThreadPoolExecutor(max_workers=min(len(jobs), 4)) as pool:
            return list(pool.map(lambda pair: pair[0].run(pair[1]), zip(contexts, jobs, strict=True)))

    def sleep(self, seconds: float) -> None:
        if self.source.live:  # recorded samples keep their own spacing
            time.sleep(seconds)

    def sample_times(self, skill: str) -> list[float]:
        return [c.at for c in self.calls if c.skill == skill]

    # -- findings ------------------------------------------------------------------------------

    def audit_ids(self, skill: str) -> list[int]:
        return [c.audit_id for c in self.calls if c.skill == skill and c.audit_id is not None]

    def add(self, finding: Finding[Any]) -> None:
        with self._lock:
            self.findings.append(finding)

    def call_records(self) -> list[CallRecord]:
        return [
            CallRecord(skill=c.skill, status=c.status, audit_id=c.audit_id, duration_ms=c.duration_ms)
            for c in self.calls
        ]


def recording_path(data_dir: Path, inv_id: str) -> Path:
    return data_dir / "investigations" / f"{inv_id}.json"


def save_recording(data_dir: Path, inv: Investigation, report: dict[str, Any]) -> Path:
    path = recording_path(data_dir, inv.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "id": inv.id,
        "symptom": inv.symptom.model_dump(mode="json"),
        "log_roots": [str(p) for p in inv.log_roots],
        "services": inv.services,
        "calls": [c.__dict__ for c in inv.calls],
        "report": report,
    }
    partial = path.with_suffix(".partial")
    try:
        partial.write_text(json.dumps(payload, indent=1, default=str))
        partial.replace(path)  # a full disk leaves no truncated recording behind
    finally:
        partial.unlink(missing_ok=True)
    return path


def load_recording(data_dir: Path, inv_id: str) -> dict[str, Any]:
    # An id is a file name in the recordings directory, never a path that could lead out of it.
    if not INVESTIGATION_ID.fullmatch(inv_id):
        raise RecordingError(f"{inv_id} is not an investigation id (they look like inv-20260101-120000-ab12cd)")
    path = recording_path(data_dir, inv_id)
    if not path.exists():
        known = sorted(p.stem for p in path.parent.glob("*.json"))[-5:] if path.parent.exists() else []
        hint = f"; recent: {', '.join(known)}" if known else ""
        raise RecordingError(f"no recorded investigation {inv_id} in {path.parent}{hint}")
    try:
        data = read_json(path, f"recording {path}")
        data["calls"] = [RecordedCall(**c) for c in data["calls"]]
    except InputError as exc:
        raise RecordingError(str(exc)) from None
    except (TypeError, KeyError):
        raise RecordingError(f"recording {path} is damaged: its calls cannot be read") from None
    return dict(data)
