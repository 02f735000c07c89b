from __future__ import annotations

import os
import time

from watchkeeper.scenarios.base import Truth
from watchkeeper.scenarios.blind import BlindScenario, spawn
from watchkeeper.scenarios.world import World

MIB = 2**20


class ShmMemory(BlindScenario):
    name = "blind_shm_memory"
    description = (
        "A video transcoder that stages segments in a RAM-backed tmpfs (a /dev/shm) crashed mid-job and left "
        "1.25 GiB of them: memory no process owns. The biggest process, a steady 400 MiB cache, is a decoy."
    )
    fault_class = "memory"

    def setup(self, world: World) -> None:
        self.mount = world.mount_tmpfs(2048, name="shm")
        spawn(world, "hold", "catalog_cache", "--limit-mb", "400")  # decoy: the biggest process, steady
        (self.mount / "sem.catalog_cache.lock").write_bytes(b"\0" * 32)  # decoy: a live semaphore, tiny
        lines = [f"INFO job {4700 + i // 10}: segment {i % 10:05d} encoded (h264 1080p, 16 MiB)" for i in range(60)]
        lines.append(f"INFO job 4711: staging segments in {self.mount}")
        lines += [f"INFO job 4711: segment {i:05d} staged" for i in range(0, 80, 8)]
        lines.append("ERROR worker 2 (job 4711) exited on signal 11 (SIGSEGV), job abandoned")
        world.backfill("vod_transcode", lines, minutes=30)
        chunk = os.urandom(MIB)
        for i in range(80):
            with (self.mount / f"vod-4711-seg{i:05d}.yuv").open("wb") as fh:
                for _ in range(16):
                    fh.write(chunk)
        when = time.time() - 150  # the crashed job's last writes
        for path in self.mount.iterdir():
            os.utime(path, (when, when))

    def question(self, world: World) -> str | None:
        return (
            "Available memory on this box dropped by more than a gigabyte in the last half hour, but no process in top "
            "grew. What is holding the memory?"
        )

    def truth(self, world: World) -> Truth:
        return Truth("memory", "path", str(self.mount), None, "manual")
