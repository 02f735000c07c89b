from __future__ import annotations

import signal
from typing import Any

from watchkeeper.scenarios.base import Truth
from watchkeeper.scenarios.blind import BlindScenario, blackbox
from watchkeeper.scenarios.world import World, alert_payload, free_port


class ListenerDown(BlindScenario):
    name = "blind_listener_down"
    description = "The inventory API died; blackbox's probe of its URL is refused (no service label anywhere)."
    fault_class = "network"

    def setup(self, world: World) -> None:
        self.port = free_port()
        world.backfill("inventory", [f"INFO GET /items/{i} 200 {i % 11 + 3}ms" for i in range(90)])
        pid = world.spawn("api", "inventory", port=self.port)
        world.stop(pid, signal.SIGKILL)

    def alert(self, world: World) -> dict[str, Any]:
        return alert_payload(
            {
                "alertname": "BlackboxProbeFailed",
                **blackbox(f"http://127.0.0.1:{self.port}/health"),
                "severity": "critical",
            }
        )

    def truth(self, world: World) -> Truth:
        return Truth("network", "service", "inventory", "restart_service", "mutating")
