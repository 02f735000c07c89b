from __future__ import annotations

import time

from watchkeeper.scenarios.base import Truth
from watchkeeper.scenarios.blind import BlindScenario, spawn
from watchkeeper.scenarios.world import World


class CpuIdentical(BlindScenario):
    name = "blind_cpu_identical"
    description = "Four identical render workers at ~35 % each: none stands out, together they fill the CPU."
    fault_class = "cpu"

    def setup(self, world: World) -> None:
        for _ in range(4):
            spawn(world, "duty", "render_worker", "--duty", "0.35", log=False)
        time.sleep(1)

    def question(self, world: World) -> str | None:
        return "CPU on this box has been pegged for ten minutes, what is eating it?"

    def truth(self, world: World) -> Truth:
        return Truth("cpu", "process", "render_worker", "restart_service", "mutating")
