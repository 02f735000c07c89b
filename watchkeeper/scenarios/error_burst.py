from __future__ import annotations

import time
from typing import Any

from watchkeeper.scenarios.base import Scenario, Truth
from watchkeeper.scenarios.world import World, alert_payload, free_port


class ErrorBurst(Scenario):
    name = "error_burst"
    description = "The billing API starts throwing a new exception right after a config change."

    def setup(self, world: World) -> None:
        self.port = free_port()
        world.backfill("billing", [f"INFO GET /charge/{i} 200 {i % 20 + 5}ms" for i in range(120)])
        world.spawn("api", "billing", "--break-after", "1.0", port=self.port)
        world.spawn("load", "loadgen", "--url", f"http://127.0.0.1:{self.port}/charge", "--concurrency", "2", log=False)
        time.sleep(3)

    def alert(self, world: World) -> dict[str, Any]:
        return alert_payload(
            {
                "alertname": "HighErrorRate",
                "job": "billing",
                "service": "billing",
                "instance": f"127.0.0.1:{self.port}",
            },
            age_s=2,
        )

    def truth(self, world: World) -> Truth:
        return Truth("application", "service", "billing", "restart_service", "mutating")
