from __future__ import annotations

import time
from typing import Any

from watchkeeper.scenarios.base import Truth
from watchkeeper.scenarios.blind import NODE, BlindScenario, spawn
from watchkeeper.scenarios.world import World, alert_payload


class DiskInodes(BlindScenario):
    name = "blind_disk_inodes"
    description = (
        "A web app saves a tiny session file per request and never expires them: inodes run out, bytes do not."
    )
    fault_class = "disk"

    def setup(self, world: World) -> None:
        self.mount = world.mount_tmpfs(64, options="nr_inodes=3000")
        (self.mount / "backup").mkdir()
        (self.mount / "backup" / "db-2026-11-01.dump").write_bytes(b"\1" * (20 * 2**20))  # decoy: big, still
        self.dir = self.mount / "app" / "sessions"
        spawn(world, "sessions", "webapp", "--file", str(self.dir))
        world.wait_until(lambda: (world.log_path("webapp")).exists(), 15, "the sessions did not fill the inodes")

    def alert(self, world: World) -> dict[str, Any]:
        time.sleep(0.5)
        return alert_payload(
            {
                "alertname": "HostOutOfInodes",
                **NODE,
                "device": "tmpfs",
                "fstype": "tmpfs",
                "mountpoint": str(self.mount),
                "severity": "warning",
            }
        )

    def truth(self, world: World) -> Truth:
        return Truth("disk", "path", str(self.dir), None, "manual")
