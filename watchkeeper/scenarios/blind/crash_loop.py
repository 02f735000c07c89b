from __future__ import annotations

import time

from watchkeeper.scenarios.base import Truth
from watchkeeper.scenarios.blind import BlindScenario, spawn
from watchkeeper.scenarios.world import World


class CrashLoop(BlindScenario):
    name = "blind_crash_loop"
    description = "A respawning loop restarts a queue consumer that dies on a missing config key every second."
    fault_class = "process"

    def setup(self, world: World) -> None:
        world.backfill("consumer", [f"INFO consumed batch {i} (50 messages)" for i in range(60)])
        config = world.root / "etc" / "consumer.yaml"
        config.parent.mkdir(parents=True)
        config.write_text("broker: amqp://127.0.0.1:5672\nprefetch: 50\n")
        spawn(
            world,
            "supervise",
            "runsv",
            "--child",
            "consumer",
            "--child-mode",
            "crasher",
            "--child-log",
            str(world.log_path("consumer")),
            "--file",
            str(config),
            "--hold",
            "0.5",
            log=False,
        )
        time.sleep(4)

    def question(self, world: World) -> str | None:
        return "The consumer keeps restarting every few seconds, why?"

    def truth(self, world: World) -> Truth:
        return Truth("process", "service", "consumer", None, "manual")
