"""Rules over processes: CPU, memory, states, threads, descriptors, the OOM killer."""

from __future__ import annotations

from typing import Any

from watchkeeper.evidence import host_check
from watchkeeper.evidence.facts import (
    ChildrenCpu,
    CommandCpu,
    CommandMemory,
    CpuReading,
    HttpUnreachable,
    KernelHungTask,
    LoadReading,
    MemoryReading,
    OomKill,
    PortClosed,
    PortNotListening,
    ProcessCpu,
    ProcessFds,
    ProcessMemoryGrowth,
    ProcessMemoryTop,
    ProcessStopped,
    ProcessThreads,
    ProcessUninterruptible,
    UnitFailed,
    Zombies,
)
from watchkeeper.evidence.follow import silent_service
from watchkeeper.evidence.investigation import Investigation
from watchkeeper.evidence.report import Culprit, Finding, Hypothesis
from watchkeeper.evidence.scoring import (
    Score,
    biggest,
    holds_target_port,
    hypothesis,
    kill,
    manual,
    mentions,
    of,
    restart,
)


def _spinner(hot: list[Finding[ProcessCpu]]) -> tuple[Finding[ProcessCpu], int]:
    """The hot process to blame, and how many spin alike. The one that wants the most of a core; among
    those that want about as much, the newest: what started spinning shortly before the symptom is what
    changed, while a batch job that spins every night was spinning before too."""
    most = max(host_check.wants(f.data.model_dump()) for f in hot)
    alike = [f for f in hot if host_check.wants(f.data.model_dump()) >= most - 10]
    return max(alike, key=lambda f: f.data.started_at or ""), len(alike)


def cpu_hog(inv: Investigation, family: str) -> Hypothesis | None:
    hot = [f for f in of(inv, ProcessCpu) if f.entity is not None]
    if not hot:
        return None
    top, alike = _spinner(hot)
    newest = f", the newest of {alike} processes spinning alike" if alike > 1 else ""
    p = top.entity
    assert p is not None and p.pid is not None
    # A busy process is a cause when the symptom is about CPU or names it; beside a symptom about
    # something else it is only a contender (a nightly job, another team's build).
    s = Score(0.45, f"{p.name} uses {host_check.core_use(top.data.model_dump())}{newest}")
    # iowait is time a CPU idles waiting on a disk: it is not what a spinning process causes.
    s.add(0.35, "the symptom is about CPU or load", family == "cpu" and not mentions(inv, "iowait"))
    s.add(0.1, "the host itself is busy", bool(of(inv, CpuReading) or of(inv, LoadReading)))
    s.add(0.1, "it is the service the symptom names", p.name == inv.targets.service)
    return hypothesis(
        "cpu",
        f"{p.name} (pid {p.pid}) is burning CPU",
        s,
        p,
        [top, *of(inv, CpuReading), *of(inv, LoadReading)],
        [
            kill(p.pid, p.name, "it holds a core; stop it (or restart its service) and find why it spins"),
            manual(f"profile {p.name} before it is stopped (py-spy / perf top -p {p.pid})", "keep the evidence"),
        ],
    )


def memory_leak(inv: Investigation, family: str) -> Hypothesis | None:
    growth = sorted(of(inv, ProcessMemoryGrowth), key=lambda f: -f.data.bytes_per_s)  # fastest first
    if growth and growth[0].entity and growth[0].entity.pid:
        g = growth[0]
        p = g.entity
        assert p is not None and p.pid is not None
        s = Score(0.6, f"{p.name}'s RSS climbs steadily (R² {g.data.r2:.2f})")
        s.add(0.25, "the symptom is about memory", family == "memory")
        s.add(0.05, "the host is short of memory", bool(of(inv, MemoryReading)))
        return hypothesis(
            "memory",
            f"{p.name} (pid {p.pid}) is leaking memory",
            s,
            p,
            [g, *of(inv, MemoryReading)],
            [
                kill(p.pid, p.name, "RSS keeps growing: restart it before the OOM killer picks a victim"),
                manual(f"capture a heap profile of {p.name} and file the leak", "the restart only buys time"),
            ],
        )
    top = of(inv, ProcessMemoryTop)
    if family == "memory" and top and top[0].entity and top[0].entity.pid:
        p = top[0].entity
        assert p.pid is not None
        s = Score(0.35, f"{p.name} holds the most memory (no growth seen while sampling)")
        return hypothesis(
            "memory",
            f"{p.name} (pid {p.pid}) holds the most memory",
            s,
            p,
            top,
            [kill(p.pid, p.name, "largest consumer; the alert's condition may have passed")],
        )
    return None


def zombies(inv: Investigation, family: str) -> Hypothesis | None:
    top = biggest(inv, Zombies, lambda z: z.count)
    if top is None or top[1].pid is None:
        return None
    f, p = top
    assert p.pid is not None
    s = Score(0.55, f"{f.data.count} zombies wait for {p.name} to reap them")
    s.add(0.15, "hundreds of them", f.data.count >= 100)
    s.add(
        0.2, "the symptom is about zombies or processes", mentions(inv, "zombie", "defunct", "僵尸", "process", "进程")
    )
    return hypothesis(
        "process",
        f"{p.name} (pid {p.pid}) does not reap its children",
        s,
        p,
        [f],
        [
            kill(p.pid, p.name, "its zombies pass to init, which reaps them; then fix its wait() handling"),
        ],
    )


def stopped(inv: Investigation, family: str) -> Hypothesis | None:
    found = [f for f in of(inv, ProcessStopped) if f.entity is not None]
    if not found:
        return None
    f = max(found, key=lambda f: holds_target_port(inv, f.entity.pid if f.entity else None))
    p = f.entity
    assert p is not None
    s = Score(0.5, f"{p.name} is stopped (state T): it holds its sockets and answers nothing")
    s.add(0.3, "it holds the port the symptom points at", holds_target_port(inv, p.pid))
    s.add(0.1, "a probe of it times out", bool(of(inv, HttpUnreachable) or of(inv, PortClosed)))
    return hypothesis(
        "process",
        f"{p.name} (pid {p.pid}) is stopped",
        s,
        p,
        [f, *of(inv, HttpUnreachable)[:1]],
        [
            restart(
                p.name, "a stopped process serves nothing; restart it (or send it SIGCONT) and find who stopped it"
            ),
        ],
    )


def threads(inv: Investigation, family: str) -> Hypothesis | None:
    top = biggest(inv, ProcessThreads, lambda t: t.threads)
    if top is None:
        return None
    f, p = top
    s = Score(0.55, f"{p.name} runs {f.data.threads} threads")
    s.add(0.25, "the symptom is about threads", mentions(inv, "thread", "线程"))
    return hypothesis(
        "process",
        f"{p.name} (pid {p.pid}) keeps starting threads",
        s,
        p,
        [f],
        [restart(p.name, "frees its threads now; then find the thread that never ends (py-spy dump / jstack)")],
    )


def descriptors(inv: Investigation, family: str) -> Hypothesis | None:
    top = biggest(inv, ProcessFds, lambda d: d.fds / d.fd_limit)
    if top is None:
        return None
    f, p = top
    s = Score(0.55, f"{p.name} holds {f.data.fds} of its {f.data.fd_limit} descriptors")
    s.add(0.2, "it serves the port the symptom points at", holds_target_port(inv, p.pid))
    s.add(0.15, "the symptom is about files or descriptors", mentions(inv, "descriptor", "open files", "句柄"))
    return hypothesis(
        "descriptors",
        f"{p.name} (pid {p.pid}) has run out of file descriptors",
        s,
        p,
        [f],
        [
            restart(
                p.name, "gives its descriptors back now; then find the leak (ls -l /proc/PID/fd) or raise LimitNOFILE"
            )
        ],
    )


def cpu_groups(inv: Investigation, family: str) -> Hypothesis | None:
    """CPU that no single process holds: many of one command, or children that live shorter than a sample."""
    groups: list[tuple[Finding[Any], float]] = [(f, f.data.cpu_percent) for f in of(inv, CommandCpu)]
    groups += [(f, f.data.children_cpu_percent) for f in of(inv, ChildrenCpu)]
    busy = bool(of(inv, CpuReading) or of(inv, LoadReading))
    # A build or a scheduler spreads CPU over processes all day: only a CPU symptom makes that a cause.
    if not groups or not (family == "cpu" or busy):
        return None
    f, used = max(groups, key=lambda g: g[1])
    p = f.entity
    assert p is not None
    spawner = isinstance(f.data, ChildrenCpu)
    how = (
        f"the short-lived children of {p.name} use {used:.0f}% of a core"
        if spawner
        else f"{f.data.count} {p.name} processes use {used:.0f}% of a core together"
    )
    s = Score(0.5, how)
    s.add(0.25, "the symptom is about CPU or load", family == "cpu")
    s.add(0.1, "the host itself is busy", busy)
    single = max((f.data.cpu_percent or 0.0 for f in of(inv, ProcessCpu)), default=0.0)  # used vs used
    s.add(0.1, "together they take more than any single process", used > single)
    action = (
        kill(p.pid, p.name, "it keeps starting the children that burn the CPU")
        if spawner and p.pid is not None
        else restart(p.name, "its processes together hold the CPU; restart the service to reset them and find why")
    )
    return hypothesis("cpu", f"{p.name} burns CPU in many processes", s, p, [f, *of(inv, CpuReading)], [action])


def memory_groups(inv: Investigation, family: str) -> Hypothesis | None:
    top = biggest(inv, CommandMemory, lambda m: m.rss_bytes)
    if top is None:
        return None
    f, p = top
    s = Score(0.45, f"{f.data.count} {p.name} processes hold {f.data.rss_bytes / 2**20:.0f} MiB together")
    s.add(0.25, "the symptom is about memory", family == "memory")
    return hypothesis(
        "memory",
        f"{p.name} holds memory in many processes",
        s,
        p,
        [f, *of(inv, MemoryReading)],
        [restart(p.name, "its processes together hold the memory; restart it and cap its workers")],
    )


def failed_unit(inv: Investigation, family: str) -> Hypothesis | None:
    """A service its manager gave up on or keeps restarting: a cause by itself only when the symptom is
    about it (its name, its port's silence, a question about services); otherwise it is listed for a person."""
    found = [f for f in of(inv, UnitFailed) if f.entity is not None]
    if not found:
        return None
    f = max(found, key=lambda f: (f.entity is not None and _about(inv, f.entity.name), f.data.restarts or 0))
    unit = f.data.unit
    s = Score(0.3, f"its service manager says {unit} is {f.data.state}")
    s.add(0.1, f"it restarted {f.data.restarts} times recently", (f.data.restarts or 0) >= 3)
    s.add(0.4, "it is what the symptom is about", _about(inv, unit))
    return hypothesis(
        "process",
        f"{unit} has failed"
        if isinstance(f.data, UnitFailed) and f.data.state != "running"
        else f"{unit} keeps restarting",
        s,
        f.entity,
        [f],
        [
            manual(
                f"read why {unit} exits (its log; journalctl -u {unit} or supervisorctl tail {unit})", "fix that first"
            ),
            restart(unit, "once the cause is fixed, start it again and watch it stay up"),
        ],
    )


def _about(inv: Investigation, unit: str) -> bool:
    t = inv.targets
    return (
        t.service == unit
        or mentions(inv, unit, "service", "服务")
        or (bool(of(inv, PortNotListening)) and silent_service(inv) == unit)
    )


def oom_killed(inv: Investigation, family: str) -> Hypothesis | None:
    found = [f for f in of(inv, OomKill) if f.entity is not None]
    if not found:
        return None
    _f, p = found[-1], found[-1].entity
    assert p is not None
    s = Score(0.6, f"the kernel killed {p.name} for memory")
    s.add(0.25, "the symptom is about memory or OOM", family == "memory")
    return hypothesis(
        "memory",
        f"{p.name} was killed by the OOM killer",
        s,
        p,
        found[-3:],
        [manual(f"find why {p.name} grew (its input, its limits) before starting it again", "it will be killed again")],
    )


def blocked(inv: Investigation, family: str) -> Hypothesis | None:
    """A process stuck in uninterruptible sleep (D) or reported hung by the kernel: it waits on a disk or
    an NFS server and adds to the load while the CPU idles. Filed under cpu when the symptom is iowait."""
    hung = [f for f in of(inv, KernelHungTask) if f.data.process]
    waiting = [f for f in of(inv, ProcessUninterruptible) if f.entity is not None]
    if not hung and not waiting:
        return None
    if hung:
        name, pid = hung[-1].data.process, hung[-1].data.pid
    else:
        assert waiting[0].entity is not None
        name, pid = waiting[0].entity.name, waiting[0].entity.pid
    s = Score(0.55, f"the kernel reports {name} blocked in I/O" if hung else f"{name} is in uninterruptible sleep (D)")
    s.add(0.1, "it is also in D state now", bool(hung) and any(w.entity and w.entity.name == name for w in waiting))
    iowait = mentions(inv, "iowait", "io wait", "i/o wait", "io等待")
    s.add(
        0.3, "the symptom is about load, iowait or a stall", family == "cpu" or iowait or mentions(inv, "负载", "load")
    )
    culprit = Culprit(kind="process", name=str(name), pid=pid)
    return hypothesis(
        "cpu" if iowait else "process",
        f"{name} is blocked waiting on I/O",
        s,
        culprit,
        [*hung[-2:], *waiting[:2]],
        [
            manual(
                f"find what {name} waits on (cat /proc/{pid or 'PID'}/stack; its disk's latency or its NFS server)",
                "a process in D state cannot be killed: fix what it waits on",
            )
        ],
    )
