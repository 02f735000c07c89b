from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from watchkeeper.scenarios.base import Truth
from watchkeeper.scenarios.blind import NODE, BlindScenario
from watchkeeper.scenarios.world import World, alert_payload

KERNEL = [
    "kernel: etl_loader invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), order=0, "
    "oom_score_adj=0",
    "kernel: Mem-Info:",
    "kernel: active_anon:5912331 inactive_anon:20811 isolated_anon:0",
    "kernel: Out of memory: Killed process 4242 (etl_loader) total-vm:24315120kB, anon-rss:23650112kB, "
    "file-rss:1024kB, shmem-rss:0kB, UID:998 pgtables:46420kB oom_score_adj:0",
    "kernel: oom_reaper: reaped process 4242 (etl_loader), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB",
]


class OomKill(BlindScenario):
    name = "blind_oom_kill"
    description = "Simulated: the kernel OOM killer killed the ETL loader (kernel log and the loader's log only)."
    fault_class = "memory"
    simulated = True  # no kernel OOM is provoked here: the kernel log is written as it would read

    def setup(self, world: World) -> None:
        world.backfill("etl_loader", [f"INFO loading batch {i} ({i * 100000} rows so far)" for i in range(300, 390)])
        now = datetime.now(UTC)
        with (world.log_root / "kern.log").open("w") as fh:
            for i, line in enumerate(KERNEL):
                stamp = (now - timedelta(seconds=100 - i * 0.01)).isoformat(timespec="microseconds")
                fh.write(f"{stamp} host {line}\n")

    def alert(self, world: World) -> dict[str, Any]:
        return alert_payload({"alertname": "HostOomKillDetected", **NODE, "severity": "warning"}, age_s=60)

    def truth(self, world: World) -> Truth:
        return Truth("memory", "process", "etl_loader", None, "manual")
