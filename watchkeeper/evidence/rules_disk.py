"""Rules over filesystems: a file that grows, space held by deleted files, inodes."""

from __future__ import annotations

from typing import Any

from watchkeeper.evidence.facts import (
    DeletedOpen,
    DiskFillForecast,
    DiskUsage,
    FileGrowth,
    Inodes,
    LargestFile,
    MemoryReading,
    ProcessMemoryTop,
    TmpfsUsage,
)
from watchkeeper.evidence.investigation import Investigation
from watchkeeper.evidence.report import Finding, Hypothesis, RuledOut
from watchkeeper.evidence.scoring import (
    Score,
    biggest,
    hypothesis,
    kill,
    manual,
    mentions,
    of,
)
from watchkeeper.i18n import _


def disk_full(inv: Investigation, family: str) -> Hypothesis | None:
    files = of(inv, FileGrowth)
    full: list[Finding[Any]] = [*of(inv, DiskUsage), *of(inv, DiskFillForecast)]
    for f in of(inv, LargestFile) if not files else []:
        # A big file that does not grow is a decoy (last month's backup), never the culprit.
        inv.results.setdefault("ruled_out", []).append(
            RuledOut(
                entity=f.entity,
                facts=[f.message],
                reason=_("the largest file on the filesystem did not grow while sampled: it is not what fills it"),
            )
        )
    if not files and not full:
        return None
    evidence: list[Finding[Any]] = [*files[:1], *full]
    culprit = files[0].entity if files else full[0].entity
    s = Score(0.45, _("a filesystem is full or filling"))
    s.add(0.2, _("one file grows while sampled"), bool(of(inv, FileGrowth)))
    s.add(0.2, _("the symptom is about disk space"), family == "disk")
    s.add(0.05, _("a fill-time forecast exists"), bool(of(inv, DiskFillForecast)))
    actions = []
    writer = files[0].data.writer if files else None
    if writer:
        actions.append(kill(writer["pid"], writer["name"], _("it writes the growing file: stop the flood first")))
    pile = files[0].data.directory if files else None
    if pile:
        entries = files[0].data.directory_entries
        s.add(0.05, _("the file is one of {n} its directory piles up").format(n=entries), True)
        actions.insert(
            0,
            manual(
                _(
                    "delete the leftovers in {directory} (the files not written now) "
                    "and fix the job that never removes them"
                ).format(directory=pile),
                _("each run adds files and none goes away"),
            ),
        )
    elif culprit is not None and culprit.path:
        actions.append(
            manual(
                _("truncate or rotate {path} (truncate, do not delete: it is held open)").format(path=culprit.path),
                _("frees the space without breaking the writer's file handle"),
            )
        )
    path = culprit.path if culprit else None
    title = _("{path} fills the disk").format(path=path) if path else _("a filesystem fills the disk")
    return hypothesis("disk", title, s, culprit, evidence, actions)


def deleted_open(inv: Investigation, family: str) -> Hypothesis | None:
    found = [f for f in of(inv, DeletedOpen) if f.entity is not None and f.entity.pid is not None]
    if not found:
        return None
    f, p = found[0], found[0].entity
    assert p is not None and p.pid is not None
    mount = f.data.mount
    s = Score(0.6, _("space on {mount} is held by a deleted file {name} keeps open").format(mount=mount, name=p.name))
    s.add(0.2, _("the symptom is about disk space"), family == "disk")
    return hypothesis(
        "disk",
        _("{name} (pid {pid}) holds a deleted file open on {mount}").format(name=p.name, pid=p.pid, mount=mount),
        s,
        p,
        [f],
        [
            kill(p.pid, p.name, _("the space comes back when the last holder closes the file")),
            manual(
                _("or truncate it in place: : > /proc/{pid}/fd/N (ls -l /proc/{pid}/fd)").format(pid=p.pid),
                _("frees it without a restart"),
            ),
        ],
    )


def tmpfs_memory(inv: Investigation, family: str) -> Hypothesis | None:
    """Files on a RAM-backed filesystem hold memory that no process's RSS shows (left by a crashed job)."""
    top = biggest(inv, TmpfsUsage, lambda t: t.used_bytes)
    short = bool(of(inv, MemoryReading))
    # Shared memory and caches live there on a healthy host: only a memory symptom makes it a cause.
    if top is None or not (family == "memory" or short):
        return None
    f, where = top
    used = f.data.used_bytes
    biggest_rss = max((p.data.rss_bytes for p in of(inv, ProcessMemoryTop)), default=0)
    mount, mib = f.data.mount, used / 2**20
    s = Score(0.45, _("{mount} holds {mib:.0f} MiB of files in RAM").format(mount=mount, mib=mib))
    s.add(0.25, _("the symptom is about memory"), family == "memory")
    s.add(0.1, _("the host is short of memory"), short)
    s.add(0.15, _("more than the biggest process holds"), used > biggest_rss)
    return hypothesis(
        "memory",
        _("files on {mount} hold {mib:.0f} MiB of memory").format(mount=mount, mib=mib),
        s,
        where,
        [f],
        [
            manual(
                _(
                    "delete what is no longer needed on {mount} (du -sh {mount}/*; what a crashed job "
                    "left behind), and cap it with size="
                ).format(mount=mount),
                _("a RAM-backed filesystem gives its memory back only when its files go"),
            )
        ],
    )


def inodes(inv: Investigation, family: str) -> Hypothesis | None:
    found = [f for f in of(inv, Inodes) if f.entity is not None]
    if not found:
        return None
    f, where = found[0], found[0].entity
    assert where is not None
    mount = f.data.mount
    s = Score(
        0.55,
        _("{mount} has used {percent} of its inodes").format(mount=mount, percent=f"{f.data.inodes_percent:.0f}%"),
    )
    s.add(0.15, _("{name} holds most of the entries").format(name=where.name), f.data.most_entries is not None)
    s.add(0.2, _("the symptom is about disk or inodes"), family == "disk" or mentions(inv, "inode"))
    return hypothesis(
        "disk",
        _("{name} fills {mount} with small files (inodes)").format(name=where.name, mount=mount),
        s,
        where,
        [f],
        [
            manual(
                _("remove the stale entries under {name} and fix what never cleans them").format(name=where.name),
                _("frees inodes"),
            )
        ],
    )
