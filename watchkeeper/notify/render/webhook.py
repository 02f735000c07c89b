"""The generic webhook: the Report as JSON with its raw values (JSON encoding is their escaping), redacted,
plus `title` and `text` as plain text for receivers that show a message."""

from __future__ import annotations

from typing import Any

from watchkeeper.evidence.report import Report
from watchkeeper.notify.render.text import text, title
from watchkeeper.redact import redact


def payload(report: Report) -> dict[str, Any]:
    return {"title": title(report), "text": text(report), "report": redact(report.model_dump(mode="json"))}
