from __future__ import annotations

import subprocess
import time
from typing import Any

from watchkeeper.scenarios.base import Truth
from watchkeeper.scenarios.blind import BlindScenario, spawn
from watchkeeper.scenarios.world import ScenarioError, World, alert_payload


class DiskReadonly(BlindScenario):
    name = "blind_disk_readonly"
    description = "The uploads volume went read-only (remounted ro, as the kernel does after I/O errors): uploads fail."
    fault_class = "disk"

    def setup(self, world: World) -> None:
        self.mount = world.mount_tmpfs(32, name="uploads")
        (self.mount / "incoming").mkdir()
        world.backfill("uploader", [f"INFO PUT /upload/{i} 201 stored incoming/{i}.bin" for i in range(90)])
        done = subprocess.run(["mount", "-o", "remount,ro", str(self.mount)], capture_output=True, text=True)
        if done.returncode != 0:
            raise ScenarioError(f"cannot remount the scenario's tmpfs read-only: {done.stderr.strip()}")
        spawn(world, "sessions", "uploader", "--file", str(self.mount / "incoming"))
        time.sleep(2)

    def alert(self, world: World) -> dict[str, Any]:
        return alert_payload(
            {"alertname": "HighErrorRate", "job": "uploader", "service": "uploader", "severity": "critical"},
            {"summary": "upload errors above 20 % for 5 minutes"},
            age_s=60,
        )

    def truth(self, world: World) -> Truth:
        return Truth("disk", "path", str(self.mount), None, "manual")
