from __future__ import annotations

import os
import signal
import time
from typing import Any

from watchkeeper.scenarios.base import Truth
from watchkeeper.scenarios.blind import BlindScenario, blackbox
from watchkeeper.scenarios.world import World, alert_payload, free_port


class StoppedProcess(BlindScenario):
    name = "blind_stopped_process"
    description = "The session API was stopped (SIGSTOP, state T): it still holds its port, probes time out."
    fault_class = "process"

    def setup(self, world: World) -> None:
        self.port = free_port()
        world.backfill("session_api", [f"INFO GET /session/{i} 200 {i % 7 + 2}ms" for i in range(80)])
        pid = world.spawn("api", "session_api", port=self.port)
        os.killpg(pid, signal.SIGSTOP)  # someone pressed ^Z, or a debugger attached and went away
        time.sleep(0.5)

    def alert(self, world: World) -> dict[str, Any]:
        return alert_payload(
            {
                "alertname": "BlackboxProbeFailed",
                **blackbox(f"http://127.0.0.1:{self.port}/health"),
                "severity": "critical",
            }
        )

    def truth(self, world: World) -> Truth:
        return Truth("process", "process", "session_api", "restart_service", "mutating")
