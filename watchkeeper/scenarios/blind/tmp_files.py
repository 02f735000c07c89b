from __future__ import annotations

import os
import time
from typing import Any

from watchkeeper.scenarios.base import Truth
from watchkeeper.scenarios.blind import NODE, BlindScenario, spawn
from watchkeeper.scenarios.world import World, alert_payload

MIB = 2**20


class TmpFiles(BlindScenario):
    name = "blind_tmp_files"
    description = (
        "An export job run every few minutes writes a 2 MiB CSV to a temporary file, fails its upload and exits "
        "without removing it: hours of leftovers fill the volume, whose biggest file is an old, still backup."
    )
    fault_class = "disk"

    def setup(self, world: World) -> None:
        self.mount = world.mount_tmpfs(160, name="var")
        backup = self.mount / "backups" / "warehouse-2026-10-31.tar.zst"
        backup.parent.mkdir()
        backup.write_bytes(b"\x28\xb5\x2f\xfd" + b"\1" * (56 * MIB - 4))  # decoy: the biggest file, untouched
        old = time.time() - 86400 * 30
        os.utime(backup, (old, old))
        self.dir = self.mount / "spool" / "exports" / "tmp"
        self.dir.mkdir(parents=True)
        now = time.time()
        row = b"2026-12-01,ORD-00421337,EUR,129.00,shipped\n"
        for i in range(44, 0, -1):  # one leftover per run, every five minutes, for the last 3h40
            when = now - i * 300
            stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(when))
            leftover = self.dir / f"orders-{stamp}-{30000 + i * 37}.csv.tmp"
            leftover.write_bytes(row * (2 * MIB // len(row)))
            os.utime(leftover, (when, when))
        run = [
            "INFO export written (2 MiB), uploading to sftp://partner.example.net/in/",
            "ERROR upload failed: [Errno 110] Connection timed out; will retry on the next run",
        ]
        lines = run * 44
        world.backfill("csv_export", lines, minutes=220)
        world.log_path("csv_export").parent.mkdir(parents=True, exist_ok=True)
        args = ("--child", "csv_export", "--child-log", str(world.log_path("csv_export")), "--file", str(self.dir))
        spawn(world, "exportcron", "export_cron", *args, "--limit-mb", "2", "--hold", "1.5")
        time.sleep(3)

    def alert(self, world: World) -> dict[str, Any]:
        return alert_payload(
            {
                "alertname": "HostOutOfDiskSpace",
                **NODE,
                "device": "tmpfs",
                "fstype": "tmpfs",
                "mountpoint": str(self.mount),
                "severity": "warning",
            },
            {"summary": "Host out of disk space (instance localhost:9100)", "description": "Disk is almost full"},
            age_s=120,
        )

    def truth(self, world: World) -> Truth:
        return Truth("disk", "path", str(self.dir), None, "manual")
