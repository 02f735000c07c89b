from __future__ import annotations

import time
from typing import Any

from watchkeeper.scenarios.base import Scenario, Truth
from watchkeeper.scenarios.world import World, alert_payload, free_port


class SlowDependency(Scenario):
    name = "slow_dependency"
    description = "The storefront times out calling a pricing service that takes 3 s per request."

    def setup(self, world: World) -> None:
        self.dep_port, self.front_port = free_port(), free_port()
        world.backfill("storefront", [f'INFO "GET /product/{i}" 200 upstream_time=0.04' for i in range(60)])
        world.spawn("slow", "pricing", "--hold", "3.0", port=self.dep_port)
        world.spawn(
            "proxy",
            "storefront",
            "--upstream",
            f"http://127.0.0.1:{self.dep_port}",
            "--timeout",
            "1.0",
            port=self.front_port,
        )
        world.spawn(
            "load", "loadgen", "--url", f"http://127.0.0.1:{self.front_port}/price", "--concurrency", "3", log=False
        )
        time.sleep(3)

    def alert(self, world: World) -> dict[str, Any]:
        return alert_payload(
            {
                "alertname": "HighRequestLatency",
                "job": "storefront",
                "service": "storefront",
                "instance": f"127.0.0.1:{self.front_port}",
                "url": f"http://127.0.0.1:{self.front_port}/price",
            }
        )

    def truth(self, world: World) -> Truth:
        return Truth("dependency", "service", "pricing", "restart_service", "mutating")
