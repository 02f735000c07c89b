"""What failed to go out, kept in `<data_dir>/outbox/`, and how `wk notify retry` finds its target again.

An entry holds the redacted report and its target's reference (`env:NAME` / `file:PATH`) when it
was configured that way — resolved again at retry time — or else a SHA-256 fingerprint of the
target URL, matched against the configured targets (`notify.urls`, plus any given to the command):
the token never touches the disk, and an entry whose target is no longer configured stays put.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from watchkeeper.config import resolve_secret
from watchkeeper.errors import ConfigError
from watchkeeper.evidence.report import Report
from watchkeeper.notify.deliver import Delivery, Job, fingerprint


@dataclass
class Resend:
    """The outbox, sorted into what can be resent and what cannot (with why)."""

    jobs: list[Job]
    stuck: list[Delivery]


def _targets_by_fingerprint(candidates: list[str]) -> dict[str, str]:
    found = {}
    for configured in candidates:
        try:
            found[fingerprint(resolve_secret(configured))] = configured
        except ConfigError:
            continue  # an unreadable reference cannot match anything now
    return found


def resend(outbox: Path, candidates: list[str]) -> Resend:
    by_fingerprint = _targets_by_fingerprint(candidates)
    plan = Resend([], [])
    for path in sorted(outbox.glob("*.json")) if outbox.is_dir() else []:
        try:
            entry = json.loads(path.read_text())
            report = Report.model_validate(entry["report"])
        except (OSError, ValueError, KeyError, TypeError, ValidationError) as exc:
            why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            plan.stuck.append(Delivery(path.stem, "?", False, 0, f"{path} is not a readable outbox entry: {why}"))
            continue
        target = entry.get("ref") or by_fingerprint.get(entry.get("fingerprint") or "")
        if target is None:
            why = "its target is not among the configured ones (notify.urls, or give it as TARGET)"
            plan.stuck.append(Delivery(report.id, str(entry.get("target", "?")), False, 0, why, str(path)))
            continue
        plan.jobs.append(Job(report, target, kept=path))
    return plan
