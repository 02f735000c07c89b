from __future__ import annotations

import os
import time
from typing import Any

from watchkeeper.scenarios.base import Truth
from watchkeeper.scenarios.blind import BlindScenario, spawn
from watchkeeper.scenarios.world import World, alert_payload, free_port


class UnreadableConfig(BlindScenario):
    name = "blind_unreadable_config"
    description = "A config file of the reporting API (running as nobody) was made root-only: every request is a 500."
    fault_class = "permissions"

    def setup(self, world: World) -> None:
        self.port = free_port()
        os.chmod(world.root, 0o755)  # the service runs as nobody: it must reach its files
        world.backfill("reporting", [f"INFO GET /report/{i} 200" for i in range(90)])
        os.chmod(world.log_path("reporting").parent, 0o777)
        os.chmod(world.log_path("reporting"), 0o666)
        self.config = world.root / "etc" / "reporting" / "templates.yaml"
        self.config.parent.mkdir(parents=True)
        os.chmod(self.config.parent, 0o755)
        self.config.write_text("default: weekly\n")
        os.chmod(self.config, 0o644)
        spawn(world, "unprivileged", "reporting", "--file", str(self.config), port=self.port)
        world.spawn("load", "loadgen", "--url", f"http://127.0.0.1:{self.port}/report", "--concurrency", "1", log=False)
        time.sleep(1)
        os.chmod(self.config, 0o600)  # a config-management run or a hurried operator
        time.sleep(2)

    def alert(self, world: World) -> dict[str, Any]:
        return alert_payload(
            {
                "alertname": "HighErrorRate",
                "job": "reporting",
                "service": "reporting",
                "instance": f"127.0.0.1:{self.port}",
                "severity": "critical",
            },
            age_s=60,
        )

    def truth(self, world: World) -> Truth:
        return Truth("permissions", "path", str(self.config), None, "manual")
