from __future__ import annotations

import time
from typing import Any

from watchkeeper.scenarios.base import Truth
from watchkeeper.scenarios.blind import BlindScenario, spawn
from watchkeeper.scenarios.world import World, alert_payload, free_port


class Http5xx(BlindScenario):
    name = "blind_http_5xx"
    description = "A new release of the search API fails half its requests with an unhandled exception."
    fault_class = "application"

    def setup(self, world: World) -> None:
        self.port = free_port()
        world.backfill("search", [f"INFO GET /search?q=item{i} 200 {i % 23 + 8}ms" for i in range(90)])
        spawn(world, "buggy", "search", port=self.port)
        world.spawn("load", "loadgen", "--url", f"http://127.0.0.1:{self.port}/search", "--concurrency", "2", log=False)
        time.sleep(2)

    def alert(self, world: World) -> dict[str, Any]:
        return alert_payload(
            {
                "alertname": "HighHttp5xxRate",
                "job": "search",
                "service": "search",
                "instance": f"127.0.0.1:{self.port}",
                "severity": "critical",
            },
            {"summary": "more than 5 % of requests answer 5xx"},
            age_s=60,
        )

    def truth(self, world: World) -> Truth:
        return Truth("application", "service", "search", None, "manual")
