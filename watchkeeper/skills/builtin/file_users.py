"""file_users: which processes have a file (or files under a directory) open, like `lsof`."""

from __future__ import annotations

import os
from typing import Any

import psutil
from pydantic import Field

from watchkeeper.policy.risk import RiskClass
from watchkeeper.skills.base import Scope, SkillParams, skill
from watchkeeper.skills.context import SkillContext

MAX_USERS = 50


class FileUsersParams(SkillParams):
    path: str = Field(..., description="Absolute file or directory; a directory matches every file below it.")


@skill(
    key="file_users",
    name="Processes using a file",
    description="The processes that hold a file open (or any file under a directory): pid, name, user, the "
    "open path and its mode. Answers 'who is writing this log that fills the disk'.",
    risk=RiskClass.SAFE,
    scope=Scope.HOST,
    category="processes",
    idempotent=True,
    result_example={
        "path": "/var/log/app",
        "users": [{"pid": 4242, "name": "app", "user": "app", "file": "/var/log/app/debug.log", "mode": "a"}],
    },
)
def file_users(params: FileUsersParams, ctx: SkillContext) -> dict[str, Any]:
    target = os.path.realpath(params.path)
    prefix = target.rstrip("/") + "/"
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
                    }
                )
        if len(users) >= MAX_USERS:
            break
    return {"path": target, "users": users[:MAX_USERS]}
