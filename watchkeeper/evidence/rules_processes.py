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
from watchkeeper.i18n import _, ngettext


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
    p = top.entity
    assert p is not None and p.pid is not None
    use = host_check.core_use(top.data.model_dump())
    uses = (
        ngettext(
            "{name} uses {use}, the newest of {n} process spinning alike",
            "{name} uses {use}, the newest of {n} processes spinning alike",
            alike,
        ).format(name=p.name, use=use, n=alike)
        if alike > 1
        else _("{name} uses {use}").format(name=p.name, use=use)
    )
    # A busy process is a cause when the symptom is about CPU or names it; beside a symptom about
    # something else it is only a contender (a nightly job, another team's build).
    s = Score(0.45, uses)
    # iowait is time a CPU idles waiting on a disk: it is not what a spinning process causes.
    s.add(0.35, _("the symptom is about CPU or load"), family == "cpu" and not mentions(inv, "iowait"))
    s.add(0.1, _("the host itself is busy"), bool(of(inv, CpuReading) or of(inv, LoadReading)))
    s.add(0.1, _("it is the service the symptom names"), p.name == inv.targets.service)
    return hypothesis(
        "cpu",
        _("{name} (pid {pid}) is burning CPU").format(name=p.name, pid=p.pid),
        s,
        p,
        [top, *of(inv, CpuReading), *of(inv, LoadReading)],
        [
            kill(p.pid, p.name, _("it holds a core; stop it (or restart its service) and find why it spins")),
            manual(
                _("profile {name} before it is stopped (py-spy / perf top -p {pid})").format(name=p.name, pid=p.pid),
                _("keep the evidence"),
            ),
        ],
    )


def memory_leak(inv: Investigation, family: str) -> Hypothesis | None:
    growth = sorted(of(inv, ProcessMemoryGrowth), key=lambda f: -f.data.bytes_per_s)  # fastest first
    if growth and growth[0].entity and growth[0].entity.pid:
        g = growth[0]
        p = g.entity
        assert p is not None and p.pid is not None
        s = Score(0.6, _("{name}'s RSS climbs steadily (R² {r2:.2f})").format(name=p.name, r2=g.data.r2))
        s.add(0.25, _("the symptom is about memory"), family == "memory")
        s.add(0.05, _("the host is short of memory"), bool(of(inv, MemoryReading)))
        return hypothesis(
            "memory",
            _("{name} (pid {pid}) is leaking memory").format(name=p.name, pid=p.pid),
            s,
            p,
            [g, *of(inv, MemoryReading)],
            [
                kill(p.pid, p.name, _("RSS keeps growing: restart it before the OOM killer picks a victim")),
                manual(
                    _("capture a heap profile of {name} and file the leak").format(name=p.name),
                    _("the restart only buys time"),
                ),
            ],
        )
    top = of(inv, ProcessMemoryTop)
    if family == "memory" and top and top[0].entity and top[0].entity.pid:
        p = top[0].entity
        assert p.pid is not None
        s = Score(0.35, _("{name} holds the most memory (no growth seen while sampling)").format(name=p.name))
        return hypothesis(
            "memory",
            _("{name} (pid {pid}) holds the most memory").format(name=p.name, pid=p.pid),
            s,
            p,
            top,
            [kill(p.pid, p.name, _("largest consumer; the alert's condition may have passed"))],
        )
    return None


def zombies(inv: Investigation, family: str) -> Hypothesis | None:
    top = biggest(inv, Zombies, lambda z: z.count)
    if top is None or top[1].pid is None:
        return None
    f, p = top
    assert p.pid is not None
    n = f.data.count
    s = Score(
        0.55,
        ngettext("{n} zombie waits for {name} to reap it", "{n} zombies wait for {name} to reap them", n).format(
            n=n, name=p.name
        ),
    )
    s.add(0.15, _("hundreds of them"), n >= 100)
    s.add(
        0.2,
        _("the symptom is about zombies or processes"),
        mentions(inv, "zombie", "defunct", "僵尸", "process", "进程"),
    )
    return hypothesis(
        "process",
        _("{name} (pid {pid}) does not reap its children").format(name=p.name, pid=p.pid),
        s,
        p,
        [f],
        [
            kill(p.pid, p.name, _("its zombies pass to init, which reaps them; then fix its wait() handling")),
        ],
    )


def stopped(inv: Investigation, family: str) -> Hypothesis | None:
    found = [f for f in of(inv, ProcessStopped) if f.entity is not None]
    if not found:
        return None
    f = max(found, key=lambda f: holds_target_port(inv, f.entity.pid if f.entity else None))
    p = f.entity
    assert p is not None
    s = Score(0.5, _("{name} is stopped (state T): it holds its sockets and answers nothing").format(name=p.name))
    s.add(0.3, _("it holds the port the symptom points at"), holds_target_port(inv, p.pid))
    s.add(0.1, _("a probe of it times out"), bool(of(inv, HttpUnreachable) or of(inv, PortClosed)))
    return hypothesis(
        "process",
        _("{name} (pid {pid}) is stopped").format(name=p.name, pid=p.pid),
        s,
        p,
        [f, *of(inv, HttpUnreachable)[:1]],
        [
            restart(
                p.name, _("a stopped process serves nothing; restart it (or send it SIGCONT) and find who stopped it")
            ),
        ],
    )


def threads(inv: Investigation, family: str) -> Hypothesis | None:
    top = biggest(inv, ProcessThreads, lambda t: t.threads)
    if top is None:
        return None
    f, p = top
    n = f.data.threads
    s = Score(0.55, ngettext("{name} runs {n} thread", "{name} runs {n} threads", n).format(name=p.name, n=n))
    s.add(0.25, _("the symptom is about threads"), mentions(inv, "thread", "线程"))
    return hypothesis(
        "process",
        _("{name} (pid {pid}) keeps starting threads").format(name=p.name, pid=p.pid),
        s,
        p,
        [f],
        [restart(p.name, _("frees its threads now; then find the thread that never ends (py-spy dump / jstack)"))],
    )


def descriptors(inv: Investigation, family: str) -> Hypothesis | None:
    top = biggest(inv, ProcessFds, lambda d: d.fds / d.fd_limit)
    if top is None:
        return None
    f, p = top
    s = Score(
        0.55,
        _("{name} holds {fds} of its {limit} descriptors").format(name=p.name, fds=f.data.fds, limit=f.data.fd_limit),
    )
    s.add(0.2, _("it serves the port the symptom points at"), holds_target_port(inv, p.pid))
    s.add(0.15, _("the symptom is about files or descriptors"), mentions(inv, "descriptor", "open files", "句柄"))
    return hypothesis(
        "descriptors",
        _("{name} (pid {pid}) has run out of file descriptors").format(name=p.name, pid=p.pid),
        s,
        p,
        [f],
        [
            restart(
                p.name,
                _("gives its descriptors back now; then find the leak (ls -l /proc/PID/fd) or raise LimitNOFILE"),
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
    percent = f"{used:.0f}%"
    how = (
        _("the short-lived children of {name} use {percent} of a core").format(name=p.name, percent=percent)
        if spawner
        else ngettext(
            "{n} {name} process uses {percent} of a core together",
            "{n} {name} processes use {percent} of a core together",
            f.data.count,
        ).format(n=f.data.count, name=p.name, percent=percent)
    )
    # Beside a symptom about something else, a busy host's spread CPU is only a contender: under 0.5.
    s = Score(0.5 if family == "cpu" else 0.25, how)
    s.add(0.25, _("the symptom is about CPU or load"), family == "cpu")
    s.add(0.1, _("the host itself is busy"), busy)
    single = max((f.data.cpu_percent or 0.0 for f in of(inv, ProcessCpu)), default=0.0)  # used vs used
    s.add(0.1, _("together they take more than any single process"), used > single)
    action = (
        kill(p.pid, p.name, _("it keeps starting the children that burn the CPU"))
        if spawner and p.pid is not None
        else restart(p.name, _("its processes together hold the CPU; restart the service to reset them and find why"))
    )
    title = _("{name} burns CPU in many processes").format(name=p.name)
    return hypothesis("cpu", title, s, p, [f, *of(inv, CpuReading)], [action])


def memory_groups(inv: Investigation, family: str) -> Hypothesis | None:
    top = biggest(inv, CommandMemory, lambda m: m.rss_bytes)
    if top is None:
        return None
    f, p = top
    n = f.data.count
    held = ngettext(
        "{n} {name} process holds {mib:.0f} MiB together", "{n} {name} processes hold {mib:.0f} MiB together", n
    )
    s = Score(0.45, held.format(n=n, name=p.name, mib=f.data.rss_bytes / 2**20))
    s.add(0.25, _("the symptom is about memory"), family == "memory")
    return hypothesis(
        "memory",
        _("{name} holds memory in many processes").format(name=p.name),
        s,
        p,
        [f, *of(inv, MemoryReading)],
        [restart(p.name, _("its processes together hold the memory; restart it and cap its workers"))],
    )


def failed_unit(inv: Investigation, family: str) -> Hypothesis | None:
    """A service its manager gave up on or keeps restarting: a cause by itself only when the symptom is
    about it (its name, its port's silence, a question about services); otherwise it is listed for a person."""
    found = [f for f in of(inv, UnitFailed) if f.entity is not None]
    if not found:
        return None
    f = max(found, key=lambda f: (f.entity is not None and _about(inv, f.entity.name), f.data.restarts or 0))
    unit = f.data.unit
    restarts = f.data.restarts or 0
    s = Score(0.3, _("its service manager says {unit} is {state}").format(unit=unit, state=f.data.state))
    s.add(
        0.1,
        ngettext("it restarted {n} time recently", "it restarted {n} times recently", restarts).format(n=restarts),
        restarts >= 3,
    )
    s.add(0.4, _("it is what the symptom is about"), _about(inv, unit))
    failed = isinstance(f.data, UnitFailed) and f.data.state != "running"
    return hypothesis(
        "process",
        (_("{unit} has failed") if failed else _("{unit} keeps restarting")).format(unit=unit),
        s,
        f.entity,
        [f],
        [
            manual(
                _("read why {unit} exits (its log; journalctl -u {unit} or supervisorctl tail {unit})").format(
                    unit=unit
                ),
                _("fix that first"),
            ),
            restart(unit, _("once the cause is fixed, start it again and watch it stay up")),
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
    s = Score(0.6, _("the kernel killed {name} for memory").format(name=p.name))
    s.add(0.25, _("the symptom is about memory or OOM"), family == "memory")
    return hypothesis(
        "memory",
        _("{name} was killed by the OOM killer").format(name=p.name),
        s,
        p,
        found[-3:],
        [
            manual(
                _("find why {name} grew (its input, its limits) before starting it again").format(name=p.name),
                _("it will be killed again"),
            )
        ],
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
    how = _("the kernel reports {name} blocked in I/O") if hung else _("{name} is in uninterruptible sleep (D)")
    s = Score(0.55, how.format(name=name))
    s.add(0.1, _("it is also in D state now"), bool(hung) and any(w.entity and w.entity.name == name for w in waiting))
    iowait = mentions(inv, "iowait", "io wait", "i/o wait", "io等待")
    s.add(
        0.3,
        _("the symptom is about load, iowait or a stall"),
        family == "cpu" or iowait or mentions(inv, "负载", "load"),
    )
    culprit = Culprit(kind="process", name=str(name), pid=pid)
    return hypothesis(
        "cpu" if iowait else "process",
        _("{name} is blocked waiting on I/O").format(name=name),
        s,
        culprit,
        [*hung[-2:], *waiting[:2]],
        [
            manual(
                _("find what {name} waits on (cat /proc/{pid}/stack; its disk's latency or its NFS server)").format(
                    name=name, pid=pid or "PID"
                ),
                _("a process in D state cannot be killed: fix what it waits on"),
            )
        ],
    )
