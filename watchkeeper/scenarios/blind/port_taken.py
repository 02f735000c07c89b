from __future__ import annotations

import time
from typing import Any

from watchkeeper.scenarios.base import Truth
from watchkeeper.scenarios.blind import BlindScenario, blackbox, spawn
from watchkeeper.scenarios.world import World, alert_payload, free_port


class PortTaken(BlindScenario):
    name = "blind_port_taken"
    description = (
        "Someone's dev HTTP server took the gateway's port; the gateway's restarts fail to bind, probes get 404."
    )
    fault_class = "network"

    def setup(self, world: World) -> None:
        self.port = free_port()
        world.backfill("gateway", [f"INFO GET /api/v1/orders/{i} 200 {i % 9 + 4}ms" for i in range(90)])
        spawn(world, "devserver", "devserver", port=self.port, log=False)
        spawn(
            world,
            "supervise",
            "runsv",
            "--child",
            "gateway",
            "--child-mode",
            "bindfail",
            "--child-log",
            str(world.log_path("gateway")),
            "--hold",
            "1.0",
            "--port",
            str(self.port),
            log=False,
        )
        time.sleep(3)

    def alert(self, world: World) -> dict[str, Any]:
        return alert_payload(
            {
                "alertname": "BlackboxProbeHttpFailure",
                **blackbox(f"http://127.0.0.1:{self.port}/api/v1/health"),
                "severity": "critical",
            }
        )

    def truth(self, world: World) -> Truth:
        return Truth("network", "process", "devserver", "kill_process", "mutating")
