"""The one error a sender's payload can earn: it names the field, so a 400 answer says what to fix."""

from __future__ import annotations

from watchkeeper.errors import WatchkeeperError


class PayloadError(WatchkeeperError):
    """An alert payload of the wrong shape; `field` is its path, e.g. `alerts[3].labels.severity`."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")
