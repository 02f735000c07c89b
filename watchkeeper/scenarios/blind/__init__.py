"""The blind fault suite (issue 12): real faults written from the issue's catalogue alone, without
reading the triage's rules, to measure how far the triage generalises. One scenario per module."""

from __future__ import annotations

from typing import Any

from watchkeeper.scenarios.base import Scenario
from watchkeeper.scenarios.world import World

PROGRAMS = "watchkeeper.scenarios.blind.programs"
# node-exporter's own labels: the instance is the exporter on this host, not a service.
NODE = {"job": "node", "instance": "localhost:9100"}


def blackbox(target: str, module: str = "http_2xx") -> dict[str, str]:
    """A blackbox-exporter probe's labels: the instance is the probed target."""
    return {"job": "blackbox", "instance": target, "module": module}


def spawn(world: World, mode: str, name: str, *args: str, **kwargs: Any) -> int:
    """Start one of the blind set's programs (they reap their children on SIGTERM)."""
    return world.spawn(mode, name, *args, program=PROGRAMS, term_first=True, **kwargs)


class BlindScenario(Scenario):
    suite = "blind"
