"""Deliver reports to targets, all at once, each with retries and backoff; what still fails is kept on disk.

A target is kept as configured: a URL, or an `env:NAME` / `file:PATH` reference to one. The outbox
never stores a URL (it holds tokens): an entry names its target by that reference when there is
one, else by a SHA-256 fingerprint of the URL, which `wk notify retry` matches against the
configured targets (see `outbox.py`).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from watchkeeper.config import NotifySettings, resolve_secret
from watchkeeper.errors import ConfigError, first_line
from watchkeeper.evidence.report import Report
from watchkeeper.notify.senders import DeliveryError, sender_for, shown
from watchkeeper.redact import redact, redact_text

MAX_PARALLEL = 16  # deliveries in flight at once: each mostly waits on the network


@dataclass(frozen=True)
class Job:
    report: Report
    target: str  # as configured: a URL or an env:/file: reference to one
    kept: Path | None = None  # the outbox entry this job resends


@dataclass
class Delivery:
    report_id: str
    target: str  # as shown: no tokens
    ok: bool
    attempts: int
    error: str | None = None
    kept_at: str | None = None  # the outbox file of a failed delivery


def reference(configured: str) -> str | None:
    """The configured target when it only names where the URL is (safe to store and show)."""
    return configured if configured.startswith(("env:", "file:")) else None


def fingerprint(url: str) -> str:
    return "sha256:" + hashlib.sha256(url.encode()).hexdigest()


def keep(outbox: Path, job: Job, url: str | None, delivery: Delivery) -> Path:
    """A failed delivery's report, redacted, with how to find its target again and why it failed."""
    ref = reference(job.target)
    found_by = fingerprint(url) if url else None
    key = hashlib.sha256((ref or found_by or job.target).encode()).hexdigest()[:12]
    path = job.kept or outbox / f"{job.report.id}-{key}.json"
    entry = {
        "target": delivery.target,
        "ref": ref,
        "fingerprint": found_by,
        "error": delivery.error,
        "attempts": delivery.attempts,
        "failed_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "report": redact(job.report.model_dump(mode="json")),
    }
    outbox.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(entry, indent=1, ensure_ascii=False, default=str))
    os.replace(tmp, path)  # a reader never sees half an entry
    return path


def deliver_one(report: Report, url: str, cfg: NotifySettings) -> tuple[bool, int, str | None]:
    """(delivered, attempts, last error): retries what may pass later, with a doubling delay."""
    delay = cfg.backoff_s
    for attempt in range(1, cfg.retries + 1):
        try:
            sender_for(url).send(report, cfg.timeout_s)
            return True, attempt, None
        except DeliveryError as exc:
            if not exc.retry or attempt == cfg.retries:
                return False, attempt, redact_text(str(exc))
            time.sleep(delay)
            delay *= 2
        except Exception as exc:  # a sender's own fault (apprise's plugins): this target fails, no other
            return False, attempt, redact_text(first_line(exc))
    return False, 0, "no attempt was made"


def _run(job: Job, cfg: NotifySettings, outbox: Path | None) -> Delivery:
    url: str | None = None
    try:
        url = resolve_secret(job.target)
    except ConfigError as exc:  # the secret is unreadable now; a retry may find it
        delivery = Delivery(job.report.id, job.target, False, 0, str(exc))
    else:
        delivery = Delivery(job.report.id, shown(url), *deliver_one(job.report, url, cfg))
    if delivery.ok and job.kept:
        job.kept.unlink(missing_ok=True)
    elif not delivery.ok and outbox is not None:
        delivery.kept_at = str(keep(outbox, job, url, delivery))
    return delivery


def deliver(jobs: list[Job], cfg: NotifySettings, outbox: Path | None) -> list[Delivery]:
    """Every job at once (in their order): a dead target costs its own time, not everyone's.

    With an outbox, a failed delivery is kept there (a resent one updated in place) and a resent
    one that passed leaves it; without one (a test message) nothing is kept.
    """
    if not jobs:
        return []
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(jobs)), thread_name_prefix="wk-notify") as pool:
        return list(pool.map(lambda job: _run(job, cfg, outbox), jobs))


def jobs_for(reports: list[Report], targets: list[str]) -> list[Job]:
    return [Job(report, target) for report in reports for target in targets]
