from __future__ import annotations

import time

from watchkeeper.scenarios.base import Truth
from watchkeeper.scenarios.blind import BlindScenario, spawn
from watchkeeper.scenarios.world import World

FEED = "10.44.0.10"


class EphemeralPorts(BlindScenario):
    name = "blind_ephemeral_ports"
    description = (
        "The price sync opens and closes a connection per quote: its TIME_WAIT sockets hold every local port "
        "(its own network namespace, ports 40000-40100), so connect() fails with EADDRNOTAVAIL."
    )
    fault_class = "network"

    def setup(self, world: World) -> None:
        netns = world.make_netns(port_range=(40000, 40100), address=FEED)
        feed = f"{FEED}:7001"
        world.backfill("price_sync", [f"INFO synced {i * 100} quotes" for i in range(1, 90)])
        spawn(world, "quotefeed", "quote_feed", port=7001, netns=netns)
        spawn(world, "subscriber", "risk_engine", "--upstream", feed, netns=netns)  # decoy: one steady connection
        spawn(world, "quoter", "price_sync", "--upstream", feed, netns=netns)
        time.sleep(3)

    def question(self, world: World) -> str | None:
        return "price_sync stopped updating prices a few minutes ago, its fetches from the quote feed fail. Why?"

    def truth(self, world: World) -> Truth:
        return Truth("network", "process", "price_sync", None, "manual")
