from __future__ import annotations

import time
from typing import Any

from watchkeeper.scenarios.base import Truth
from watchkeeper.scenarios.blind import BlindScenario, spawn
from watchkeeper.scenarios.world import World, alert_payload, free_port

RELAY = "smtp-relay.corp.invalid"


class DnsFailure(BlindScenario):
    name = "blind_dns_failure"
    description = "The notifier's mail relay name no longer resolves: every send fails."
    fault_class = "network"

    def setup(self, world: World) -> None:
        self.port = free_port()
        world.backfill("notifier", [f"INFO sent notification {i}" for i in range(90)])
        spawn(world, "mailer", "notifier", "--upstream", f"{RELAY}:587", port=self.port)
        time.sleep(2)

    def alert(self, world: World) -> dict[str, Any]:
        return alert_payload(
            {
                "alertname": "NotificationsFailing",
                "job": "notifier",
                "instance": f"127.0.0.1:{self.port}",
                "severity": "warning",
            },
            {"summary": "notification send failures above 50 % for 5 minutes"},
        )

    def truth(self, world: World) -> Truth:
        return Truth("network", "host", RELAY, None, "manual")
