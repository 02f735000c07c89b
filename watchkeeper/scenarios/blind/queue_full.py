from __future__ import annotations

import time

from watchkeeper.scenarios.base import Truth
from watchkeeper.scenarios.blind import BlindScenario, spawn
from watchkeeper.scenarios.world import World, free_port


class QueueFull(BlindScenario):
    name = "blind_queue_full"
    description = (
        "The welcome-mail consumer deadlocked (two of its threads take two locks in opposite orders): its queue "
        "reaches x-max-length 500 and the broker nacks every publish, so signups answer 503."
    )
    fault_class = "application"

    def setup(self, world: World) -> None:
        self.mq_port, self.port = free_port(), free_port()
        world.backfill("signup_api", [f"INFO GET /signup 201 user=u{i}" for i in range(90)])
        world.backfill("mail_sender", [f"INFO delivered {i * 200} messages from 'welcome_mail'" for i in range(1, 60)])
        spawn(world, "minimq", "mq_broker", "--limit", "500", port=self.mq_port)
        broker = f"127.0.0.1:{self.mq_port}"
        spawn(world, "consumer", "audit_writer", "--upstream", broker, "--file", "audit_events", "--hold", "0")
        spawn(world, "consumer", "mail_sender", "--upstream", broker, "--file", "welcome_mail", "--hold", "1.0")
        spawn(world, "producer", "signup_api", "--upstream", broker, "--limit", "500", port=self.port)
        world.spawn("load", "loadgen", "--url", f"http://127.0.0.1:{self.port}/signup", "--concurrency", "1", log=False)
        time.sleep(5)

    def question(self, world: World) -> str | None:
        return "signup_api 从几分钟前开始一直返回503，用户注册不了，是什么原因？"  # noqa: RUF001 (a Chinese question)

    def truth(self, world: World) -> Truth:
        return Truth("application", "service", "mail_sender", "restart_service", "mutating")
