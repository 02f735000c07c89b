"""mounts against real tmpfs mounts: a deleted file still held open, a read-only mount, inodes running out."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.conftest import call, missing_backend
from tests.helpers import python_child
from watchkeeper.app import App

MIB = 1024 * 1024


@contextlib.contextmanager
def tmpfs(path: Path, options: str) -> Iterator[Path]:
    """A tmpfs of our own at `path` (mount needs root)."""
    path.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True, text=True)
    if done.returncode != 0:
        missing_backend(f"a tmpfs (mount needs root): {done.stderr.strip()}")
    try:
        yield Path(os.path.realpath(path))
    finally:
        if subprocess.run(["umount", str(path)], check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(path)], check=False)


def mounts(rt: App, **params: Any) -> dict[str, dict[str, Any]]:
    result = call(rt, "mounts", **params)
    assert result.ok, result.error
    assert result.result["count"] == len(result.result["mounts"])
    listed = [m["mount"] for m in result.result["mounts"]]
    assert listed == sorted(listed)
    return {m["mount"]: m for m in result.result["mounts"]}


def test_the_root_filesystem_and_no_kernel_interfaces(rt: App) -> None:
    found = mounts(rt)
    root = found["/"]
    assert 0 < root["percent"] < 100 and root["total_bytes"] > root["used_bytes"] > 0
    assert root["inodes_total"] > 0 and root["inodes_percent"] is not None
    assert root["read_only"] is ("ro" in root["options"])
    assert not [m for m in found if m in ("/proc", "/sys") or m.startswith(("/proc/", "/sys/"))]


def test_a_deleted_file_held_open_is_counted_once_and_names_its_holder(rt: App, tmp_path: Path) -> None:
    with tmpfs(tmp_path / "spool", "size=16m") as spool:
        data = spool / "x.dat"
        # Two descriptors on the one deleted file: its 4 MiB count once.
        setup = (
            f"import os\nf = open({str(data)!r}, 'wb')\nf.write(os.urandom(4 * 1024 * 1024))\nf.flush()\n"
            f"g = open({str(data)!r}, 'rb')\nos.unlink({str(data)!r})"
        )
        with python_child(setup) as holder:
            found = mounts(rt, deleted_top=3)[str(spool)]
        # The holder is gone (python_child kills it) before the mount goes.
    assert 4 * MIB <= found["deleted_open_bytes"] < 5 * MIB
    assert found["used_bytes"] >= 4 * MIB, "df counts what no directory shows"
    [held] = found["deleted_open"]
    assert held["path"] == str(data) and held["pid"] == holder.pid
    assert held["process"] and held["fd"] >= 3 and held["size_bytes"] == 4 * MIB


def test_a_read_only_mount_says_so(rt: App, tmp_path: Path) -> None:
    with tmpfs(tmp_path / "ro", "ro,size=1m") as ro, tmpfs(tmp_path / "rw", "size=1m") as rw:
        found = mounts(rt)
    assert found[str(ro)]["read_only"] is True and "ro" in found[str(ro)]["options"]
    assert found[str(rw)]["read_only"] is False
    assert found[str(ro)]["fstype"] == "tmpfs" and found[str(ro)]["total_bytes"] == 1 * MIB


def test_inodes_running_out(rt: App, tmp_path: Path) -> None:
    with tmpfs(tmp_path / "small", "size=4m,nr_inodes=100") as small:
        for i in range(90):
            (small / f"f{i}").touch()
        found = mounts(rt)[str(small)]
    assert found["inodes_total"] == 100 and found["inodes_used"] >= 90
    assert found["inodes_percent"] >= 90
    assert found["percent"] < 5, "space is not what runs out"
