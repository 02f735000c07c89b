from __future__ import annotations

import time
from typing import Any

from watchkeeper.scenarios.base import Truth
from watchkeeper.scenarios.blind import NODE, BlindScenario, spawn
from watchkeeper.scenarios.world import World, alert_payload


class CpuShortLived(BlindScenario):
    name = "blind_cpu_short_lived"
    description = "A batch runner keeps two short-lived children (0.4 s each) burning CPU; none lives one sample."
    fault_class = "cpu"

    def setup(self, world: World) -> None:
        world.backfill("thumbd", [f"INFO thumbnails done: {i * 50}" for i in range(40)])
        spawn(world, "duty", "metrics_agent", "--duty", "0.15", log=False)  # decoy: busy, steady, normal
        spawn(world, "forker", "thumbd", "--child", "convert", "--concurrency", "2", "--hold", "0.4")
        time.sleep(2)

    def alert(self, world: World) -> dict[str, Any]:
        return alert_payload({"alertname": "HostHighCpuLoad", **NODE, "severity": "warning"}, age_s=120)

    def truth(self, world: World) -> Truth:
        return Truth("cpu", "process", "thumbd", "kill_process", "mutating")
