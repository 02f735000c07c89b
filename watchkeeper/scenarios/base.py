"""What a scenario declares: how to break this machine, the alert it raises, and the ground truth."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from watchkeeper.scenarios.world import World


@dataclass(frozen=True)
class Truth:
    category: str
    culprit_kind: str
    culprit: str  # the culprit's name (process, service), path, port or url, resolved at run time
    remediation_skill: str | None  # None: a manual step is right
    remediation_class: str


class Scenario:
    name: str = ""
    description: str = ""

    def setup(self, world: World) -> None:
        raise NotImplementedError

    def alert(self, world: World) -> dict[str, Any]:
        """The Alertmanager payload: only labels a real rule would carry, nothing naming the culprit."""
        raise NotImplementedError

    def truth(self, world: World) -> Truth:
        raise NotImplementedError
