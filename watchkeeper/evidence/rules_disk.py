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


def disk_full(inv: Investigation, family: str) -> Hypothesis | None:
    files = of(inv, FileGrowth)
    full: list[Finding[Any]] = [*of(inv, DiskUsage), *of(inv, DiskFillForecast)]
    for f in of(inv, LargestFile) if not files else []:
        # A big file that does not grow is a decoy (last month's backup), never the culprit.
        inv.results.setdefault("ruled_out", []).append(
            RuledOut(
                entity=f.entity,
                facts=[f.message],
                reason="the largest file on the filesystem did not grow while sampled: it is not what fills it",
            )
        )
    if not files and not full:
        return None
    evidence: list[Finding[Any]] = [*files[:1], *full]
    culprit = files[0].entity if files else full[0].entity
    s = Score(0.45, "a filesystem is full or filling")
    s.add(0.2, "one file grows while sampled", bool(of(inv, FileGrowth)))
    s.add(0.2, "the symptom is about disk space", family == "disk")
    s.add(0.05, "a fill-time forecast exists", bool(of(inv, DiskFillForecast)))
    actions = []
    writer = files[0].data.writer if files else None
    if writer:
        actions.append(kill(writer["pid"], writer["name"], "it writes the growing file: stop the flood first"))
    pile = files[0].data.directory if files else None
    if pile:
        s.add(0.05, f"the file is one of {files[0].data.directory_entries} its directory piles up", True)
        actions.insert(
            0,
            manual(
                f"delete the leftovers in {pile} (the files not written now) and fix the job that never removes them",
                "each run adds files and none goes away",
            ),
        )
    elif culprit is not None and culprit.path:
        actions.append(
            manual(
                f"truncate or rotate {culprit.path} (truncate, do not delete: it is held open)",
                "frees the space without breaking the writer's file handle",
            )
        )
    title = f"{culprit.path if culprit else 'a filesystem'} fills the disk"
    return hypothesis("disk", title, s, culprit, evidence, actions)


def deleted_open(inv: Investigation, family: str) -> Hypothesis | None:
    found = [f for f in of(inv, DeletedOpen) if f.entity is not None and f.entity.pid is not None]
    if not found:
        return None
    f, p = found[0], found[0].entity
    assert p is not None and p.pid is not None
    s = Score(0.6, f"space on {f.data.mount} is held by a deleted file {p.name} keeps open")
    s.add(0.2, "the symptom is about disk space", family == "disk")
    return hypothesis(
        "disk",
        f"{p.name} (pid {p.pid}) holds a deleted file open on {f.data.mount}",
        s,
        p,
        [f],
        [
            kill(p.pid, p.name, "the space comes back when the last holder closes the file"),
            manual(
                f"or truncate it in place: : > /proc/{p.pid}/fd/N (ls -l /proc/{p.pid}/fd)",
                "frees it without a restart",
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
    s = Score(0.45, f"{f.data.mount} holds {used / 2**20:.0f} MiB of files in RAM")
    s.add(0.25, "the symptom is about memory", family == "memory")
    s.add(0.1, "the host is short of memory", short)
    s.add(0.15, "more than the biggest process holds", used > biggest_rss)
    return hypothesis(
        "memory",
        f"files on {f.data.mount} hold {used / 2**20:.0f} MiB of memory",
        s,
        where,
        [f],
        [
            manual(
                f"delete what is no longer needed on {f.data.mount} (du -sh {f.data.mount}/*; what a crashed job "
                "left behind), and cap it with size=",
                "a RAM-backed filesystem gives its memory back only when its files go",
            )
        ],
    )


def inodes(inv: Investigation, family: str) -> Hypothesis | None:
    found = [f for f in of(inv, Inodes) if f.entity is not None]
    if not found:
        return None
    f, where = found[0], found[0].entity
    assert where is not None
    s = Score(0.55, f"{f.data.mount} has used {f.data.inodes_percent:.0f}% of its inodes")
    s.add(0.15, f"{where.name} holds most of the entries", f.data.most_entries is not None)
    s.add(0.2, "the symptom is about disk or inodes", family == "disk" or mentions(inv, "inode"))
    return hypothesis(
        "disk",
        f"{where.name} fills {f.data.mount} with small files (inodes)",
        s,
        where,
        [f],
        [manual(f"remove the stale entries under {where.name} and fix what never cleans them", "frees inodes")],
    )
