"""The short message `wk notify test` sends: a report with nothing in it but a greeting, rendered like any other."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

from watchkeeper.evidence.report import Report, Symptom


def trial_report() -> Report:
    now = datetime.now(UTC)
    return Report(
        id=f"test-{now:%Y%m%d-%H%M%S}",
        summary=f"Test message from watchkeeper on {socket.gethostname()}: reports will arrive here.",
        symptom=Symptom(question="notification test"),
        started_at=now,
    )
