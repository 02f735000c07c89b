from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from watchkeeper.scenarios.base import Truth
from watchkeeper.scenarios.blind import NODE, BlindScenario, spawn
from watchkeeper.scenarios.world import World, alert_payload


class SystemFds(BlindScenario):
    name = "blind_system_fds"
    description = (
        "Simulated: the host hit fs.file-max (kernel 'VFS: file-max limit reached', the proxy's accept4() ENFILE). "
        "Real: a log shipper reopens every file it tails on each scan and never closes one (thousands more "
        "descriptors a second), beside a search index holding 3000 steadily."
    )
    fault_class = "descriptors"
    simulated = True  # fs.file-max is host-wide and never touched: the kernel's and the proxy's lines are written

    def setup(self, world: World) -> None:
        logs = world.root / "var-log-app"
        logs.mkdir()
        for i in range(60):
            (logs / f"app-{i:02d}.log").write_text("started\n")
        world.backfill("log_shipper", [f"INFO shipped batch {i} (60 files)" for i in range(90)])
        # decoy: a search index holding 3000 descriptors, steadily
        spawn(
            world, "tailer", "search_index", "--file", str(logs), "--limit", "65536", "--concurrency", "3000", log=False
        )
        leak = ("--limit", "1048576", "--concurrency", "30000", "--hold", "0.02")  # ~2700 more a second
        spawn(world, "tailer", "log_shipper", "--file", str(logs), *leak)
        world.backfill("edge_proxy", [f'INFO 10.0.4.{i % 250} "GET /api/items/{i} HTTP/1.1" 200' for i in range(90)])
        now = datetime.now(UTC)
        file_max = Path("/proc/sys/fs/file-max").read_text().strip()
        with (world.log_root / "kern.log").open("w") as fh:
            for ago in (240, 95, 20):
                stamp = (now - timedelta(seconds=ago)).isoformat(timespec="microseconds")
                fh.write(f"{stamp} web01 kernel: VFS: file-max limit {file_max} reached\n")
        with world.log_path("edge_proxy").open("a") as fh:
            for ago in range(90, 0, -3):
                stamp = (now - timedelta(seconds=ago)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
                fh.write(f"{stamp} CRIT 2113#2113: accept4() failed (23: Too many open files in system)\n")
        time.sleep(3)

    def alert(self, world: World) -> dict[str, Any]:
        return alert_payload(
            {"alertname": "NodeFileDescriptorLimit", **NODE, "severity": "critical"},
            {
                "summary": "Kernel is predicted to exhaust file descriptors limit soon.",
                "description": "File descriptors limit at localhost:9100 is currently at 91.37%.",
            },
            age_s=300,
        )

    def truth(self, world: World) -> Truth:
        return Truth("descriptors", "process", "log_shipper", "restart_service", "mutating")
