from __future__ import annotations

import psutil

from watchkeeper.scenarios.base import Truth
from watchkeeper.scenarios.blind import BlindScenario, spawn
from watchkeeper.scenarios.world import World, free_port


def _close_wait(pid: int) -> int:
    return sum(1 for c in psutil.Process(pid).net_connections("tcp") if c.status == psutil.CONN_CLOSE_WAIT)


class CloseWait(BlindScenario):
    name = "blind_close_wait"
    description = (
        "A rate synchroniser opens a connection per fetch into a 'pool' nothing ever takes from: the rates API "
        "closes each after its keep-alive timeout and the synchroniser never does, so its sockets pile up in "
        "CLOSE_WAIT. Beside it a dashboard gateway keeps 60 busy connections to the same API (ESTABLISHED)."
    )
    fault_class = "network"

    def setup(self, world: World) -> None:
        self.port = free_port()
        upstream = f"127.0.0.1:{self.port}"
        spawn(world, "keepalive", "rates_api", "--timeout", "1.0", port=self.port)
        spawn(world, "streams", "dash_gateway", "--upstream", upstream, "--concurrency", "60", "--hold", "0.5")
        world.backfill("rate_sync", [f"INFO rates synced ({i * 250} updates)" for i in range(1, 60)])
        pid = spawn(world, "ratesync", "rate_sync", "--upstream", upstream, "--hold", "0.01", "--limit", "6000")
        world.wait_until(lambda: _close_wait(pid) >= 600, 60, "the CLOSE_WAIT sockets did not pile up")

    def question(self, world: World) -> str | None:
        return "这台机器上 CLOSE_WAIT 状态的连接越来越多，已经好几百个了，是哪个进程的问题？"  # noqa: RUF001 (a Chinese question)

    def truth(self, world: World) -> Truth:
        return Truth("network", "process", "rate_sync", "restart_service", "mutating")
