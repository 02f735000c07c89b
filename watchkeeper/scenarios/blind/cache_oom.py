from __future__ import annotations

import time
from typing import Any

from watchkeeper.scenarios.base import Truth
from watchkeeper.scenarios.blind import BlindScenario, spawn
from watchkeeper.scenarios.world import World, alert_payload, free_port


class CacheOom(BlindScenario):
    name = "blind_cache_oom"
    description = "The cart API's Redis-like cache is at maxmemory with noeviction: every write gets OOM, carts 500."
    fault_class = "application"

    def setup(self, world: World) -> None:
        self.cache_port, self.port = free_port(), free_port()
        world.backfill("cart", [f"INFO GET /cart/{i} 200" for i in range(90)])
        spawn(world, "kvcache", "kvcache", port=self.cache_port, log=False)
        spawn(world, "cartapi", "cart", "--upstream", f"127.0.0.1:{self.cache_port}", port=self.port)
        world.spawn("load", "loadgen", "--url", f"http://127.0.0.1:{self.port}/cart", "--concurrency", "1", log=False)
        time.sleep(2)

    def alert(self, world: World) -> dict[str, Any]:
        return alert_payload(
            {
                "alertname": "HighHttp5xxRate",
                "job": "cart",
                "service": "cart",
                "instance": f"127.0.0.1:{self.port}",
                "severity": "critical",
            },
            age_s=120,
        )

    def truth(self, world: World) -> Truth:
        return Truth("application", "service", "kvcache", None, "manual")
