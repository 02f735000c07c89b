"""file_users: which processes have a file (or files under a directory) open, like `lsof`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import psutil
from pydantic import Field

from watchkeeper.policy.risk import RiskClass
from watchkeeper.skills.base import Scope, SkillParams, skill
from watchkeeper.skills.context import SkillContext

MAX_USERS = 50


class FileUsersParams(SkillParams):
    path: str = Field(..., description="Absolute file or directory; a directory matches every file below it.")


def _locks() -> dict[tuple[int, int], set[int]]:
    """Who holds a lock on which file, from /proc/locks: (device, inode) -> pids (flock and POSIX locks)."""
    held: dict[tuple[int, int], set[int]] = {}
    try:
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return held
    for line in lines:
        fields = line.split()
        if "->" in fields:  # a waiter, not a holder
            continue
        try:
            pid, (major, minor, inode) = int(fields[4]), fields[5].split(":")
            held.setdefault((os.makedev(int(major, 16), int(minor, 16)), int(inode)), set()).add(pid)
        except (IndexError, ValueError):
            continue
    return held


def _locked(path: str, pid: int, locks: dict[tuple[int, int], set[int]]) -> bool:
    try:
        st = os.stat(path)
    except OSError:
        return False
    return pid in locks.get((st.st_dev, st.st_ino), set())


@skill(
    key="file_users",
    name="Processes using a file",
    description="The processes that hold a file open (or any file under a directory): pid, name, user, the "
    "open path, its mode and whether it holds a lock on it (flock or POSIX, from /proc/locks). Answers 'who is "
    "writing this log that fills the disk' and 'who holds the lock everyone waits for'.",
    risk=RiskClass.SAFE,
    scope=Scope.HOST,
    category="processes",
    idempotent=True,
    result_example={
        "path": "/var/log/app",
        "users": [
            {"pid": 4242, "name": "app", "user": "app", "file": "/var/log/app/debug.log", "mode": "a", "locked": False}
        ],
    },
)
def file_users(params: FileUsersParams, ctx: SkillContext) -> dict[str, Any]:
    target = os.path.realpath(params.path)
    prefix = target.rstrip("/") + "/"
    locks = _locks()
    users = []
    for proc in psutil.process_iter(["pid", "name", "username"]):
        try:
            files = proc.open_files()
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
        for f in files:
            if f.path == target or f.path.startswith(prefix):
                users.append(
                    {
                        "pid": proc.info["pid"],
                        "name": proc.info["name"],
                        "user": proc.info["username"],
                        "file": f.path,
                        "mode": getattr(f, "mode", None),
                        "locked": _locked(f.path, proc.info["pid"], locks),
                    }
                )
        if len(users) >= MAX_USERS:
            break
    return {"path": target, "users": users[:MAX_USERS]}
