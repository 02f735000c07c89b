from __future__ import annotations

import time
from typing import Any

from watchkeeper.scenarios.base import Truth
from watchkeeper.scenarios.blind import BlindScenario, spawn
from watchkeeper.scenarios.world import World, alert_payload, free_port


class PoolExhausted(BlindScenario):
    name = "blind_pool_exhausted"
    description = (
        "The invoicing API's own pool of 5 database connections is held by its slow /export endpoint, which "
        "keeps a connection while it renders for 30 s; every other request times out waiting (QueuePool)."
    )
    fault_class = "application"

    def setup(self, world: World) -> None:
        self.db_port, self.port = free_port(), free_port()
        world.backfill("invoice_api", [f"INFO GET /invoices/{i} 200 {i % 11 + 6}ms" for i in range(90)])
        spawn(world, "pgdb", "billing_db", "--limit", "100", port=self.db_port)  # healthy: answers at once
        db = f"127.0.0.1:{self.db_port}"
        pool = ("--limit", "5", "--timeout", "3", "--hold", "30")  # pool_size=5, max_overflow=0, pool_timeout=3
        spawn(world, "pooled", "invoice_api", "--upstream", db, *pool, port=self.port)
        api = f"http://127.0.0.1:{self.port}"
        world.spawn("load", "report_cron", "--url", f"{api}/export?month=2026-10", "--concurrency", "5", log=False)
        time.sleep(0.5)
        world.spawn("load", "loadgen", "--url", f"{api}/invoices/42", "--concurrency", "2", log=False)
        time.sleep(4)

    def alert(self, world: World) -> dict[str, Any]:
        return alert_payload(
            {
                "alertname": "HighHttp5xxRate",
                "job": "invoice_api",
                "service": "invoice_api",
                "instance": f"127.0.0.1:{self.port}",
                "severity": "critical",
            },
            {"summary": "more than 5 % of requests answer 5xx"},
            age_s=90,
        )

    def truth(self, world: World) -> Truth:
        return Truth("application", "service", "invoice_api", None, "manual")
