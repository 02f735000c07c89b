from __future__ import annotations

import time

from watchkeeper.scenarios.base import Truth
from watchkeeper.scenarios.blind import BlindScenario, spawn
from watchkeeper.scenarios.world import World, free_port


class DependencySlow(BlindScenario):
    name = "blind_dependency_slow"
    description = "payments times out (504) calling a fraud-scoring service that takes 4 s per request."
    fault_class = "dependency"

    def setup(self, world: World) -> None:
        self.dep_port, self.port = free_port(), free_port()
        world.backfill("payments", [f"INFO GET /pay/{i} 200 {i % 17 + 30}ms" for i in range(90)])
        world.backfill("fraud_score", [f"INFO GET /pay/{i} 200" for i in range(90)])
        world.spawn("slow", "fraud_score", "--hold", "4.0", port=self.dep_port)
        upstream = f"http://127.0.0.1:{self.dep_port}"
        spawn(world, "caller", "payments", "--upstream", upstream, "--timeout", "1.0", port=self.port)
        world.spawn("load", "loadgen", "--url", f"http://127.0.0.1:{self.port}/pay", "--concurrency", "3", log=False)
        time.sleep(3)

    def question(self, world: World) -> str | None:
        return "支付服务 payments 一直超时，报504"  # noqa: RUF001 (a Chinese question)

    def truth(self, world: World) -> Truth:
        return Truth("dependency", "service", "fraud_score", "restart_service", "mutating")
