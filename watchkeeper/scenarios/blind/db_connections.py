from __future__ import annotations

import time
from typing import Any

from watchkeeper.scenarios.base import Truth
from watchkeeper.scenarios.blind import BlindScenario, spawn
from watchkeeper.scenarios.world import World, alert_payload, free_port


class DbConnections(BlindScenario):
    name = "blind_db_connections"
    description = "A batch job holds all 20 database connections idle: the orders API gets 'too many clients'."
    fault_class = "application"

    def setup(self, world: World) -> None:
        self.db_port, self.port = free_port(), free_port()
        world.backfill("orders_api", [f"INFO GET /orders/{i} 200" for i in range(90)])
        spawn(world, "pgdb", "pgdb", "--limit", "20", port=self.db_port)
        db = f"127.0.0.1:{self.db_port}"
        spawn(world, "pool_hog", "nightly_export", "--upstream", db, "--concurrency", "20")
        spawn(world, "dbapi", "orders_api", "--upstream", db, port=self.port)
        world.spawn("load", "loadgen", "--url", f"http://127.0.0.1:{self.port}/orders", "--concurrency", "1", log=False)
        time.sleep(2)

    def alert(self, world: World) -> dict[str, Any]:
        return alert_payload(
            {
                "alertname": "HighHttp5xxRate",
                "job": "orders_api",
                "service": "orders_api",
                "instance": f"127.0.0.1:{self.port}",
                "severity": "critical",
            },
            age_s=120,
        )

    def truth(self, world: World) -> Truth:
        return Truth("application", "process", "nightly_export", "kill_process", "mutating")
