from __future__ import annotations

from typing import Any

from watchkeeper.scenarios.base import Truth
from watchkeeper.scenarios.blind import NODE, BlindScenario, spawn
from watchkeeper.scenarios.world import World, alert_payload


class DiskDeletedOpen(BlindScenario):
    name = "blind_disk_deleted_open"
    description = (
        "A shipper keeps writing to its spool file after it was deleted: the disk is 90 % used, du sees 4 MiB."
    )
    fault_class = "disk"

    def setup(self, world: World) -> None:
        self.mount = world.mount_tmpfs(64)
        (self.mount / "log").mkdir()
        (self.mount / "log" / "app.log.1").write_bytes(b"INFO old line\n" * (4 * 2**20 // 14))  # decoy: biggest visible
        spool = self.mount / "spool" / "audit.spool"
        spawn(world, "ghost", "audit_shipper", "--file", str(spool), "--limit-mb", "54", "--rate-kb", "64")
        world.wait_until(lambda: not spool.exists() and spool.parent.exists(), 15, "the spool was not deleted")

    def alert(self, world: World) -> dict[str, Any]:
        return alert_payload(
            {
                "alertname": "HostOutOfDiskSpace",
                **NODE,
                "device": "tmpfs",
                "fstype": "tmpfs",
                "mountpoint": str(self.mount),
                "severity": "critical",
            }
        )

    def truth(self, world: World) -> Truth:
        return Truth("disk", "process", "audit_shipper", "kill_process", "mutating")
