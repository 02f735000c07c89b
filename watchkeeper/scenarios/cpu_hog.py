from __future__ import annotations

from typing import Any

from watchkeeper.scenarios.base import Scenario, Truth
from watchkeeper.scenarios.world import World, alert_payload


class CpuHog(Scenario):
    name = "cpu_hog"
    description = "A worker named like a real one (image_process) spins on a core."

    def setup(self, world: World) -> None:
        world.backfill("image_process", [f"INFO resized image batch {i} in 812ms" for i in range(50)])
        world.spawn("hog", "image_process")

    def alert(self, world: World) -> dict[str, Any]:
        return alert_payload(
            {"alertname": "HostHighCpuLoad", "instance": "localhost:9100", "job": "node", "severity": "warning"}
        )

    def truth(self, world: World) -> Truth:
        return Truth("cpu", "process", "image_process", "kill_process", "mutating")
