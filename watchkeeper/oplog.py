"""The manager's own log on stderr (journald keeps it under systemd): one line for each thing an operator
looks for at 3 a.m. — an incident opened, reopened, diagnosed, resolved; a message sent or given up on;
an alert post refused — each written once its transaction has committed. Text that came from alerts is
untrusted: `loggable` keeps it on its line and masks secrets before it leaves the process."""

from __future__ import annotations

import logging

from watchkeeper.oneline import plain_line
from watchkeeper.redact import redact

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_to_stderr(level: str) -> None:
    """The manager's and its workers' lines on stderr at `level` (server.log_level)."""
    logging.basicConfig(level=level.upper(), format=FORMAT)


def loggable(text: str) -> str:
    return plain_line(redact(text))
