from __future__ import annotations

from typing import Any

from watchkeeper.scenarios.base import Scenario, Truth
from watchkeeper.scenarios.world import World, alert_payload


class DiskFilling(Scenario):
    name = "disk_filling"
    description = "An export job floods a debug log on a small filesystem that is already 85 % full."

    def setup(self, world: World) -> None:
        self.mount = world.mount_tmpfs(64)
        (self.mount / "archive").mkdir()
        (self.mount / "archive" / "2026-10.tar").write_bytes(b"\1" * (52 * 2**20))
        self.file = self.mount / "export" / "debug.log"
        world.spawn("writer", "batch_export", "--file", str(self.file), "--rate-kb", "1024", log=False)
        world.wait_until(lambda: self.file.exists(), 10, "the writer did not start")

    def alert(self, world: World) -> dict[str, Any]:
        return alert_payload(
            {
                "alertname": "HostOutOfDiskSpace",
                "instance": "localhost:9100",
                "job": "node",
                "mountpoint": str(self.mount),
                "device": "tmpfs",
                "fstype": "tmpfs",
            }
        )

    def truth(self, world: World) -> Truth:
        return Truth("disk", "path", str(self.file), "kill_process", "mutating")
