from __future__ import annotations

import os
import socket
import time
from typing import Any

import psutil

from watchkeeper.scenarios.base import Truth
from watchkeeper.scenarios.blind import BlindScenario, blackbox, spawn
from watchkeeper.scenarios.world import World, alert_payload, free_port


def host_address() -> str:
    """The host's first non-loopback IPv4 address (what other machines reach it on); with none, the address
    Debian's /etc/hosts gives the host's own name."""
    for addresses in psutil.net_if_addrs().values():
        for a in addresses:
            if a.family == socket.AF_INET and not a.address.startswith("127."):
                return str(a.address)
    return "127.0.1.1"


class WrongBind(BlindScenario):
    name = "blind_wrong_bind"
    description = (
        "A config edit set the quota API's listen address to 127.0.0.1 and it was restarted: the local health "
        "check still passes, but every client on the host's own address (and blackbox's probe) is refused."
    )
    fault_class = "network"

    def setup(self, world: World) -> None:
        self.port = free_port()
        self.address = host_address()
        config = world.root / "etc" / "quota_api" / "quota_api.yaml"
        config.parent.mkdir(parents=True)
        config.write_text(f"listen: 0.0.0.0\nport: {self.port}\nstore: redis://127.0.0.1:6379/4\n")
        old = time.time() - 86400 * 40
        os.utime(config, (old, old))
        history = [f"INFO quota service 1.9.2 starting (pid 2{self.port % 1000:03d}), config {config}"]
        history.append(f"INFO listening on 0.0.0.0:{self.port}")
        history += [
            f'INFO {"127.0.0.1" if i % 5 == 0 else f"10.0.4.{i % 40 + 10}"} "GET '
            f'{"/health" if i % 5 == 0 else f"/v1/quota/tenant-{i % 17}"} HTTP/1.1" 200 15'
            for i in range(90)
        ]
        world.backfill("quota_api", history)
        # Someone "hardened" the service: only loopback. Then a restart picked it up.
        config.write_text(f"listen: 127.0.0.1\nport: {self.port}\nstore: redis://127.0.0.1:6379/4\n")
        recent = time.time() - 240
        os.utime(config, (recent, recent))
        spawn(world, "bound", "quota_api", "--file", str(config), port=self.port)
        health = f"http://127.0.0.1:{self.port}/health"
        spawn(world, "checker", "node_checks", "--upstream", health, "--hold", "1.0")  # passes: loopback
        time.sleep(2)

    def alert(self, world: World) -> dict[str, Any]:
        return alert_payload(
            {
                "alertname": "BlackboxProbeFailed",
                **blackbox(f"http://{self.address}:{self.port}/health"),
                "severity": "critical",
            },
            age_s=180,
        )

    def truth(self, world: World) -> Truth:
        return Truth("network", "service", "quota_api", None, "manual")
