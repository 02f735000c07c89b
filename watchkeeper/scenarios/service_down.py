from __future__ import annotations

import signal
from typing import Any

from watchkeeper.scenarios.base import Scenario, Truth
from watchkeeper.scenarios.world import World, alert_payload, free_port


class ServiceDown(Scenario):
    name = "service_down"
    description = "The orders API is killed; its port is closed."

    def setup(self, world: World) -> None:
        self.port = free_port()
        world.backfill("orders", [f"INFO GET /orders/{i} 200 {i % 30 + 4}ms" for i in range(80)])
        pid = world.spawn("api", "orders", port=self.port)
        world.stop(pid, signal.SIGKILL)

    def alert(self, world: World) -> dict[str, Any]:
        return alert_payload(
            {
                "alertname": "TargetDown",
                "job": "orders",
                "service": "orders",
                "instance": f"127.0.0.1:{self.port}",
                "severity": "critical",
            }
        )

    def truth(self, world: World) -> Truth:
        return Truth("network", "service", "orders", "restart_service", "mutating")
