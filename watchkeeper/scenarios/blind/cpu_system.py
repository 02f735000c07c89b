from __future__ import annotations

import time

from watchkeeper.scenarios.base import Truth
from watchkeeper.scenarios.blind import BlindScenario, spawn
from watchkeeper.scenarios.world import World


class CpuSystem(BlindScenario):
    name = "blind_cpu_system"
    description = "A log shipper writes one byte per system call: a core of system (kernel) time."
    fault_class = "cpu"

    def setup(self, world: World) -> None:
        spawn(world, "duty", "metrics_agent", "--duty", "0.2", log=False)  # decoy: busy, steady, normal
        spawn(world, "syscalls", "log_shipper")
        time.sleep(1)

    def question(self, world: World) -> str | None:
        return "System CPU time is very high on this host, what is doing it?"

    def truth(self, world: World) -> Truth:
        return Truth("cpu", "process", "log_shipper", "kill_process", "mutating")
