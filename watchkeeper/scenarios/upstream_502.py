from __future__ import annotations

import time
from typing import Any

from watchkeeper.scenarios.base import Scenario, Truth
from watchkeeper.scenarios.world import World, alert_payload, free_port


class Upstream502(Scenario):
    name = "upstream_502"
    description = "The web tier answers 502: its app server's worker pool is exhausted by slow requests."

    def setup(self, world: World) -> None:
        self.app_port, self.web_port = free_port(), free_port()
        world.backfill("appserver", [f"INFO GET /checkout/{i} 200" for i in range(60)])
        world.backfill("webfront", [f'INFO "GET /checkout/{i}" 200 upstream_time=0.0{i % 9}' for i in range(60)])
        world.spawn("app", "appserver", "--workers", "2", "--hold", "2.0", port=self.app_port)
        world.spawn(
            "proxy", "webfront", "--upstream", f"http://127.0.0.1:{self.app_port}", "--timeout", "5", port=self.web_port
        )
        world.spawn(
            "load", "loadgen", "--url", f"http://127.0.0.1:{self.web_port}/checkout", "--concurrency", "6", log=False
        )
        time.sleep(3)  # let the clients exhaust the pool and the logs fill

    def alert(self, world: World) -> dict[str, Any]:
        return alert_payload(
            {
                "alertname": "HighHttp5xxRate",
                "job": "webfront",
                "service": "webfront",
                "instance": f"127.0.0.1:{self.web_port}",
                "url": f"http://127.0.0.1:{self.web_port}/checkout",
            }
        )

    def truth(self, world: World) -> Truth:
        return Truth("dependency", "service", "appserver", "restart_service", "mutating")
