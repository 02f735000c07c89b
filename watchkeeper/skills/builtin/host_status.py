"""host_status: the numbers an SRE reads first: CPU, load, memory, swap, disks, uptime."""

from __future__ import annotations

import os
import socket
import time
from typing import Any

import psutil
from pydantic import Field

from watchkeeper.policy.risk import RiskClass
from watchkeeper.skills.base import Scope, SkillParams, skill
from watchkeeper.skills.context import SkillContext
from watchkeeper.skills.procinfo import iso

# Pseudo and image filesystems whose fullness means nothing to an operator.
IGNORED_FS = {"squashfs", "iso9660", "devtmpfs", "proc", "sysfs", "cgroup", "cgroup2", "nsfs", "autofs", "tracefs"}


class HostStatusParams(SkillParams):
    sample_seconds: float = Field(0.5, ge=0.0, le=5.0, description="How long to sample CPU use, in seconds.")


def disks() -> list[dict[str, Any]]:
    seen: set[str] = set()
    out = []
    for part in psutil.disk_partitions(all=False):
        if part.fstype in IGNORED_FS or part.mountpoint in seen:
            continue
        seen.add(part.mountpoint)
        try:
            use = psutil.disk_usage(part.mountpoint)
            st = os.statvfs(part.mountpoint)
        except OSError:
            continue
        inodes_pct = round(100 * (st.f_files - st.f_ffree) / st.f_files, 1) if st.f_files else None
        out.append(
            {
                "mount": part.mountpoint,
                "device": part.device,
                "fstype": part.fstype,
                "total_bytes": use.total,
                "used_bytes": use.used,
                "free_bytes": use.free,
                "percent": use.percent,
                "inodes_percent": inodes_pct,
            }
        )
    return out


@skill(
    key="host_status",
    name="Host status",
    description="CPU use, load averages (1/5/15 min), memory, swap, per-mount disk and inode use, and uptime "
    "of the host.",
    risk=RiskClass.SAFE,
    scope=Scope.HOST,
    category="host",
    idempotent=True,
    result_example={
        "hostname": "web-1",
        "cpu_percent": 12.5,
        "cpu_count": 2,
        "load": {"1m": 0.4, "5m": 0.3, "15m": 0.2, "per_core_1m": 0.2},
        "memory": {"total_bytes": 8e9, "available_bytes": 5e9, "percent": 37.5},
        "swap": {"total_bytes": 2e9, "used_bytes": 0, "percent": 0.0},
        "disks": [{"mount": "/", "percent": 41.0, "inodes_percent": 7.1}],
        "uptime_s": 86400,
    },
)
def host_status(params: HostStatusParams, ctx: SkillContext) -> dict[str, Any]:
    cpu = psutil.cpu_percent(interval=params.sample_seconds or None)
    count = psutil.cpu_count() or 1
    l1, l5, l15 = os.getloadavg()
    mem = psutil.virtual_memory()
    swap = psutil.swap_memory()
    boot = psutil.boot_time()
    return {
        "hostname": socket.gethostname(),
        "cpu_percent": cpu,
        "cpu_count": count,
        "load": {"1m": round(l1, 2), "5m": round(l5, 2), "15m": round(l15, 2), "per_core_1m": round(l1 / count, 2)},
        "memory": {
            "total_bytes": mem.total,
            "available_bytes": mem.available,
            "used_bytes": mem.used,
            "percent": mem.percent,
        },
        "swap": {
            "total_bytes": swap.total,
            "used_bytes": swap.used,
            "percent": swap.percent,
            "swapped_in_bytes": swap.sin,
            "swapped_out_bytes": swap.sout,
        },
        "disks": disks(),
        "uptime_s": int(time.time() - boot),
        "booted_at": iso(boot),
    }
