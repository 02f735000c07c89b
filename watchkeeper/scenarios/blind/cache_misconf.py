from __future__ import annotations

import errno
import time

from watchkeeper.scenarios.base import Truth
from watchkeeper.scenarios.blind import BlindScenario, spawn
from watchkeeper.scenarios.world import World, free_port


def redis_server(port: int, directory: str, log: str, save: str) -> list[str]:
    return [
        "redis-server",
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        "--dir",
        directory,
        "--dbfilename",
        "dump.rdb",
        "--save",
        save,
        "--appendonly",
        "no",
        "--daemonize",
        "no",
        "--logfile",
        log,
    ]


class CacheMisconf(BlindScenario):
    name = "blind_cache_misconf"
    description = (
        "A real redis-server keeps its RDB snapshots on a volume that pre-upgrade copies of dump.rdb filled: its "
        "background save fails (No space left on device) and, stop-writes-on-bgsave-error, it refuses every "
        "write with MISCONF: logins fail. A second redis (a cache, no persistence) runs beside it, healthy."
    )
    fault_class = "disk"

    def setup(self, world: World) -> None:
        self.redis_port, self.cache_port, self.port = free_port(), free_port(), free_port()
        self.dir = world.mount_tmpfs(24, name="redis")
        logs = world.log_root / "redis"
        logs.mkdir()
        cache_dir = world.root / "redis-cache"
        cache_dir.mkdir()
        cache = redis_server(self.cache_port, str(cache_dir), str(logs / "redis-server-cache.log"), "")
        world.spawn_command(cache, "redis-server", port=self.cache_port)  # decoy: a healthy cache, no snapshots
        sessions = redis_server(self.redis_port, str(self.dir), str(logs / "redis-server.log"), "1 1")
        world.spawn_command(sessions, "redis-server", port=self.redis_port)
        world.backfill("session_api", [f"INFO GET /login 200 {i % 5 + 2}ms" for i in range(90)])
        upstream = f"127.0.0.1:{self.redis_port}"
        spawn(world, "sessionapi", "session_api", "--upstream", upstream, port=self.port)
        world.spawn("load", "loadgen", "--url", f"http://127.0.0.1:{self.port}/login", "--concurrency", "1", log=False)
        world.wait_until(lambda: (self.dir / "dump.rdb").exists(), 15, "redis did not save a first snapshot")
        # Someone copied the snapshot before each upgrade, next to it, until the volume was full.
        chunk = b"REDIS0010" + b"\0" * (2**20 - 9)
        for day in range(20, 28):
            try:
                with (self.dir / f"dump.rdb.pre-upgrade-2026-11-{day}").open("wb") as fh:
                    for _ in range(5):
                        fh.write(chunk)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                break
        log = world.log_path("session_api")
        world.wait_until(lambda: "MISCONF" in log.read_text(), 20, "redis did not refuse writes")
        time.sleep(2)

    def question(self, world: World) -> str | None:
        return "Nobody can log in since a few minutes ago: session_api answers 500 to every login. What is going on?"

    def truth(self, world: World) -> Truth:
        return Truth("disk", "path", str(self.dir), None, "manual")
