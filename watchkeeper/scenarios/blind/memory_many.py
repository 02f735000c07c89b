from __future__ import annotations

from typing import Any

from watchkeeper.scenarios.base import Truth
from watchkeeper.scenarios.blind import NODE, BlindScenario, spawn
from watchkeeper.scenarios.world import World, alert_payload


class MemoryMany(BlindScenario):
    name = "blind_memory_many"
    description = "Fourteen pdf_render processes of 80 MiB each: no single one is big, together 1.1 GiB."
    fault_class = "memory"

    def setup(self, world: World) -> None:
        spawn(world, "hold", "db_cache", "--limit-mb", "250")  # decoy: the biggest single process
        for _ in range(14):
            spawn(world, "hold", "pdf_render", "--limit-mb", "80", log=False)

    def alert(self, world: World) -> dict[str, Any]:
        return alert_payload({"alertname": "HostMemoryUnderMemoryPressure", **NODE, "severity": "warning"}, age_s=300)

    def truth(self, world: World) -> Truth:
        return Truth("memory", "process", "pdf_render", "restart_service", "mutating")
