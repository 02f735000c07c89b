"""What a scenario declares: how to break this machine, the alert it raises (or the question an
operator asks), and the ground truth."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from watchkeeper.evidence.report import CATEGORIES
from watchkeeper.scenarios.world import World

Suite = Literal["original", "blind"]
# The fault classes are the report's fixed categories: both sets are scored on them.
FAULT_CLASSES = CATEGORIES


@dataclass(frozen=True)
class Truth:
    category: str  # one of FAULT_CLASSES
    culprit_kind: str
    culprit: str  # the culprit's name (process, service), path, port or url, resolved at run time
    remediation_skill: str | None  # None: a manual step is right
    remediation_class: str


class Scenario:
    name: str = ""
    description: str = ""
    suite: Suite = "original"
    fault_class: str = ""  # one of FAULT_CLASSES
    simulated: bool = False  # the fault cannot be produced safely here: only its evidence is faked

    def setup(self, world: World) -> None:
        raise NotImplementedError

    def alert(self, world: World) -> dict[str, Any]:
        """The Alertmanager payload: only labels a real rule would carry, nothing naming the culprit."""
        raise NotImplementedError

    def question(self, world: World) -> str | None:
        """What an operator asks instead of an alert (None: the scenario raises its alert)."""
        return None

    def truth(self, world: World) -> Truth:
        raise NotImplementedError
