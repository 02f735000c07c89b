"""kernel_log on a real kern.log in the read allowlist, and on a stand-in `dmesg` where the ring buffer's
content must be known (the same kill in both sources, dmesg not permitted)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import call
from watchkeeper.app import App

OOM = (
    "Out of memory: Killed process 4242 (etl_loader) total-vm:24315120kB, anon-rss:23650112kB, file-rss:1024kB, "
    "shmem-rss:0kB, UID:998 pgtables:46420kB oom_score_adj:0"
)
OOM_CGROUP = (
    "oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,"
    "task_memcg=/system.slice/etl.service,task=etl_loader,pid=4242,uid=998"
)
INVOKED = "etl_loader invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), order=0, oom_score_adj=0"
SEGFAULT = (
    "img_resizer[5150]: segfault at 0 ip 00007f3a2b1c4d50 sp 00007ffd4e3f2a10 error 4 in libc.so.6[7f3a2b000000+195000]"
)


def iso_ago(minutes: float) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat(timespec="microseconds")


def syslog_ago(minutes: float) -> str:
    """Classic syslog: local time, no year, the day padded with a space."""
    stamp = datetime.now() - timedelta(minutes=minutes)
    return f"{stamp:%b} {stamp.day:2d} {stamp:%H:%M:%S}"


@pytest.fixture
def kern_log(log_dir: Path) -> Path:
    path = log_dir / "kern.log"
    path.write_text(
        "\n".join(
            [
                f"{iso_ago(180)} db-1 kernel: Out of memory: Killed process 1111 (old_loader) total-vm:1kB",
                f"{iso_ago(10)} db-1 kernel: [81234.567890] {INVOKED}",
                f"{iso_ago(10)} db-1 kernel: [81234.567990] {OOM_CGROUP}",
                f"{iso_ago(10)} db-1 kernel: [81234.568000] {OOM}",
                f"{syslog_ago(8)} db-1 kernel: [81300.000001] {SEGFAULT}",
                f"{iso_ago(7)} db-1 kernel: Buffer I/O error on dev sdb1, logical block 0, async page read",
                f"{iso_ago(6)} db-1 kernel: INFO: task kworker/0:1:123 blocked for more than 120 seconds.",
                f"{iso_ago(5)} db-1 kernel: e1000e 0000:00:19.0 eth0: NIC Link is Up 1000 Mbps Full Duplex",
                "a line without a timestamp: probe failed",
            ]
        )
        + "\n"
    )
    return path


@pytest.fixture
def fake_dmesg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A `dmesg` first on PATH; the test writes what it prints (`out`) or how it fails (`err`, `rc`)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "dmesg"
    script.write_text(f'#!/bin/sh\ncat "{bin_dir}/out"\ncat "{bin_dir}/err" >&2\nexit $(cat "{bin_dir}/rc")\n')
    script.chmod(0o755)
    for name, text in (("out", ""), ("err", ""), ("rc", "0")):
        (bin_dir / name).write_text(text)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return bin_dir


def kernel_log(rt: App, **params: Any) -> dict[str, Any]:
    result = call(rt, "kernel_log", **params)
    assert result.ok, result.error
    return dict(result.result)


def from_file(result: dict[str, Any], path: Path) -> list[dict[str, Any]]:
    return [e for e in result["events"] if e["source"] == str(path)]


def test_events_from_kern_log_within_the_window(rt: App, fake_dmesg: Path, kern_log: Path) -> None:
    result = kernel_log(rt, since_minutes=60)
    assert result["sources"] == ["dmesg", str(kern_log)]
    events = {e["kind"]: e for e in from_file(result, kern_log)}
    assert len(from_file(result, kern_log)) == 4, "the cgroup line and the Killed line are one kill"
    oom = events["oom_kill"]
    assert (oom["process"], oom["pid"], oom["invoked_by"]) == ("etl_loader", 4242, "etl_loader")
    assert oom["at"] is not None and oom["line"].startswith(iso_ago(10)[:10])
    assert (events["segfault"]["process"], events["segfault"]["pid"]) == ("img_resizer", 5150)
    assert events["segfault"]["at"] is not None  # a syslog timestamp, read as local time
    assert events["io_error"]["device"] == "sdb1" and events["io_error"]["pid"] is None
    assert (events["hung_task"]["process"], events["hung_task"]["pid"]) == ("kworker/0:1", 123)
    assert result["counts"] == {"oom_kill": 1, "segfault": 1, "io_error": 1, "hung_task": 1}
    assert "old_loader" not in str(result), "a line older than the window is dropped"
    assert "a line without a timestamp: probe failed" in result["lines"]
    assert not any("NIC Link is Up" in line for line in result["lines"]), "only warnings and errors"
    assert all(len(line) <= 300 for line in result["lines"])
    assert len(kernel_log(rt, since_minutes=60, lines=2)["lines"]) == 2


def test_the_same_kill_in_dmesg_and_kern_log_counts_once(rt: App, fake_dmesg: Path, kern_log: Path) -> None:
    ts = iso_ago(10).replace(".", ",")  # dmesg --time-format iso writes a comma
    (fake_dmesg / "out").write_text(
        f"kern  :warn  : {ts} {INVOKED}\n"
        f"kern  :info  : {ts} {OOM_CGROUP}\n"
        f"kern  :err   : {ts} {OOM}\n"
        f"kern  :err   : {ts} EXT4-fs error (device vda1): ext4_find_entry:1455: inode #2: comm ls: reading directory\n"
        f"kern  :info  : {ts} eth0: link up\n"
    )
    result = kernel_log(rt, since_minutes=60)
    kills = [e for e in result["events"] if e["kind"] == "oom_kill"]
    assert len(kills) == 1 and kills[0]["source"] == "dmesg" and kills[0]["pid"] == 4242
    assert kills[0]["line"].startswith(ts), "a dmesg line as dmesg --time-format iso prints it"
    assert result["counts"]["oom_kill"] == 1 and result["counts"]["io_error"] == 2
    devices = {e["device"] for e in result["events"] if e["kind"] == "io_error"}
    assert devices == {"vda1", "sdb1"}
    assert sum(OOM[:40] in line for line in result["lines"]) == 1, "the file's copy of the line is not repeated"


def test_dmesg_not_permitted_is_skipped_quietly(rt: App, fake_dmesg: Path, kern_log: Path) -> None:
    (fake_dmesg / "err").write_text("dmesg: read kernel buffer failed: Operation not permitted\n")
    (fake_dmesg / "rc").write_text("1")
    result = kernel_log(rt)
    assert result["sources"] == [str(kern_log)]
    assert result["unavailable"] == [
        {"source": "dmesg", "reason": "dmesg: read kernel buffer failed: Operation not permitted"}
    ]
    assert result["counts"]["oom_kill"] == 1


def test_nothing_outside_the_allowlist_is_read(rt: App, fake_dmesg: Path, log_dir: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "kern.log"
    secret.write_text(f"{iso_ago(1)} host kernel: {OOM}\n")
    (log_dir / "kern.log").symlink_to(secret)  # an escape through a link is refused, not followed
    result = kernel_log(rt)
    assert result["sources"] == ["dmesg"]
    assert result["events"] == [] and result["counts"]["oom_kill"] == 0
    assert "etl_loader" not in str(result["lines"])
    [refused] = result["unavailable"]
    assert refused["source"] == str(log_dir / "kern.log") and "outside the read allowlist" in refused["reason"]


def test_the_real_ring_buffer(rt: App) -> None:
    """Whatever this host allows: dmesg read, or skipped with its reason; never a failed call."""
    result = kernel_log(rt, since_minutes=10080, lines=5)
    assert ("dmesg" in result["sources"]) != any(u["source"] == "dmesg" for u in result["unavailable"])
    assert len(result["lines"]) <= 5
