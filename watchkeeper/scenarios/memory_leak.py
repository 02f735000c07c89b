from __future__ import annotations

from typing import Any

from watchkeeper.scenarios.base import Scenario, Truth
from watchkeeper.scenarios.world import World, alert_payload


class MemoryLeak(Scenario):
    name = "memory_leak"
    description = "A report worker's RSS keeps growing (~20 MiB/s)."

    def setup(self, world: World) -> None:
        world.spawn("leak", "report_worker", "--rate-mb", "20", "--limit-mb", "1200")

    def alert(self, world: World) -> dict[str, Any]:
        return alert_payload(
            {"alertname": "HostOutOfMemory", "instance": "localhost:9100", "job": "node", "severity": "critical"}
        )

    def truth(self, world: World) -> Truth:
        return Truth("memory", "process", "report_worker", "kill_process", "mutating")
