from __future__ import annotations

from typing import Any

import psutil

from watchkeeper.scenarios.base import Truth
from watchkeeper.scenarios.blind import NODE, BlindScenario, spawn
from watchkeeper.scenarios.world import World, alert_payload


class ThreadExplosion(BlindScenario):
    name = "blind_thread_explosion"
    description = "A feed poller starts a thread per retry and none ends: 1500 threads in one process."
    fault_class = "process"

    def setup(self, world: World) -> None:
        pid = spawn(world, "threads", "feed_poller", "--concurrency", "1500")
        world.wait_until(lambda: psutil.Process(pid).num_threads() >= 1500, 30, "the threads did not pile up")

    def alert(self, world: World) -> dict[str, Any]:
        return alert_payload({"alertname": "HostHighThreadCount", **NODE, "severity": "warning"}, age_s=600)

    def truth(self, world: World) -> Truth:
        return Truth("process", "process", "feed_poller", "restart_service", "mutating")
