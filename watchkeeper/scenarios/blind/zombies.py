from __future__ import annotations

import psutil

from watchkeeper.scenarios.base import Truth
from watchkeeper.scenarios.blind import BlindScenario, spawn
from watchkeeper.scenarios.world import World


def _zombies(pid: int) -> int:
    return sum(1 for c in psutil.Process(pid).children() if c.status() == psutil.STATUS_ZOMBIE)


class Zombies(BlindScenario):
    name = "blind_zombies"
    description = "A job scheduler forks jobs and never waits for them: 300 zombies under one parent."
    fault_class = "process"

    def setup(self, world: World) -> None:
        pid = spawn(world, "zombies", "job_scheduler", "--concurrency", "300")
        world.wait_until(lambda: _zombies(pid) >= 300, 20, "the zombies did not accumulate")

    def question(self, world: World) -> str | None:
        return "这台机器上有很多僵尸进程，是谁造成的？"  # noqa: RUF001 (a Chinese question)

    def truth(self, world: World) -> Truth:
        return Truth("process", "process", "job_scheduler", "kill_process", "mutating")
