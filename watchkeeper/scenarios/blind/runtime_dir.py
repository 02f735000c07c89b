from __future__ import annotations

import os
import time
from typing import Any

from watchkeeper.scenarios.base import Truth
from watchkeeper.scenarios.blind import BlindScenario, blackbox, spawn
from watchkeeper.scenarios.world import World, alert_payload, free_port


class RuntimeDir(BlindScenario):
    name = "blind_runtime_dir"
    description = (
        "The chat gateway runs as nobody and writes its pid file into its runtime directory, which a packaging "
        "change now leaves to an old tmpfiles line (root:root 0755): every start dies on Permission denied and "
        "its respawn loop keeps trying; its port stays closed."
    )
    fault_class = "permissions"

    def setup(self, world: World) -> None:
        self.port = free_port()
        os.chmod(world.root, 0o755)  # the service runs as nobody: it must reach its files
        log = world.log_path("chat_gw")
        history = ["INFO chat gateway 2.3.0 starting (pid 1187)", f"INFO listening on 127.0.0.1:{self.port}"]
        history += [f"INFO 127.0.0.1 GET /v1/rooms/{i % 23}/messages 200 {i % 9 + 3}ms" for i in range(90)]
        world.backfill("chat_gw", history)
        os.chmod(log.parent, 0o777)
        os.chmod(log, 0o666)
        runtime = world.root / "run"
        runtime.mkdir(mode=0o755)
        (runtime / "sshd").mkdir(mode=0o755)  # decoys: other services' runtime directories, as they are
        (runtime / "lock").mkdir(mode=0o755)
        self.dir = runtime / "chat_gw"
        self.dir.mkdir(mode=0o755)  # root:root 0755: nobody cannot create its pid file here
        os.chmod(runtime, 0o755)
        spawn(
            world,
            "supervise",
            "runsv",
            "--child",
            "chat_gw",
            "--child-mode",
            "pidfile",
            "--child-log",
            str(log),
            "--file",
            str(self.dir),
            "--hold",
            "1.0",
            "--port",
            str(self.port),
            log=False,
        )
        world.wait_until(lambda: "Permission denied" in log.read_text(), 20, "the gateway did not fail to start")
        time.sleep(2)

    def alert(self, world: World) -> dict[str, Any]:
        return alert_payload(
            {
                "alertname": "BlackboxProbeFailed",
                **blackbox(f"http://127.0.0.1:{self.port}/health"),
                "severity": "critical",
            },
            age_s=120,
        )

    def truth(self, world: World) -> Truth:
        return Truth("permissions", "path", str(self.dir), None, "manual")
