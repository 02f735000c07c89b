"""path_info: what `ls -ld` and `namei -l` say about a path an error message names, and whether a user
could read or write it. Reads metadata only, never contents, so (like disk_usage and file_users) it is
not bound to the read allowlist: the file an error names is often a config outside /var/log."""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
from pydantic import Field

from watchkeeper.errors import SkillFailed
from watchkeeper.policy.risk import RiskClass
from watchkeeper.skills.base import Scope, SkillParams, skill
from watchkeeper.skills.context import SkillContext
from watchkeeper.skills.procinfo import iso

# Null when the path does not exist.
FACTS = (
    "type",
    "mode",
    "owner",
    "group",
    "uid",
    "gid",
    "size",
    "modified_at",
    "modified_ago_s",
    "mount",
    "read_only_mount",
    "acl",
)
ACCESS = ("readable", "writable", "blocked_by")
R, W, X = 4, 2, 1


class PathInfoParams(SkillParams):
    path: str = Field(..., description="Absolute path of a file or directory.")
    as_user: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        description="A user name or numeric uid: whether that user could read and write the path, following "
        "every parent directory's search (x) bit like `namei -l`.",
    )


@dataclass(frozen=True)
class User:
    name: str | None
    uid: int
    groups: frozenset[int]


def _user(spec: str) -> User:
    try:
        entry = pwd.getpwuid(int(spec)) if spec.isdigit() else pwd.getpwnam(spec)
    except KeyError:
        if not spec.isdigit():
            raise SkillFailed(f"no user named {spec!r} on this host") from None
        return User(None, int(spec), frozenset())  # a bare uid (a container's, say) with no passwd entry
    # getgrouplist asks the same NSS sources as `id`: the primary group and every supplementary one.
    return User(entry.pw_name, entry.pw_uid, frozenset(os.getgrouplist(entry.pw_name, entry.pw_gid)))


def _owner(uid: int) -> str | None:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return None


def _group(gid: int) -> str | None:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return None


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "dir"
    return "other"


def _describe(path: str, st: os.stat_result) -> str:
    owner = _owner(st.st_uid) or st.st_uid
    group = _group(st.st_gid) or st.st_gid
    return f"{path}: mode {stat.S_IMODE(st.st_mode):04o} owner {owner} group {group}"


def _allowed(st: os.stat_result, user: User, want: int) -> bool:
    """The kernel's DAC check on mode bits: the owner class alone if the user owns it, else the group
    class if in the group, else other (ACLs aside). Root passes, except that it may not enter a
    directory or run a file without any x bit."""
    mode = stat.S_IMODE(st.st_mode)
    if user.uid == 0:
        return not (want & X) or stat.S_ISDIR(st.st_mode) or bool(mode & 0o111)
    if st.st_uid == user.uid:
        bits = mode >> 6
    elif st.st_gid in user.groups:
        bits = mode >> 3
    else:
        bits = mode
    return bits & want == want


def _mount(path: Path) -> tuple[str | None, bool | None]:
    """The mount holding `path`: the longest mount point above it; the last of stacked mounts wins."""
    best: tuple[str, str] | None = None
    for part in psutil.disk_partitions(all=True):
        point = part.mountpoint
        inside = point == "/" or str(path) == point or str(path).startswith(point.rstrip("/") + "/")
        if inside and (best is None or len(point) >= len(best[0])):
            best = (point, part.opts)
    if best is None:
        return None, None
    return best[0], "ro" in best[1].split(",")


def _has_acl(path: Path) -> bool:
    with contextlib.suppress(OSError):
        return "system.posix_acl_access" in os.listxattr(path, follow_symlinks=False)
    return False


def _lstat(path: str) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except PermissionError:
        raise SkillFailed(f"permission denied to stat {path} (watchkeeper runs as uid {os.geteuid()})") from None


def _directories(*paths: str) -> list[str]:
    """Every directory walked to reach the paths, root first, each once (a symlink walks both routes)."""
    seen: dict[str, None] = {}
    for path in paths:
        parts = Path(path).parts
        for i in range(1, len(parts)):
            seen.setdefault(str(Path(*parts[:i])), None)
    return list(seen)


def _access(
    given: str, real: Path, target: os.stat_result | None, user: User, read_only: bool | None
) -> dict[str, Any]:
    for directory in _directories(given, str(real)):
        try:
            st = os.stat(directory)
        except OSError:
            continue  # a dangling route: the target's own check below says so
        if not _allowed(st, user, X):
            return {"readable": False, "writable": False, "blocked_by": _describe(directory, st)}
    if target is None:
        return {"readable": False, "writable": False, "blocked_by": f"{given}: dangling symlink to {real}"}
    # Listing a directory needs r; creating in it needs w and x, as `touch dir/new` does.
    readable = _allowed(target, user, R)
    writable = _allowed(target, user, W | X if stat.S_ISDIR(target.st_mode) else W)
    blocked_by = None
    if not readable or not writable:
        blocked_by = _describe(str(real), target)
    elif read_only:
        blocked_by = f"{real}: on a read-only mount"
    return {"readable": readable, "writable": writable and not read_only, "blocked_by": blocked_by}


@skill(
    key="path_info",
    name="Path info",
    description="What `ls -ld` and `namei -l` tell about a path (metadata only, never contents): whether it exists, "
    "type, mode, owner and group, size, last change, its mount and whether that mount is read-only. With "
    "as_user: whether that user could read and write it, and the first file or parent directory that stops it. "
    "Answers 'permission denied' and 'no such file' errors.",
    risk=RiskClass.SAFE,
    scope=Scope.HOST,
    category="files",
    idempotent=True,
    result_example={
        "path": "/etc/app/app.yaml",
        "resolved": "/etc/app/app.yaml",
        "exists": True,
        "type": "file",
        "mode": "0600",
        "owner": "root",
        "group": "root",
        "uid": 0,
        "gid": 0,
        "size": 123,
        "modified_at": "2026-11-22T01:00:00+00:00",
        "modified_ago_s": 42.0,
        "mount": "/",
        "read_only_mount": False,
        "acl": False,
        "as_user": "nobody",
        "readable": False,
        "writable": False,
        "blocked_by": "/etc/app/app.yaml: mode 0600 owner root group root",
    },
)
def path_info(params: PathInfoParams, ctx: SkillContext) -> dict[str, Any]:
    if "\x00" in params.path or not os.path.isabs(params.path):
        raise SkillFailed(f"path {params.path!r} must be an absolute path")
    real = Path(os.path.realpath(params.path))
    given = os.path.normpath(params.path)
    user = _user(params.as_user) if params.as_user is not None else None
    out: dict[str, Any] = {"path": given, "resolved": str(real), "exists": False, **dict.fromkeys(FACTS)}
    if user is not None:
        out |= {"as_user": user.name or str(user.uid), **dict.fromkeys(ACCESS)}
    link = _lstat(given)
    if link is None:
        return out  # "no such file" is a fact, not a failure
    # ls -ld describes the name itself (a link stays a link); access follows it, as open() does.
    target = link if not stat.S_ISLNK(link.st_mode) else _lstat(str(real))
    mount, read_only = _mount(real if target is not None else Path(given))
    out |= {
        "exists": True,
        "type": _kind(link.st_mode),
        "mode": f"{stat.S_IMODE(link.st_mode):04o}",
        "owner": _owner(link.st_uid),
        "group": _group(link.st_gid),
        "uid": link.st_uid,
        "gid": link.st_gid,
        "size": link.st_size,
        "modified_at": iso(link.st_mtime),
        "modified_ago_s": round(time.time() - link.st_mtime, 1),
        "mount": mount,
        "read_only_mount": read_only,
        "acl": _has_acl(real if target is not None else Path(given)),  # ls shows "+": mode bits may not tell all
    }
    if user is not None:
        out |= _access(given, real, target, user, read_only)
    return out
