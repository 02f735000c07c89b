from __future__ import annotations

from watchkeeper.scenarios.base import Truth
from watchkeeper.scenarios.blind import BlindScenario, spawn
from watchkeeper.scenarios.world import World


class MemoryLeakWorker(BlindScenario):
    name = "blind_memory_leak_worker"
    description = "One ingest worker leaks ~25 MiB/s beside a bigger cache that holds 600 MiB steady."
    fault_class = "memory"

    def setup(self, world: World) -> None:
        spawn(world, "hold", "cache_daemon", "--limit-mb", "600")  # decoy: the biggest, but flat
        world.spawn("leak", "ingest_worker", "--rate-mb", "25", "--limit-mb", "900")

    def question(self, world: World) -> str | None:
        return "服务器内存一直在涨，是什么在吃内存？"  # noqa: RUF001 (a Chinese question)

    def truth(self, world: World) -> Truth:
        return Truth("memory", "process", "ingest_worker", "kill_process", "mutating")
