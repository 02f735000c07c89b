from __future__ import annotations

import time
from typing import Any

from watchkeeper.scenarios.base import Truth
from watchkeeper.scenarios.blind import NODE, BlindScenario, spawn
from watchkeeper.scenarios.world import World, alert_payload


class Iowait(BlindScenario):
    name = "blind_iowait"
    description = (
        "A ledger fsyncs every 512-byte entry on a volume that takes 20 writes/s (its own loop device, "
        "throttled): it lives in D state waiting on the disk; the CPUs idle in iowait (where they are idle)."
    )
    fault_class = "cpu"

    def setup(self, world: World) -> None:
        volume = world.mount_loop(48, name="ledger", write_iops=20)
        world.backfill("ledgerd", [f"INFO committed {i * 100} entries" for i in range(1, 90)])
        spawn(world, "duty", "metrics_agent", "--duty", "0.2", log=False)  # decoy: busy on the CPU, normal
        spawn(world, "walsync", "ledgerd", "--file", str(volume / "wal" / "0000000000000001.wal"))
        time.sleep(3)

    def alert(self, world: World) -> dict[str, Any]:
        return alert_payload(
            {"alertname": "HostCpuHighIowait", **NODE, "severity": "warning"},
            {"summary": "Host CPU high iowait (instance localhost:9100)", "description": "CPU iowait > 10%."},
            age_s=180,
        )

    def truth(self, world: World) -> Truth:
        return Truth("cpu", "process", "ledgerd", None, "manual")
