from __future__ import annotations

import time

from watchkeeper.scenarios.base import Truth
from watchkeeper.scenarios.blind import BlindScenario, spawn
from watchkeeper.scenarios.world import World


class LockHolder(BlindScenario):
    name = "blind_lock_holder"
    description = "A hung vacuum job holds the lock the report job needs: every report run gives up."
    fault_class = "process"

    def setup(self, world: World) -> None:
        lock = world.root / "run" / "reportdb.lock"
        lock.parent.mkdir(parents=True)
        world.backfill("report_job", ["INFO report generated" for _ in range(30)])
        spawn(world, "holdlock", "db_vacuum", "--file", str(lock))
        spawn(
            world,
            "supervise",
            "cron",
            "--child",
            "report_job",
            "--child-mode",
            "locker",
            "--child-log",
            str(world.log_path("report_job")),
            "--file",
            str(lock),
            "--hold",
            "0.5",
            log=False,
        )
        time.sleep(3)

    def question(self, world: World) -> str | None:
        return "report_job keeps failing and no report came out since this morning, what is blocking it?"

    def truth(self, world: World) -> Truth:
        return Truth("process", "process", "db_vacuum", "kill_process", "mutating")
