"""Deliver a report to every target with retries and backoff; what still fails is kept on disk."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from watchkeeper.config import NotifySettings, resolve_secret
from watchkeeper.evidence.report import Report
from watchkeeper.notify.senders import DeliveryError, sender_for, shown
from watchkeeper.redact import redact, redact_text


@dataclass
class Delivery:
    target: str  # as shown: no tokens
    ok: bool
    attempts: int
    error: str | None = None
    kept_at: str | None = None  # the outbox file of a failed delivery


def keep(outbox: Path, report: Report, target: str, error: str) -> Path:
    """A failed delivery's report, redacted, with where it was going and why it failed: never lost."""
    outbox.mkdir(parents=True, exist_ok=True)
    path = outbox / f"{report.id}-{len(list(outbox.glob(f'{report.id}-*.json'))) + 1}.json"
    path.write_text(
        json.dumps(
            {"target": target, "error": error, "report": redact(report.model_dump(mode="json"))}, indent=1, default=str
        )
    )
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
    return False, 0, "no attempt was made"


def deliver(report: Report, targets: list[str], cfg: NotifySettings, outbox: Path) -> list[Delivery]:
    results = []
    for raw in targets:
        url = resolve_secret(raw)
        target = shown(url)
        ok, attempts, error = deliver_one(report, url, cfg)
        kept = None if ok else str(keep(outbox, report, target, error or ""))
        results.append(Delivery(target, ok, attempts, error, kept))
    return results
