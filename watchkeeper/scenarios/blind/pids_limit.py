from __future__ import annotations

from watchkeeper.scenarios.base import Truth
from watchkeeper.scenarios.blind import BlindScenario, spawn
from watchkeeper.scenarios.world import World


class PidsLimit(BlindScenario):
    name = "blind_pids_limit"
    description = (
        "The report runner's cgroup has pids.max 64 (a unit's TasksMax): its PDF renderers hang on one template "
        "in three and it waits for them with no time limit, so hung renderers and their watcher threads fill the "
        "group and fork() fails with EAGAIN ('Resource temporarily unavailable', 'can't start new thread'). "
        "Beside it: a pre-forked application pool of 40 idle workers and a busy indexer."
    )
    fault_class = "process"

    def setup(self, world: World) -> None:
        group = world.make_cgroup("pids", {"pids.max": "64"})
        spawn(world, "prefork", "app_pool", "--child", "app_pool", "--concurrency", "40")  # decoy: many, idle
        spawn(world, "duty", "search_indexer", "--duty", "0.4", log=False)  # decoy: busy on the CPU
        lines = [f"INFO job {829000 + i} (statement-{i % 97:02d}.html) rendered in 0.3s (exit 0)" for i in range(90)]
        world.backfill("report_runner", lines)
        spawn(world, "jobrunner", "report_runner", "--child", "html2pdf", "--hold", "0.05", cgroup=group)
        log = world.log_path("report_runner")
        world.wait_until(lambda: "Resource temporarily unavailable" in log.read_text(), 40, "the group did not fill")

    def question(self, world: World) -> str | None:
        return "report_runner has not produced a single report for the last ten minutes. What is wrong with it?"

    def truth(self, world: World) -> Truth:
        return Truth("process", "process", "report_runner", "restart_service", "mutating")
