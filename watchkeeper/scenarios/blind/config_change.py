from __future__ import annotations

import os
import time

from watchkeeper.scenarios.base import Truth
from watchkeeper.scenarios.blind import BlindScenario, spawn
from watchkeeper.scenarios.world import World, free_port


class ConfigChange(BlindScenario):
    name = "blind_config_change"
    description = "An edit to pricing_api's config sets request_timeout_ms to '30s': every request since is a 500."
    fault_class = "application"

    def setup(self, world: World) -> None:
        self.port = free_port()
        self.config = world.root / "etc" / "pricing_api" / "pricing_api.yaml"
        self.config.parent.mkdir(parents=True)
        self.config.write_text("listen: 127.0.0.1\nrequest_timeout_ms: 250\ncurrency: EUR\n")
        old = time.time() - 86400 * 12
        os.utime(self.config, (old, old))
        world.backfill("pricing_api", [f"INFO GET /price/{i} 200 25ms" for i in range(90)])
        spawn(world, "configured", "pricing_api", "--file", str(self.config), port=self.port)
        url = f"http://127.0.0.1:{self.port}/price"
        world.spawn("load", "loadgen", "--url", url, "--concurrency", "1", log=False)
        time.sleep(1)
        self.config.write_text("listen: 127.0.0.1\nrequest_timeout_ms: 30s\ncurrency: EUR\n")  # the change
        time.sleep(2)

    def question(self, world: World) -> str | None:
        return "pricing_api 从几分钟前开始一直报500，怎么回事？"  # noqa: RUF001 (a Chinese question)

    def truth(self, world: World) -> Truth:
        return Truth("application", "service", "pricing_api", None, "manual")
