from __future__ import annotations

import os
import time

from watchkeeper.scenarios.base import Truth
from watchkeeper.scenarios.blind import BlindScenario, spawn
from watchkeeper.scenarios.world import World, free_port


class UpstreamPort(BlindScenario):
    name = "blind_upstream_port"
    description = (
        "An edit to the order API's config moved its tax service URL to a port nothing listens on (a typo): "
        "every order is a 503 'connection refused' while the tax service itself is up and idle on its own port."
    )
    fault_class = "application"

    def setup(self, world: World) -> None:
        self.tax_port, self.wrong_port, self.port = free_port(), free_port(), free_port()
        self.config = world.root / "etc" / "order_api" / "order_api.yaml"
        self.config.parent.mkdir(parents=True)
        settings = "currency: EUR\nrequest_timeout_s: 2\n"
        self.config.write_text(f"tax_url: http://127.0.0.1:{self.tax_port}\n{settings}")
        old = time.time() - 86400 * 9
        os.utime(self.config, (old, old))
        world.backfill("order_api", [f"INFO GET /orders/{i} 201 {i % 7 + 9}ms" for i in range(90)])
        world.backfill("tax_service", [f"INFO GET /v1/tax?country=DE 200 {i % 3 + 2}ms" for i in range(90)])
        world.spawn("slow", "tax_service", "--hold", "0.005", port=self.tax_port)  # healthy, on its own port
        spawn(world, "routed", "order_api", "--file", str(self.config), port=self.port)
        url = f"http://127.0.0.1:{self.port}/orders"
        world.spawn("load", "loadgen", "--url", url, "--concurrency", "1", log=False)
        time.sleep(1)
        self.config.write_text(f"tax_url: http://127.0.0.1:{self.wrong_port}\n{settings}")  # the change
        time.sleep(3)

    def question(self, world: World) -> str | None:
        return "order_api has been answering 503 to every order for the last few minutes. What broke?"

    def truth(self, world: World) -> Truth:
        return Truth("application", "service", "order_api", None, "manual")
