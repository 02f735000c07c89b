from __future__ import annotations

import time

from watchkeeper.scenarios.base import Truth
from watchkeeper.scenarios.blind import BlindScenario
from watchkeeper.scenarios.world import World


class DiskLogGrowing(BlindScenario):
    name = "blind_disk_log_growing"
    description = "A gateway's access log grows 2 MiB/s on a volume whose biggest file is a still backup."
    fault_class = "disk"

    def setup(self, world: World) -> None:
        self.mount = world.mount_tmpfs(96, name="srv")
        (self.mount / "backup").mkdir()
        (self.mount / "backup" / "site-2026-11.tar.gz").write_bytes(b"\1" * (60 * 2**20))  # decoy: biggest, still
        self.file = self.mount / "gateway" / "access.log"
        world.spawn("writer", "gateway", "--file", str(self.file), "--rate-kb", "2048", log=False)
        world.wait_until(lambda: self.file.exists(), 10, "the writer did not start")
        time.sleep(2)

    def question(self, world: World) -> str | None:
        return f"{self.mount} 分区快满了，怎么回事？"  # noqa: RUF001 (a Chinese question)

    def truth(self, world: World) -> Truth:
        return Truth("disk", "path", str(self.file), "kill_process", "mutating")
