from __future__ import annotations

import time
from typing import Any

from watchkeeper.scenarios.base import Truth
from watchkeeper.scenarios.blind import BlindScenario, blackbox, spawn
from watchkeeper.scenarios.world import World, alert_payload, free_port


class FdLimit(BlindScenario):
    name = "blind_fd_limit"
    description = "A message broker (nofile 256) opens a segment per message and never closes it: accept() fails."
    fault_class = "descriptors"

    def setup(self, world: World) -> None:
        self.port = free_port()
        world.backfill("msgbroker", [f"INFO rolled segment {i} for topic orders" for i in range(40)])
        spawn(world, "fdleak", "msgbroker", "--file", str(world.root / "broker-data"), "--limit", "256", port=self.port)
        time.sleep(3)

    def alert(self, world: World) -> dict[str, Any]:
        return alert_payload(
            {
                "alertname": "BlackboxProbeFailed",
                **blackbox(f"http://127.0.0.1:{self.port}/health"),
                "severity": "critical",
            }
        )

    def truth(self, world: World) -> Truth:
        return Truth("descriptors", "process", "msgbroker", "restart_service", "mutating")
