from __future__ import annotations

import signal
import time

from watchkeeper.scenarios.base import Truth
from watchkeeper.scenarios.blind import BlindScenario, spawn
from watchkeeper.scenarios.world import World, free_port


class DependencyRefused(BlindScenario):
    name = "blind_dependency_refused"
    description = "checkout answers 503: the stock service it calls died and its port refuses connections."
    fault_class = "dependency"

    def setup(self, world: World) -> None:
        self.dep_port, self.port = free_port(), free_port()
        world.backfill("stockd", [f"INFO GET /stock/{i} 200 {i % 5 + 1}ms" for i in range(90)])
        world.backfill("checkout", [f"INFO GET /checkout/{i} 200 {i % 13 + 20}ms" for i in range(90)])
        pid = world.spawn("api", "stockd", port=self.dep_port)
        world.stop(pid, signal.SIGKILL)
        upstream = f"http://127.0.0.1:{self.dep_port}"
        spawn(world, "caller", "checkout", "--upstream", upstream, port=self.port)
        world.spawn(
            "load", "loadgen", "--url", f"http://127.0.0.1:{self.port}/checkout", "--concurrency", "2", log=False
        )
        time.sleep(2)

    def question(self, world: World) -> str | None:
        return "the checkout API is returning 503 errors"

    def truth(self, world: World) -> Truth:
        return Truth("dependency", "service", "stockd", "restart_service", "mutating")
