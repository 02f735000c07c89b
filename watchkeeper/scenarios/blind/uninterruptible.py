from __future__ import annotations

from datetime import UTC, datetime, timedelta

from watchkeeper.scenarios.base import Truth
from watchkeeper.scenarios.blind import BlindScenario
from watchkeeper.scenarios.world import World

NFS = "nfs01.corp.internal"
TRACE = [
    "      Not tainted 6.8.0-45-generic #45-Ubuntu",
    '"echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.',
    "task:media_indexer   state:D stack:0     pid:{pid} tgid:{tgid} ppid:1      flags:0x00004002",
    "Call Trace:",
    " <TASK>",
    " __schedule+0x279/0x6a0",
    " schedule+0x29/0xa0",
    " io_schedule+0x4c/0x80",
    " folio_wait_bit_common+0x13a/0x360",
    " ? __pfx_wake_page_function+0x10/0x10",
    " folio_wait_writeback+0x2b/0x90",
    " __filemap_fdatawait_range+0x90/0x100",
    " filemap_write_and_wait_range+0x8d/0xb0",
    " nfs_wb_all+0x2a/0x140 [nfs]",
    " nfs4_file_flush+0x87/0xd0 [nfsv4]",
    " filp_flush+0x3b/0x90",
    " __x64_sys_close+0x33/0x90",
    " do_syscall_64+0x7e/0x170",
    " entry_SYSCALL_64_after_hwframe+0x78/0x80",
    " </TASK>",
]


class Uninterruptible(BlindScenario):
    name = "blind_uninterruptible"
    description = (
        "Simulated: the media indexer's threads hang in D state flushing to an NFS mount whose server stopped "
        "answering (kernel hung-task reports, the indexer's log going silent)."
    )
    fault_class = "process"
    simulated = True  # no task is left in D state here: the kernel log and the indexer's log are written

    def setup(self, world: World) -> None:
        now = datetime.now(UTC)

        def stamp(seconds_ago: float) -> str:
            return (now - timedelta(seconds=seconds_ago)).isoformat(timespec="milliseconds").replace("+00:00", "Z")

        indexer = world.log_path("media_indexer")
        indexer.parent.mkdir(parents=True)
        with indexer.open("w") as fh:  # the history, then its last lines six minutes ago: silent since
            for i in range(80):
                fh.write(f"{stamp(1800 - i * 17)} INFO indexed /mnt/media/uploads/2026/11/batch-{i:04d} (250 files)\n")
            fh.write(f"{stamp(395)} WARN writing /mnt/media/.index/thumbs-0080.db took 12.4s\n")
            fh.write(f"{stamp(380)} INFO flushing index segment 0080 (4 worker threads)\n")
        kernel = [(390, f"kernel: nfs: server {NFS} not responding, still trying")]
        for ago, pid, blocked in ((250, 31877, 122), (249, 31880, 122), (127, 31877, 245), (126, 31881, 245)):
            kernel.append((ago, f"kernel: INFO: task media_indexer:{pid} blocked for more than {blocked} seconds."))
            kernel += [(ago, f"kernel: {line.format(pid=pid, tgid=31871)}") for line in TRACE]
        kernel += [(60, f"kernel: nfs: server {NFS} not responding, still trying")]
        with (world.log_root / "kern.log").open("w") as fh:
            for ago, line in kernel:
                fh.write(f"{(now - timedelta(seconds=ago)).isoformat(timespec='microseconds')} media01 {line}\n")

    def question(self, world: World) -> str | None:
        return "这台机器负载一直在涨，CPU却几乎是空闲的，怎么回事？"  # noqa: RUF001 (a Chinese question)

    def truth(self, world: World) -> Truth:
        return Truth("process", "process", "media_indexer", None, "manual")
