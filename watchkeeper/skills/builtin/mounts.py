"""mounts: every filesystem as an SRE checks it: space, inodes, read-only, and deleted files still held open.

Deleted-but-open files are found the way `lsof +L1` does, from /proc/*/fd, and attributed to a mount by
device number: walking a filesystem could never see them and would cost far more.
"""

from __future__ import annotations

import os
import stat
from collections import defaultdict
from typing import Any

import psutil
from pydantic import Field

from watchkeeper.policy.risk import RiskClass
from watchkeeper.skills.base import Scope, SkillParams, skill
from watchkeeper.skills.context import SkillContext

# Kernel interfaces, not storage: their numbers mean nothing to an operator.
PSEUDO_FS = {
    "proc", "sysfs", "cgroup", "cgroup2", "devpts", "devtmpfs", "mqueue", "debugfs", "tracefs", "securityfs",
    "pstore", "bpf", "configfs", "fusectl", "hugetlbfs", "autofs", "binfmt_misc", "nsfs", "rpc_pipefs",
    "efivarfs", "selinuxfs",
}  # fmt: skip
IMAGE_FS = {"squashfs", "iso9660"}  # read-only images (snaps, CDs): always full, by design
PSEUDO_ROOTS = ("/proc", "/sys")
# Deleted targets that are memory, not files on a mount: memfd_create, SysV shared memory, /dev/zero maps.
ANONYMOUS = ("/memfd:", "/SYSV", "/dev/zero", "anon_inode:")
DELETED = " (deleted)"


class MountsParams(SkillParams):
    deleted_top: int = Field(5, ge=1, le=50, description="Deleted-but-open files listed per mount (largest first).")


def _wanted(mountpoint: str, fstype: str, real: set[str]) -> bool:
    """Block-device filesystems, and any other (tmpfs, NFS, FUSE, overlay) that is not a kernel interface;
    the caller drops those of zero size."""
    if any(mountpoint == root or mountpoint.startswith(root + "/") for root in PSEUDO_ROOTS):
        return False
    return fstype in real - IMAGE_FS or fstype not in PSEUDO_FS | IMAGE_FS


def _deleted_open() -> dict[int, list[dict[str, Any]]]:
    """Deleted regular files still open, by the st_dev of their filesystem: one entry per file (st_ino),
    naming its first holder."""
    by_dev: dict[int, list[dict[str, Any]]] = defaultdict(list)
    seen: set[tuple[int, int]] = set()
    names: dict[int, str | None] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        fd_dir = f"/proc/{pid}/fd"
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue  # gone, or not ours to read
        for fd in fds:
            link = f"{fd_dir}/{fd}"
            try:
                target = os.readlink(link)
            except OSError:
                continue
            if not target.endswith(DELETED) or target.startswith(ANONYMOUS) or not target.startswith("/"):
                continue
            try:
                st = os.stat(link)  # follows the fd to the open file itself
            except OSError:
                continue
            if not stat.S_ISREG(st.st_mode) or (st.st_dev, st.st_ino) in seen:
                continue
            if not st.st_blocks and not st.st_size:
                continue  # an empty scratch file (databases keep several): holds no space
            seen.add((st.st_dev, st.st_ino))
            if pid not in names:
                try:
                    names[pid] = psutil.Process(pid).name()
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    names[pid] = None
            by_dev[st.st_dev].append(
                {
                    "path": target[: -len(DELETED)],
                    "bytes": st.st_blocks * 512,  # the space it holds, as df counts it (sparse files hold less)
                    "size_bytes": st.st_size,
                    "pid": pid,
                    "process": names[pid],
                    "fd": int(fd),
                }
            )
    return by_dev


@skill(
    key="mounts",
    name="Mounted filesystems",
    description="Each mounted filesystem with its device, type, mount options and read-only flag, space and "
    "inode use, and the deleted files still held open there (space df counts but no directory shows; "
    "freed when the holder closes them or exits), largest first, with the holding pid.",
    risk=RiskClass.SAFE,
    scope=Scope.HOST,
    category="disk",
    idempotent=True,
    result_example={
        "mounts": [
            {
                "mount": "/var",
                "device": "/dev/sda2",
                "fstype": "ext4",
                "options": ["rw", "relatime"],
                "read_only": False,
                "total_bytes": 53687091200,
                "used_bytes": 51002736640,
                "free_bytes": 2684354560,
                "percent": 95.0,
                "inodes_total": 3276800,
                "inodes_used": 181234,
                "inodes_percent": 5.5,
                "deleted_open_bytes": 21474836480,
                "deleted_open": [
                    {
                        "path": "/var/spool/x.dat",
                        "bytes": 21474836480,
                        "size_bytes": 21474836480,
                        "pid": 42,
                        "process": "audit_shipper",
                        "fd": 5,
                    }
                ],
            }
        ],
        "count": 1,
    },
)
def mounts(params: MountsParams, ctx: SkillContext) -> dict[str, Any]:
    real = {p.fstype for p in psutil.disk_partitions(all=False)}
    latest: dict[str, Any] = {}
    for part in psutil.disk_partitions(all=True):
        if _wanted(part.mountpoint, part.fstype, real):
            latest[part.mountpoint] = part  # mounted over: the last entry is the one a path reaches
    deleted = _deleted_open()
    out = []
    for mountpoint in sorted(latest):
        part = latest[mountpoint]
        try:
            dev = os.stat(mountpoint).st_dev
            vfs = os.statvfs(mountpoint)
        except OSError:
            continue
        total = vfs.f_blocks * vfs.f_frsize
        if not total and part.fstype not in real:
            continue  # an empty pseudo filesystem holds nothing to run out of
        used = (vfs.f_blocks - vfs.f_bfree) * vfs.f_frsize
        avail = vfs.f_bavail * vfs.f_frsize
        inodes_used = vfs.f_files - vfs.f_ffree
        options = part.opts.split(",") if part.opts else []
        # A bind mount shares its st_dev with its source: the same held space counts on both, as df shows.
        files = sorted(deleted.get(dev, []), key=lambda f: f["bytes"], reverse=True)
        out.append(
            {
                "mount": mountpoint,
                "device": part.device,
                "fstype": part.fstype,
                "options": options,
                "read_only": "ro" in options,
                "total_bytes": total,
                "used_bytes": used,
                "free_bytes": avail,
                # Like df: of the space users may write to (reserved blocks excluded).
                "percent": round(100 * used / (used + avail), 1) if used + avail else 0.0,
                "inodes_total": vfs.f_files,
                "inodes_used": inodes_used,
                "inodes_percent": round(100 * inodes_used / vfs.f_files, 1) if vfs.f_files else None,
                "deleted_open_bytes": sum(f["bytes"] for f in files),
                "deleted_open": files[: params.deleted_top],
            }
        )
    return {"mounts": out, "count": len(out)}
